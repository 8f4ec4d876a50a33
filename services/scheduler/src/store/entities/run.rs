//! `scheduler_runs`: one row per managed run the scheduler prepared, with its scheduling state.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scheduler_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run: Uuid,
    pub owner: String,
    pub project: String,
    pub name: Option<String>,
    /// The run queue (`default`); its AMQP queue is `myelin.runs.<queue>`.
    pub queue: String,
    /// `pending`, `queued`, `dispatched` or `done` (`domain::decide::State`).
    pub state: String,
    /// The current attempt (1-based).
    pub attempt: i32,
    pub max_retries: i32,
    pub timeout_secs: Option<i64>,
    /// The compiled operation (JSON).
    pub compiled: Json,
    /// The `JobProcess` to run (JSON).
    pub process: Json,
    /// The Celery task id of the current dispatch.
    pub task_id: Option<String>,
    /// A stop was requested: no retry, and a redelivered stop reports `stopped` again.
    pub stop_requested: bool,
    /// When it joined the queue (FIFO order).
    pub enqueued_at: Option<DateTimeUtc>,
    /// When it was claimed for dispatch.
    pub dispatched_at: Option<DateTimeUtc>,
    /// When its task was confirmed published (null while the dispatch is in flight).
    pub published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
