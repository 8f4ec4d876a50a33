//! Metric points move from one row per point (`run_metrics`) to chunks (`run_metric_chunks`, see
//! `domain::chunk`): existing points are copied series by series in write order, then `run_metrics`
//! is dropped (`down` does the reverse). And the indexes of search:
//! - `runs (project_id, archived, created_at)` replaces `(project_id, created_at)`: a project's
//!   unarchived runs are counted and listed newest first from the index alone;
//! - `runs (uuid, project_id, archived)`: a run reached from a metric is checked against the project
//!   and the archive without reading its row;
//! - `run_metric_summaries.project_id`, the run's project (runs never change project), filled from
//!   `runs`; `(project_id, name, last, run_uuid)` replaces `(name, last)`: a project's runs sorted or
//!   counted by a metric come from this index in order; `(run_uuid, name, last)`: a metric filter on
//!   a run reads no summary row;
//! - PostgreSQL only: `runs (lower(name) text_pattern_ops)` for PQL's name prefixes.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

use crate::domain::chunk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    Uuid,
}

#[derive(DeriveIden)]
enum RunMetricChunks {
    Table,
    Id,
    RunUuid,
    Name,
    Points,
    Data,
}

/// An index: name, table, columns.
type Spec = (&'static str, &'static str, &'static [&'static str]);

/// The search indexes this migration creates, and those it replaces.
const NEW: [Spec; 4] = [
    (
        "ix_runs_project_archived_created",
        "runs",
        &["project_id", "archived", "created_at"],
    ),
    ("ix_runs_scope", "runs", &["uuid", "project_id", "archived"]),
    (
        "ix_run_metric_summaries_project_name_last",
        "run_metric_summaries",
        &["project_id", "name", "last", "run_uuid"],
    ),
    (
        "ix_run_metric_summaries_run_name_last",
        "run_metric_summaries",
        &["run_uuid", "name", "last"],
    ),
];
const OLD: [Spec; 2] = [
    ("ix_runs_project_created", "runs", &["project_id", "created_at"]),
    (
        "ix_run_metric_summaries_name_last",
        "run_metric_summaries",
        &["name", "last"],
    ),
];

fn index((name, table, cols): Spec) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for col in cols {
        index.col(Alias::new(*col));
    }
    index.to_owned()
}

/// Swaps the search indexes: `OLD` for `NEW` (`up`), or back.
async fn search_indexes(manager: &SchemaManager<'_>, up: bool) -> Result<(), DbErr> {
    let (create, drop): (&[Spec], &[Spec]) = if up { (&NEW, &OLD) } else { (&OLD, &NEW) };
    for &(name, table, _) in drop {
        manager
            .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
            .await?;
    }
    for &spec in create {
        manager.create_index(index(spec)).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RunMetricChunks::Table)
                    .col(
                        ColumnDef::new(RunMetricChunks::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RunMetricChunks::RunUuid).uuid().not_null())
                    .col(ColumnDef::new(RunMetricChunks::Name).string().not_null())
                    .col(ColumnDef::new(RunMetricChunks::Points).integer().not_null())
                    .col(ColumnDef::new(RunMetricChunks::Data).blob().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_run_metric_chunks_run")
                            .from_tbl(RunMetricChunks::Table)
                            .from_col(RunMetricChunks::RunUuid)
                            .to(Runs::Table, Runs::Uuid)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index((
                "ix_run_metric_chunks_series",
                "run_metric_chunks",
                &["run_uuid", "name", "id"],
            )))
            .await?;
        copy::rows_to_chunks(manager.get_connection()).await?;
        manager
            .drop_table(Table::drop().table(Alias::new("run_metrics")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("run_metric_summaries"))
                    .add_column(
                        ColumnDef::new(Alias::new("project_id"))
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE run_metric_summaries SET project_id = \
                 (SELECT runs.project_id FROM runs WHERE runs.uuid = run_metric_summaries.run_uuid)",
            )
            .await?;
        search_indexes(manager, true).await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // PQL's `name:abc%` on PostgreSQL is `lower(name) LIKE lower('abc%')` (myelin_pql).
            manager
                .get_connection()
                .execute_unprepared("CREATE INDEX ix_runs_name_lower ON runs (lower(name) text_pattern_ops)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP INDEX ix_runs_name_lower")
                .await?;
        }
        search_indexes(manager, false).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("run_metric_summaries"))
                    .drop_column(Alias::new("project_id"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let id = if db.get_database_backend() == DatabaseBackend::Postgres {
            "id BIGSERIAL PRIMARY KEY"
        } else {
            "id INTEGER PRIMARY KEY AUTOINCREMENT"
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE run_metrics ({id}, run_uuid {uuid} NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE, \
             name VARCHAR NOT NULL, step BIGINT NULL, timestamp {ts} NOT NULL, value DOUBLE PRECISION NOT NULL)",
            uuid = if db.get_database_backend() == DatabaseBackend::Postgres {
                "UUID"
            } else {
                "uuid_text"
            },
            ts = if db.get_database_backend() == DatabaseBackend::Postgres {
                "TIMESTAMPTZ"
            } else {
                "timestamp_with_timezone_text"
            },
        ))
        .await?;
        db.execute_unprepared("CREATE INDEX ix_run_metrics_series ON run_metrics (run_uuid, name, step)")
            .await?;
        copy::chunks_to_rows(db).await?;
        manager
            .drop_table(Table::drop().table(RunMetricChunks::Table).to_owned())
            .await
    }
}

/// Copies between the two layouts, one series at a time.
mod copy {
    use chrono::{DateTime, Utc};
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
    use sea_orm::{ConnectionTrait, DbErr};
    use uuid::Uuid;

    use super::chunk;

    fn col(name: &str) -> Alias {
        Alias::new(name)
    }

    /// `SELECT <columns> FROM <table> WHERE run_uuid = ? AND name = ? ORDER BY id`.
    fn points_of(table: &str, columns: &[&str], run: Uuid, name: &str) -> SelectStatement {
        let mut select = Query::select();
        for c in columns {
            select.column(col(c));
        }
        select
            .from(col(table))
            .and_where(Expr::col(col("run_uuid")).eq(run))
            .and_where(Expr::col(col("name")).eq(name))
            .order_by(col("id"), Order::Asc)
            .to_owned()
    }

    async fn series(db: &impl ConnectionTrait, table: &str) -> Result<Vec<(Uuid, String)>, DbErr> {
        let select = Query::select()
            .distinct()
            .columns([col("run_uuid"), col("name")])
            .from(col(table))
            .to_owned();
        let rows = db.query_all(&select).await?;
        rows.iter()
            .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
            .collect()
    }

    pub async fn rows_to_chunks(db: &impl ConnectionTrait) -> Result<(), DbErr> {
        for (run, name) in series(db, "run_metrics").await? {
            let rows = db
                .query_all(&points_of("run_metrics", &["step", "timestamp", "value"], run, &name))
                .await?;
            let points = rows
                .iter()
                .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?, r.try_get_by_index(2)?)))
                .collect::<Result<Vec<chunk::Point>, DbErr>>()?;
            for part in points.chunks(chunk::MAX_POINTS) {
                let mut insert = Query::insert();
                insert
                    .into_table(Alias::new("run_metric_chunks"))
                    .columns([
                        Alias::new("run_uuid"),
                        Alias::new("name"),
                        Alias::new("points"),
                        Alias::new("data"),
                    ])
                    .values([
                        run.into(),
                        name.clone().into(),
                        (part.len() as i32).into(),
                        chunk::encode(part).into(),
                    ])
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
                db.execute(&insert).await?;
            }
        }
        Ok(())
    }

    pub async fn chunks_to_rows(db: &impl ConnectionTrait) -> Result<(), DbErr> {
        for (run, name) in series(db, "run_metric_chunks").await? {
            let rows = db
                .query_all(&points_of("run_metric_chunks", &["data"], run, &name))
                .await?;
            let (mut steps, mut timestamps, mut values) = (Vec::new(), Vec::<DateTime<Utc>>::new(), Vec::new());
            for row in rows {
                let data: Vec<u8> = row.try_get_by_index(0)?;
                chunk::decode_into(&data, &mut steps, &mut timestamps, &mut values)
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            for i in 0..steps.len() {
                let mut insert = Query::insert();
                insert
                    .into_table(Alias::new("run_metrics"))
                    .columns([
                        Alias::new("run_uuid"),
                        Alias::new("name"),
                        Alias::new("step"),
                        Alias::new("timestamp"),
                        Alias::new("value"),
                    ])
                    .values([
                        run.into(),
                        name.clone().into(),
                        steps[i].into(),
                        timestamps[i].into(),
                        values[i].into(),
                    ])
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
                db.execute(&insert).await?;
            }
        }
        Ok(())
    }
}
