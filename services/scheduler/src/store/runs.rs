//! Run repository: insert a prepared run, move it between scheduling states with guarded updates
//! (each returns whether it applied), read it back as a decision [`Slot`] or an [`ExecuteRun`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use myelin_contracts::RunUuid;
use myelin_contracts::execution::{ExecuteRun, JobProcess};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::entities::run::{self, Column, Entity};
use super::now;
use crate::domain::decide::{Slot, State};
use crate::domain::prepare::Prepared;
use crate::error::Error;

/// A prepared run to insert as `pending`.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run: RunUuid,
    pub owner: String,
    pub project: String,
    pub name: Option<String>,
    pub prepared: Prepared,
}

/// The run's row, if the scheduler has it.
pub async fn find(conn: &impl ConnectionTrait, run: RunUuid) -> Result<Option<run::Model>, Error> {
    Ok(Entity::find_by_id(run.as_uuid()).one(conn).await?)
}

/// Inserts `new` as `pending` (attempt 1) unless the run is already there.
pub async fn insert_pending(conn: &impl ConnectionTrait, new: &NewRun) -> Result<(), Error> {
    let at = now();
    let p = &new.prepared;
    let row = run::ActiveModel {
        run: Set(new.run.as_uuid()),
        owner: Set(new.owner.clone()),
        project: Set(new.project.clone()),
        name: Set(new.name.clone()),
        queue: Set(p.queue.clone()),
        state: Set(State::Pending.to_string()),
        attempt: Set(1),
        max_retries: Set(int(p.max_retries)),
        timeout_secs: Set(p.timeout_secs.map(|t| i64::try_from(t).unwrap_or(i64::MAX))),
        compiled: Set(p.compiled.clone()),
        process: Set(serde_json::to_value(&p.process)?),
        task_id: Set(None),
        stop_requested: Set(false),
        enqueued_at: Set(None),
        dispatched_at: Set(None),
        published_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Entity::insert(row)
        .on_conflict(OnConflict::column(Column::Run).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// `pending` → `queued` (joins the FIFO now).
pub async fn mark_queued(conn: &impl ConnectionTrait, run: RunUuid) -> Result<bool, Error> {
    let at = now();
    update(conn, run, &[State::Pending], None, |u| {
        u.col_expr(Column::State, Expr::value(State::Queued.as_str()))
            .col_expr(Column::EnqueuedAt, Expr::value(at))
            .col_expr(Column::UpdatedAt, Expr::value(at))
    })
    .await
}

/// `dispatched` with `task_id` → `queued` again (its publish failed), keeping its place in line.
pub async fn revert_dispatch(conn: &impl ConnectionTrait, run: RunUuid, task_id: &str) -> Result<bool, Error> {
    let filter = Column::TaskId.eq(task_id);
    update(conn, run, &[State::Dispatched], Some(filter), |u| {
        u.col_expr(Column::State, Expr::value(State::Queued.as_str()))
            .col_expr(Column::TaskId, Expr::value(Option::<String>::None))
            .col_expr(Column::DispatchedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::UpdatedAt, Expr::value(now()))
    })
    .await
}

/// Records that the task `task_id` of `run` was confirmed published.
pub async fn mark_published(conn: &impl ConnectionTrait, run: RunUuid, task_id: &str) -> Result<bool, Error> {
    let at = now();
    update(conn, run, &[State::Dispatched], Some(Column::TaskId.eq(task_id)), |u| {
        u.col_expr(Column::PublishedAt, Expr::value(at))
            .col_expr(Column::UpdatedAt, Expr::value(at))
    })
    .await
}

/// Attempt `attempt` of `run` is over: `done` (its slot is free).
pub async fn finish(conn: &impl ConnectionTrait, run: RunUuid, attempt: u32) -> Result<bool, Error> {
    let live = [State::Pending, State::Queued, State::Dispatched];
    update(conn, run, &live, Some(Column::Attempt.eq(int(attempt))), |u| {
        u.col_expr(Column::State, Expr::value(State::Done.as_str()))
            .col_expr(Column::UpdatedAt, Expr::value(now()))
    })
    .await
}

/// The dispatched attempt `failed` of `run` failed: attempt `failed + 1` joins the queue.
pub async fn requeue(conn: &impl ConnectionTrait, run: RunUuid, failed: u32) -> Result<bool, Error> {
    let at = now();
    update(
        conn,
        run,
        &[State::Dispatched],
        Some(Column::Attempt.eq(int(failed))),
        |u| {
            u.col_expr(Column::State, Expr::value(State::Queued.as_str()))
                .col_expr(Column::Attempt, Expr::value(int(failed.saturating_add(1))))
                .col_expr(Column::TaskId, Expr::value(Option::<String>::None))
                .col_expr(Column::DispatchedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(Column::PublishedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(Column::EnqueuedAt, Expr::value(at))
                .col_expr(Column::UpdatedAt, Expr::value(at))
        },
    )
    .await
}

/// A stop of a run not dispatched yet: `done`, stop requested.
pub async fn stop_undispatched(conn: &impl ConnectionTrait, run: RunUuid) -> Result<bool, Error> {
    update(conn, run, &[State::Pending, State::Queued], None, |u| {
        u.col_expr(Column::State, Expr::value(State::Done.as_str()))
            .col_expr(Column::StopRequested, Expr::value(true))
            .col_expr(Column::UpdatedAt, Expr::value(now()))
    })
    .await
}

/// Records a stop request on a dispatched run (it will not be retried).
pub async fn flag_stop(conn: &impl ConnectionTrait, run: RunUuid) -> Result<bool, Error> {
    update(conn, run, &[State::Dispatched], None, |u| {
        u.col_expr(Column::StopRequested, Expr::value(true))
            .col_expr(Column::UpdatedAt, Expr::value(now()))
    })
    .await
}

/// Runs claimed for dispatch but not confirmed published before `before` (their replica died
/// between the claim and the publish) go back to the queue. Returns how many.
pub async fn requeue_unpublished(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, Error> {
    let result = Entity::update_many()
        .col_expr(Column::State, Expr::value(State::Queued.as_str()))
        .col_expr(Column::TaskId, Expr::value(Option::<String>::None))
        .col_expr(Column::DispatchedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now()))
        .filter(Column::State.eq(State::Dispatched.as_str()))
        .filter(Column::PublishedAt.is_null())
        .filter(Column::DispatchedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// How many runs are in each state.
pub async fn counts(conn: &impl ConnectionTrait) -> Result<BTreeMap<&'static str, u64>, Error> {
    let rows: Vec<(String, i64)> = Entity::find()
        .select_only()
        .column(Column::State)
        .column_as(Column::Run.count(), "n")
        .group_by(Column::State)
        .into_tuple()
        .all(conn)
        .await?;
    let mut counts: BTreeMap<&'static str, u64> = State::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for (state, n) in rows {
        let state: State = state.parse().map_err(Error::Corrupt)?;
        counts.insert(state.as_str(), u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// The decision inputs of a row.
pub fn slot(row: &run::Model) -> Result<Slot, Error> {
    Ok(Slot {
        state: row.state.parse().map_err(Error::Corrupt)?,
        attempt: u32::try_from(row.attempt).unwrap_or(1),
        max_retries: u32::try_from(row.max_retries).unwrap_or(0),
        stop_requested: row.stop_requested,
    })
}

/// The kwargs of the row's Celery task.
pub fn execute_run(row: &run::Model) -> Result<ExecuteRun, Error> {
    let process: JobProcess = serde_json::from_value(row.process.clone())
        .map_err(|e| Error::Corrupt(format!("scheduler_runs.process: {e}")))?;
    Ok(ExecuteRun {
        owner: row.owner.clone(),
        project: row.project.clone(),
        run: RunUuid(row.run),
        name: row.name.clone(),
        attempt: u32::try_from(row.attempt).unwrap_or(1),
        queue: row.queue.clone(),
        process,
        timeout_secs: row.timeout_secs.and_then(|t| u64::try_from(t).ok()),
        compiled: row.compiled.clone(),
    })
}

/// `UPDATE scheduler_runs SET ... WHERE run = ? AND state IN (from) [AND extra]`; whether a row
/// changed.
async fn update(
    conn: &impl ConnectionTrait,
    run: RunUuid,
    from: &[State],
    extra: Option<sea_orm::sea_query::SimpleExpr>,
    set: impl FnOnce(sea_orm::UpdateMany<Entity>) -> sea_orm::UpdateMany<Entity>,
) -> Result<bool, Error> {
    let mut query = set(Entity::update_many())
        .filter(Column::Run.eq(run.as_uuid()))
        .filter(Column::State.is_in(from.iter().map(|s| s.as_str())));
    if let Some(extra) = extra {
        query = query.filter(extra);
    }
    Ok(query.exec(conn).await?.rows_affected > 0)
}

/// An attempt as the `integer` column stores it.
fn int(attempt: u32) -> i32 {
    i32::try_from(attempt).unwrap_or(i32::MAX)
}

/// A fresh Celery task id.
pub fn new_task_id() -> String {
    Uuid::new_v4().to_string()
}
