//! Tracking tables, each row owned by a run (`ON DELETE CASCADE`):
//! - `run_metrics`: metric points `(run_uuid, name, step?, timestamp, value)`, in insertion order (`id`);
//! - `run_metric_summaries`: per `(run_uuid, name)` `last`/`last_step`/`min`/`max`/`sum`/`count`, kept on
//!   write (PQL's `metrics.<name>` reads `last`);
//! - `run_events`: points of the other event kinds, `data` being traceml's JSON;
//! - `run_lineage`: artifacts a run consumed (`is_input`) or produced, keyed by `(run_uuid, name, is_input)`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    Uuid,
}

#[derive(DeriveIden)]
enum RunMetrics {
    Table,
    Id,
    RunUuid,
    Name,
    Step,
    Timestamp,
    Value,
}

#[derive(DeriveIden)]
enum RunMetricSummaries {
    Table,
    RunUuid,
    Name,
    Last,
    LastStep,
    Min,
    Max,
    Sum,
    Count,
}

#[derive(DeriveIden)]
enum RunEvents {
    Table,
    Id,
    RunUuid,
    Kind,
    Name,
    Step,
    Timestamp,
    Data,
}

#[derive(DeriveIden)]
enum RunLineage {
    Table,
    RunUuid,
    Name,
    IsInput,
    Kind,
    Path,
    State,
    Summary,
    MetaInfo,
    CreatedAt,
    UpdatedAt,
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .take()
}

fn run_uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().take()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().take()
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().take()
}

fn double(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).double().not_null().take()
}

/// `child.run_uuid → runs.uuid`, deleted with the run.
fn owned_by_run(name: &str, child: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(child)
        .from_col(Alias::new("run_uuid"))
        .to(Runs::Table, Runs::Uuid)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RunMetrics::Table)
                    .col(id(RunMetrics::Id))
                    .col(run_uuid(RunMetrics::RunUuid))
                    .col(text(RunMetrics::Name))
                    .col(ColumnDef::new(RunMetrics::Step).big_integer().null())
                    .col(ts(RunMetrics::Timestamp))
                    .col(double(RunMetrics::Value))
                    .foreign_key(&mut owned_by_run("fk_run_metrics_run", RunMetrics::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_run_metrics_series")
                    .table(RunMetrics::Table)
                    .col(RunMetrics::RunUuid)
                    .col(RunMetrics::Name)
                    .col(RunMetrics::Step)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RunMetricSummaries::Table)
                    .col(run_uuid(RunMetricSummaries::RunUuid))
                    .col(text(RunMetricSummaries::Name))
                    .col(double(RunMetricSummaries::Last))
                    .col(ColumnDef::new(RunMetricSummaries::LastStep).big_integer().null())
                    .col(double(RunMetricSummaries::Min))
                    .col(double(RunMetricSummaries::Max))
                    .col(double(RunMetricSummaries::Sum))
                    .col(ColumnDef::new(RunMetricSummaries::Count).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(RunMetricSummaries::RunUuid)
                            .col(RunMetricSummaries::Name),
                    )
                    .foreign_key(&mut owned_by_run(
                        "fk_run_metric_summaries_run",
                        RunMetricSummaries::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        // Search and sort on a metric (`metrics.loss:<0.2`) start from this index.
        manager
            .create_index(
                Index::create()
                    .name("ix_run_metric_summaries_name_last")
                    .table(RunMetricSummaries::Table)
                    .col(RunMetricSummaries::Name)
                    .col(RunMetricSummaries::Last)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RunEvents::Table)
                    .col(id(RunEvents::Id))
                    .col(run_uuid(RunEvents::RunUuid))
                    .col(text(RunEvents::Kind))
                    .col(text(RunEvents::Name))
                    .col(ColumnDef::new(RunEvents::Step).big_integer().null())
                    .col(ts(RunEvents::Timestamp))
                    .col(ColumnDef::new(RunEvents::Data).json_binary().not_null())
                    .foreign_key(&mut owned_by_run("fk_run_events_run", RunEvents::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_run_events_series")
                    .table(RunEvents::Table)
                    .col(RunEvents::RunUuid)
                    .col(RunEvents::Kind)
                    .col(RunEvents::Name)
                    .col(RunEvents::Step)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RunLineage::Table)
                    .col(run_uuid(RunLineage::RunUuid))
                    .col(text(RunLineage::Name))
                    .col(ColumnDef::new(RunLineage::IsInput).boolean().not_null())
                    .col(ColumnDef::new(RunLineage::Kind).string().null())
                    .col(ColumnDef::new(RunLineage::Path).text().null())
                    .col(ColumnDef::new(RunLineage::State).string().null())
                    .col(ColumnDef::new(RunLineage::Summary).json_binary().null())
                    .col(ColumnDef::new(RunLineage::MetaInfo).json_binary().null())
                    .col(ts(RunLineage::CreatedAt))
                    .col(ts(RunLineage::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(RunLineage::RunUuid)
                            .col(RunLineage::Name)
                            .col(RunLineage::IsInput),
                    )
                    .foreign_key(&mut owned_by_run("fk_run_lineage_run", RunLineage::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_run_lineage_path")
                    .table(RunLineage::Table)
                    .col(RunLineage::Path)
                    .col(RunLineage::IsInput)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["run_lineage", "run_events", "run_metric_summaries", "run_metrics"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
