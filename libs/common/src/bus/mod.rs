//! The message bus port.
//!
//! Two adapters implement [`Bus`]: [`amqp::AmqpBus`] (RabbitMQ through lapin + deadpool-lapin) and
//! [`memory::MemoryBus`] (in-process, for `myelin server`). Both pass the one conformance suite in
//! `tests/bus_conformance.rs`: topic and direct routing, ack/nack/requeue, redelivery of unacked
//! messages when a consumer goes away, prefetch, priorities, publisher confirms and (RabbitMQ)
//! reconnect after a broker restart.
//!
//! Semantics we rely on (and therefore test):
//! - `publish` returns only once the broker has taken responsibility for the message
//!   (publisher confirm; for the in-process broker, once it is enqueued on every bound queue).
//!   A message routed to no queue is dropped, as in AMQP without `mandatory`.
//! - Deliveries are at-least-once: a delivery neither acked nor nacked when its [`Consumer`] is
//!   dropped (or its connection dies) is redelivered with `redelivered = true`.
//! - `prefetch` bounds the unacked deliveries a consumer holds.
//! - Queues declared with `max_priority` deliver higher priorities first.

pub mod amqp;
pub mod memory;
pub mod subscription;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use serde_json::{Map, Value};

/// A shared handle to whichever bus the process runs on.
pub type SharedBus = Arc<dyn Bus>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the broker: {0}")]
    Connection(String),
    #[error("the broker refused the operation: {0}")]
    Channel(String),
    #[error("the broker did not confirm the publish (nack)")]
    NotConfirmed,
    #[error("no such queue or exchange: {0}")]
    NotFound(String),
    #[error("the bus is closed")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    Direct,
    Topic,
    Fanout,
}

/// How to declare an exchange. Redeclaring an exchange with other properties fails (RabbitMQ's
/// `PRECONDITION_FAILED - inequivalent arg ...`), so declare each one exactly as its other users do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub name: String,
    pub kind: ExchangeKind,
    /// Survives a broker restart.
    pub durable: bool,
    /// Deleted by the broker when its last binding goes away (after it had at least one).
    pub auto_delete: bool,
}

impl ExchangeSpec {
    /// A durable exchange that is not auto-deleted (what [`Bus::declare_exchange`] declares).
    pub fn durable(name: impl Into<String>, kind: ExchangeKind) -> Self {
        Self {
            name: name.into(),
            kind,
            durable: true,
            auto_delete: false,
        }
    }

    /// A non-durable exchange that is not auto-deleted (kombu's `Exchange(..., durable=False)`).
    pub fn transient(name: impl Into<String>, kind: ExchangeKind) -> Self {
        Self {
            durable: false,
            ..Self::durable(name, kind)
        }
    }
}

/// How to declare a queue. Declaring the same queue twice with the same spec is a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub name: String,
    pub durable: bool,
    /// Deleted by the broker when its last consumer goes away.
    pub auto_delete: bool,
    /// Exclusive to the declaring connection.
    pub exclusive: bool,
    /// Enables priorities 0..=max_priority (`x-max-priority`).
    pub max_priority: Option<u8>,
    /// Rejected (nack without requeue) messages go to this exchange (`x-dead-letter-exchange`).
    pub dead_letter_exchange: Option<String>,
    /// Extra queue arguments, passed through as declared (e.g. Celery's `x-expires`).
    pub arguments: Map<String, Value>,
}

impl QueueSpec {
    /// A durable queue with no special arguments.
    pub fn durable(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            durable: true,
            auto_delete: false,
            exclusive: false,
            max_priority: None,
            dead_letter_exchange: None,
            arguments: Map::new(),
        }
    }
}

/// Message properties, named as in AMQP 0-9-1 basic properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// Application headers; nested lists and tables are allowed (Celery uses both).
    pub headers: Map<String, Value>,
    pub priority: Option<u8>,
    pub correlation_id: Option<String>,
    pub reply_to: Option<String>,
    pub message_id: Option<String>,
    /// Per-message TTL.
    pub expiration: Option<Duration>,
    /// Survives a broker restart (delivery_mode 2). Defaults to true in [`OutgoingMessage::new`].
    pub persistent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub body: Bytes,
    pub properties: Properties,
}

impl OutgoingMessage {
    /// A persistent message with the given body and no other properties.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            properties: Properties {
                persistent: true,
                ..Properties::default()
            },
        }
    }
    /// A persistent JSON message.
    pub fn json(value: &impl serde::Serialize) -> std::result::Result<Self, serde_json::Error> {
        let mut msg = Self::new(serde_json::to_vec(value)?);
        msg.properties.content_type = Some("application/json".into());
        msg.properties.content_encoding = Some("utf-8".into());
        Ok(msg)
    }

    /// A persistent JSON message carrying a bus event `envelope` as every Myelin publisher sends
    /// it: `message_id` = the event id, `correlation_id` from the envelope, a `type` header with the
    /// event type, and the current trace context in the headers.
    pub fn envelope(envelope: &myelin_contracts::Envelope) -> std::result::Result<Self, serde_json::Error> {
        let mut msg = Self::json(envelope)?;
        msg.properties.message_id = Some(envelope.id.to_string());
        msg.properties.correlation_id = envelope.correlation_id.clone();
        msg.properties
            .headers
            .insert("type".into(), envelope.type_.clone().into());
        crate::telemetry::inject_context(&mut msg.properties.headers);
        Ok(msg)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeOptions {
    /// At most this many unacked deliveries at once (basic.qos). 0 means unlimited.
    pub prefetch: u16,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        Self { prefetch: 16 }
    }
}

/// Settles one delivery. Implemented by each adapter.
#[async_trait]
pub trait Acker: Send + Sync {
    async fn ack(&self) -> Result<()>;
    /// `requeue = false` dead-letters (or drops) the message.
    async fn nack(&self, requeue: bool) -> Result<()>;
}

/// One delivered message. Settle it with [`Delivery::ack`] or [`Delivery::nack`]; dropping it
/// unsettled leaves it unacked until its consumer goes away, then it is redelivered.
pub struct Delivery {
    pub body: Bytes,
    pub properties: Properties,
    pub exchange: String,
    pub routing_key: String,
    /// True when this message was delivered before and not acked.
    pub redelivered: bool,
    pub acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("exchange", &self.exchange)
            .field("routing_key", &self.routing_key)
            .field("redelivered", &self.redelivered)
            .field("len", &self.body.len())
            .finish()
    }
}

impl Delivery {
    pub async fn ack(self) -> Result<()> {
        self.acker.ack().await
    }
    pub async fn nack(self, requeue: bool) -> Result<()> {
        self.acker.nack(requeue).await
    }
}

/// A stream of deliveries from one queue. Dropping it cancels the consumer; its unacked
/// deliveries go back to the queue.
pub type Consumer = BoxStream<'static, Result<Delivery>>;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Declares a durable exchange (not auto-deleted): `declare_exchange_spec(&ExchangeSpec::durable(..))`.
    async fn declare_exchange(&self, name: &str, kind: ExchangeKind) -> Result<()> {
        self.declare_exchange_spec(&ExchangeSpec::durable(name, kind)).await
    }
    /// Declares an exchange as `spec` says. Idempotent for the same spec; an existing exchange
    /// with another kind or durability fails with [`Error::Channel`] (`PRECONDITION_FAILED`).
    async fn declare_exchange_spec(&self, spec: &ExchangeSpec) -> Result<()>;
    async fn declare_queue(&self, spec: &QueueSpec) -> Result<()>;
    async fn bind_queue(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<()>;
    async fn delete_queue(&self, queue: &str) -> Result<()>;
    /// Deletes an exchange and its bindings (not the queues). Deleting a missing exchange is not
    /// an error.
    async fn delete_exchange(&self, name: &str) -> Result<()>;
    /// Publishes and waits for the broker's confirm. The empty exchange `""` routes to the queue
    /// named by `routing_key`, as AMQP's default exchange does.
    async fn publish(&self, exchange: &str, routing_key: &str, message: OutgoingMessage) -> Result<()>;
    async fn consume(&self, queue: &str, options: ConsumeOptions) -> Result<Consumer>;
    /// Whether the adapter currently holds a live connection (readiness).
    async fn is_healthy(&self) -> bool;
}
