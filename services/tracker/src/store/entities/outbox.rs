//! `outbox`: events committed with the state change that caused them, published by the relay.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The envelope id (AMQP `message_id`); consumers dedupe on it.
    pub event_id: Uuid,
    /// The event type, also the routing key.
    pub topic: String,
    /// The whole `Envelope`.
    pub payload: Json,
    pub created_at: DateTimeUtc,
    /// Not retried before this time (backoff after a failed publish).
    pub available_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
