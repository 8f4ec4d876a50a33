//! Claiming runs for dispatch under the global concurrency limit, safely across replicas.
//!
//! One transaction: count the dispatched runs, take the oldest queued ones that fit under
//! `max_concurrency` (FIFO by `enqueued_at`), mark them `dispatched` with a fresh task id, commit.
//! On PostgreSQL the transaction first takes an advisory transaction lock, so claims of concurrent
//! replicas run one after the other and the count they see includes every earlier claim (the limit
//! holds across replicas), and the queued rows are read `FOR UPDATE SKIP LOCKED`, so a row another
//! transaction is changing (a stop) is left for the next round. On SQLite the transaction is
//! `BEGIN IMMEDIATE`: one writer at a time.

use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use super::entities::run::{self, Column, Entity};
use super::runs::new_task_id;
use super::{Store, now};
use crate::domain::decide::State;
use crate::error::Error;

/// Key of the PostgreSQL advisory lock that serializes claims.
const CLAIM_LOCK: i64 = 0x6d79_656c_696e_0003;

/// Claims up to the free slots; returns the claimed rows as they are now (state `dispatched`,
/// their new `task_id`), oldest first.
pub async fn claim(store: &Store, max_concurrency: u32) -> Result<Vec<run::Model>, Error> {
    let txn = store.begin().await?;
    if store.is_postgres() {
        txn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({CLAIM_LOCK})"),
        ))
        .await?;
    }
    let dispatched = Entity::find()
        .filter(Column::State.eq(State::Dispatched.as_str()))
        .count(&txn)
        .await?;
    let free = u64::from(max_concurrency).saturating_sub(dispatched);
    if free == 0 {
        return Ok(Vec::new());
    }
    let mut query = Entity::find()
        .filter(Column::State.eq(State::Queued.as_str()))
        .order_by_asc(Column::EnqueuedAt)
        .order_by_asc(Column::Run)
        .limit(free);
    if store.is_postgres() {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = query.all(&txn).await?;
    let at = now();
    let mut claimed = Vec::with_capacity(rows.len());
    for mut row in rows {
        let task_id = new_task_id();
        let updated = Entity::update_many()
            .col_expr(Column::State, Expr::value(State::Dispatched.as_str()))
            .col_expr(Column::TaskId, Expr::value(task_id.clone()))
            .col_expr(Column::DispatchedAt, Expr::value(at))
            .col_expr(
                Column::PublishedAt,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .col_expr(Column::UpdatedAt, Expr::value(at))
            .filter(Column::Run.eq(row.run))
            .filter(Column::State.eq(State::Queued.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            continue;
        }
        row.state = State::Dispatched.to_string();
        row.task_id = Some(task_id);
        row.dispatched_at = Some(at);
        row.published_at = None;
        claimed.push(row);
    }
    txn.commit().await?;
    Ok(claimed)
}
