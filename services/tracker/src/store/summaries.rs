//! Metric summaries (`run_metric_summaries`): merged with each ingested batch in one multi-row upsert,
//! replaced when a collected series replaces a metric, read by `GET .../metrics/summary` (and by PQL's
//! `metrics.<name>`, which reads `last`).

use myelin_contracts::RunUuid;
use myelin_contracts::tracking::{MetricSummaries, MetricSummary};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::run_metric_summary::{self as summary, Column};
use super::{Store, events};
use crate::domain::events::SummaryDelta;
use crate::error::Error;

/// Columns per row of the upsert (bound parameters).
const COLUMNS: usize = 9;

/// `last`/`last_step` follow the rule of [`crate::domain::events::replaces_last`]: the incoming last
/// point wins unless both have a step and the incoming one is smaller.
const NEWER: &str = r#"("excluded"."last_step" IS NULL OR "run_metric_summaries"."last_step" IS NULL OR "excluded"."last_step" >= "run_metric_summaries"."last_step")"#;

/// Merges `deltas` (one per name) into the summaries of `run` (of project `project_id`), in `conn`.
pub async fn merge(
    conn: &impl ConnectionTrait,
    run: RunUuid,
    project_id: i64,
    deltas: &[SummaryDelta],
) -> Result<(), Error> {
    let pick = |col: &str| {
        Expr::cust(format!(
            r#"CASE WHEN {NEWER} THEN "excluded"."{col}" ELSE "run_metric_summaries"."{col}" END"#
        ))
    };
    let extreme = |col: &str, op: &str| {
        Expr::cust(format!(
            r#"CASE WHEN "excluded"."{col}" {op} "run_metric_summaries"."{col}" THEN "excluded"."{col}" ELSE "run_metric_summaries"."{col}" END"#
        ))
    };
    let add = |col: &str| Expr::cust(format!(r#""run_metric_summaries"."{col}" + "excluded"."{col}""#));
    let on_conflict = OnConflict::columns([Column::RunUuid, Column::Name])
        .values([
            (Column::Last, pick("last")),
            (Column::LastStep, pick("last_step")),
            (Column::Min, extreme("min", "<")),
            (Column::Max, extreme("max", ">")),
            (Column::Sum, add("sum")),
            (Column::Count, add("count")),
        ])
        .to_owned();
    for chunk in deltas.chunks(events::MAX_PARAMS / COLUMNS) {
        let mut insert = Query::insert();
        insert.into_table(summary::Entity).columns([
            Column::RunUuid,
            Column::Name,
            Column::Last,
            Column::LastStep,
            Column::Min,
            Column::Max,
            Column::Sum,
            Column::Count,
            Column::ProjectId,
        ]);
        for d in chunk {
            insert
                .values([
                    run.as_uuid().into(),
                    d.name.as_str().into(),
                    d.last.into(),
                    d.last_step.into(),
                    d.min.into(),
                    d.max.into(),
                    d.sum.into(),
                    d.count.into(),
                    project_id.into(),
                ])
                .map_err(events::build_error)?;
        }
        insert.on_conflict(on_conflict.clone());
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// Sets the summary of `run`'s metric `name` to `delta` (computed from the whole series), or removes
/// it when the series is empty, in `conn`.
pub async fn replace(
    conn: &impl ConnectionTrait,
    run: RunUuid,
    project_id: i64,
    name: &str,
    delta: Option<&SummaryDelta>,
) -> Result<(), Error> {
    summary::Entity::delete_many()
        .filter(Column::RunUuid.eq(run.as_uuid()))
        .filter(Column::Name.eq(name))
        .exec(conn)
        .await?;
    match delta {
        Some(delta) => merge(conn, run, project_id, std::slice::from_ref(delta)).await,
        None => Ok(()),
    }
}

/// The summaries of the run `uuid` of `owner/project`, sorted by name.
pub async fn list(store: &Store, owner: &str, project: &str, uuid: RunUuid) -> Result<MetricSummaries, Error> {
    events::find_run(store.db(), owner, project, uuid).await?;
    let rows = summary::Entity::find()
        .filter(Column::RunUuid.eq(uuid.as_uuid()))
        .order_by_asc(Column::Name)
        .all(store.db())
        .await?;
    let results = rows
        .into_iter()
        .map(|row| MetricSummary {
            mean: if row.count > 0 { row.sum / row.count as f64 } else { 0.0 },
            name: row.name,
            last: row.last,
            last_step: row.last_step,
            min: row.min,
            max: row.max,
            count: u64::try_from(row.count).unwrap_or_default(),
        })
        .collect();
    Ok(MetricSummaries { results })
}
