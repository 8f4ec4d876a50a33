//! Publishing task messages the way a Celery client does.

use myelin_common::bus::{ExchangeKind, QueueSpec, SharedBus};
use serde_json::{Value, json};

use crate::error::Result;
use crate::events::EventDispatcher;
use crate::protocol::{TaskMessage, format_iso, repr};

/// Sends [`TaskMessage`]s to Celery queues.
///
/// ```no_run
/// # async fn demo(bus: myelin_common::bus::SharedBus) -> Result<(), myelin_celery::Error> {
/// use myelin_celery::{Producer, TaskMessage};
/// let producer = Producer::new(bus);
/// producer.declare_queue("celery").await?;
/// let msg = TaskMessage::new("tasks.add", vec![2.into(), 3.into()], Default::default());
/// producer.send("celery", &msg).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    bus: SharedBus,
    events: Option<EventDispatcher>,
}

impl Producer {
    pub fn new(bus: SharedBus) -> Self {
        Self { bus, events: None }
    }

    /// Sends a `task-sent` event for every task sent (Celery's `task_send_sent_event`) through
    /// `events` (which must have task events on). Call [`Producer::flush_events`] before exiting.
    pub fn with_sent_events(mut self, events: EventDispatcher) -> Self {
        self.events = Some(events);
        self
    }

    /// Waits until the events sent so far are published.
    pub async fn flush_events(&self) {
        if let Some(events) = &self.events {
            events.flush().await;
        }
    }

    /// Declares `queue` as Celery (kombu's `Queue(name)`) does: a durable queue, a durable direct
    /// exchange of the same name, and a binding between them with routing key = the queue name.
    /// Idempotent; a Celery worker declaring the same queue agrees with it.
    pub async fn declare_queue(&self, queue: &str) -> Result<()> {
        declare_celery_queue(&self.bus, queue, None).await
    }

    /// Publishes `msg` (protocol v2) to the default exchange with routing key `queue`, as Celery
    /// does for direct queues, and returns once the broker confirmed it.
    pub async fn send(&self, queue: &str, msg: &TaskMessage) -> Result<()> {
        self.bus.publish("", queue, msg.to_message()?).await?;
        if let Some(events) = &self.events {
            let o = &msg.options;
            events.send(
                "task-sent",
                vec![
                    ("uuid", json!(msg.id)),
                    ("root_id", json!(o.root_id.as_deref().unwrap_or(&msg.id))),
                    ("parent_id", json!(o.parent_id)),
                    ("name", json!(msg.task)),
                    ("args", json!(repr::value_repr(&Value::Array(msg.args.clone())))),
                    ("kwargs", json!(repr::value_repr(&Value::Object(msg.kwargs.clone())))),
                    ("retries", json!(o.retries)),
                    ("eta", json!(o.eta.as_ref().map(format_iso))),
                    ("expires", json!(o.expires.as_ref().map(format_iso))),
                    ("queue", json!(queue)),
                    ("exchange", json!("")),
                    ("routing_key", json!(queue)),
                ],
            );
        }
        Ok(())
    }
}

/// Celery's declaration of a task queue (shared by the producer and the worker).
/// `max_priority` adds `x-max-priority` (Celery's `task_queue_max_priority`).
pub(crate) async fn declare_celery_queue(bus: &SharedBus, queue: &str, max_priority: Option<u8>) -> Result<()> {
    bus.declare_exchange(queue, ExchangeKind::Direct).await?;
    let mut spec = QueueSpec::durable(queue);
    spec.max_priority = max_priority;
    bus.declare_queue(&spec).await?;
    bus.bind_queue(queue, queue, queue).await?;
    Ok(())
}
