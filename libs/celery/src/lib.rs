//! Celery's wire protocol on Myelin's bus port.
//!
//! - [`protocol`]: task messages, protocol v2 out, v1 and v2 in ([`TaskMessage`], [`TaskOptions`]);
//! - [`Producer`]: declares queues as Celery does and publishes task messages with confirms;
//! - [`Worker`]: consumes queues and runs registered [`Task`]s (late ack, prefetch, concurrency,
//!   ETA, expiry, retry, revoke, graceful shutdown);
//! - [`control`]: Celery remote control on `celery.pidbox` (`revoke`, `call` for inspect-style
//!   commands; the worker answers `ping`, `stats`, `active`, ... and `shutdown`);
//! - [`events`]: Celery monitoring events on `celeryev` (what Flower and `celery events` read).
//!
//! Everything runs on any [`myelin_common::bus::Bus`]: RabbitMQ (`AmqpBus`) interoperates with
//! Python Celery clients and workers; `MemoryBus` gives the same behaviour in one process.

pub mod backend;
pub mod broker;
pub mod canvas;
pub mod connect;
pub mod control;
mod error;
pub mod events;
mod producer;
pub mod protocol;
mod worker;

pub use error::{Error, Result};
pub use events::EventDispatcher;
pub use producer::Producer;
pub use protocol::{TaskMessage, TaskOptions};
pub use worker::{DEFAULT_RETRY_DELAY, Task, TaskContext, TaskOutcome, Worker, WorkerConfig, parse_rate};
