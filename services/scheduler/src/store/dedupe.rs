//! Processed event ids: a redelivered event (same envelope id) is acked without being handled twice.
//! The handlers are idempotent by state anyway; this spares the repeated reports.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entities::processed_event::{self, Column, Entity};
use super::now;
use crate::error::Error;

/// Whether the event `id` was handled already.
pub async fn seen(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, Error> {
    Ok(Entity::find_by_id(id).one(conn).await?.is_some())
}

/// Records the event `id` as handled (idempotent).
pub async fn remember(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), Error> {
    let row = processed_event::ActiveModel {
        event_id: Set(id),
        processed_at: Set(now()),
    };
    Entity::insert(row)
        .on_conflict(OnConflict::column(Column::EventId).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Forgets the ids processed before `before`; returns how many.
pub async fn prune(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, Error> {
    let result = Entity::delete_many()
        .filter(Column::ProcessedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
