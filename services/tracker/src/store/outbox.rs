//! The transactional outbox: [`enqueue`] writes an event in the caller's transaction; the relay
//! ([`crate::bus::relay`]) claims, publishes and marks rows with the other functions here.

use chrono::{DateTime, Utc};
use myelin_contracts::Envelope;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::entities::outbox;
use super::now;
use crate::error::Error;

/// Writes the event `topic` with `payload` in `conn` (the state change's transaction).
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    topic: &str,
    payload: &impl Serialize,
    correlation_id: Option<String>,
) -> Result<Envelope, Error> {
    let envelope = Envelope::new(topic, payload, correlation_id)?;
    let at = now();
    let row = outbox::ActiveModel {
        event_id: Set(envelope.id),
        topic: Set(topic.to_owned()),
        payload: Set(serde_json::to_value(&envelope)?),
        created_at: Set(at),
        available_at: Set(at),
        published_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        ..Default::default()
    };
    outbox::Entity::insert(row).exec_without_returning(conn).await?;
    Ok(envelope)
}

/// Up to `limit` unpublished rows that are due, oldest first. With `lock` (PostgreSQL, inside a
/// transaction), the rows are locked `FOR UPDATE SKIP LOCKED`, so concurrent relays never claim the
/// same row.
pub async fn due(
    conn: &impl ConnectionTrait,
    limit: u64,
    at: DateTime<Utc>,
    lock: bool,
) -> Result<Vec<outbox::Model>, Error> {
    let mut query = outbox::Entity::find()
        .filter(outbox::Column::PublishedAt.is_null())
        .filter(outbox::Column::AvailableAt.lte(at))
        .order_by_asc(outbox::Column::Id)
        .limit(limit);
    if lock {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    Ok(query.all(conn).await?)
}

/// Marks a row published.
pub async fn mark_published(conn: &impl ConnectionTrait, id: i64) -> Result<(), Error> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::PublishedAt, Expr::value(now()))
        .col_expr(outbox::Column::Attempts, Expr::col(outbox::Column::Attempts).add(1))
        .filter(outbox::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a failed publish and defers the row until `retry_at`.
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<(), Error> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Attempts, Expr::col(outbox::Column::Attempts).add(1))
        .col_expr(outbox::Column::LastError, Expr::value(error.to_owned()))
        .col_expr(outbox::Column::AvailableAt, Expr::value(retry_at))
        .filter(outbox::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// How many rows wait to be published (readiness details, tests).
pub async fn pending_count(conn: &impl ConnectionTrait) -> Result<u64, Error> {
    use sea_orm::PaginatorTrait;
    Ok(outbox::Entity::find()
        .filter(outbox::Column::PublishedAt.is_null())
        .count(conn)
        .await?)
}
