//! Celery monitoring events (`celery/events/dispatcher.py`), what Flower and `celery events` read.
//!
//! Events are JSON mappings `{hostname, utcoffset, pid, clock, <fields>, timestamp, type}` published
//! on the topic exchange `celeryev` (durable, as kombu's `Exchange('celeryev', type='topic')`) with
//! routing key = the type with `-` replaced by `.` (`task-succeeded` → `task.succeeded`),
//! `delivery_mode` 1, content type `application/json`, header `{hostname}`. Several task events
//! pending at once are sent as one list on `task.multi`, as Celery's buffered dispatcher does.
//!
//! Groups: the part of the type before the first `-` (`task`, `worker`). Worker events are always
//! sent; task events only while enabled ([`EventDispatcher::set_task_events`], Celery's `-E` and
//! the `enable_events`/`disable_events` control commands).
//!
//! [`EventDispatcher::send`] never blocks: events are queued and published in order by a
//! background tokio task; [`EventDispatcher::flush`] waits until what was queued is published.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use myelin_common::bus::{self, ExchangeKind, OutgoingMessage, SharedBus};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::control::clock_forward;
use crate::error::Result;
use crate::protocol::json as pyjson;

/// The exchange events are published on.
pub const EVENT_EXCHANGE: &str = "celeryev";
/// Time between `worker-heartbeat` events (Celery's default `freq`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// Most task events sent in one `task.multi` message (Celery's `buffer_limit`).
const BUFFER_LIMIT: usize = 24;

/// One event: its fields in Celery's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    fields: Vec<(String, Value)>,
}

impl Event {
    /// The event type, e.g. `task-started`.
    pub fn event_type(&self) -> &str {
        self.get("type").and_then(Value::as_str).unwrap_or_default()
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn is_task(&self) -> bool {
        group_of(self.event_type()) == "task"
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The group of an event type (`task-sent` → `task`).
pub fn group_of(event_type: &str) -> &str {
    event_type.split('-').next().unwrap_or(event_type)
}

enum Cmd {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

/// Sends Celery events for one node (worker or client). Cheap to clone.
#[derive(Clone)]
pub struct EventDispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    hostname: String,
    pid: u32,
    task_events: AtomicBool,
    tx: mpsc::UnboundedSender<Cmd>,
}

impl EventDispatcher {
    /// A dispatcher publishing as `hostname`, with task events on or off. Spawns its publisher on
    /// the current tokio runtime; it stops when the last clone is dropped.
    pub fn new(bus: SharedBus, hostname: impl Into<String>, task_events: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(publish_loop(bus, rx));
        Self {
            inner: Arc::new(Inner {
                hostname: hostname.into(),
                pid: std::process::id(),
                task_events: AtomicBool::new(task_events),
                tx,
            }),
        }
    }

    /// Declares `celeryev` as Celery does (topic, durable).
    pub async fn declare(bus: &SharedBus) -> Result<()> {
        bus.declare_exchange(EVENT_EXCHANGE, ExchangeKind::Topic).await?;
        Ok(())
    }

    /// Whether task events are sent.
    pub fn task_events(&self) -> bool {
        self.inner.task_events.load(Ordering::Relaxed)
    }

    /// Turns task events on or off; returns whether they were on.
    pub fn set_task_events(&self, on: bool) -> bool {
        self.inner.task_events.swap(on, Ordering::Relaxed)
    }

    /// Queues the event `event_type` with `fields` (after the standard ones), unless its group is
    /// disabled. Never blocks.
    pub fn send(&self, event_type: &str, fields: Vec<(&str, Value)>) {
        if group_of(event_type) == "task" && !self.task_events() {
            return;
        }
        let _ = self.inner.tx.send(Cmd::Event(self.event(event_type, fields)));
    }

    /// Builds an event as [`EventDispatcher::send`] would publish it.
    pub fn event(&self, event_type: &str, fields: Vec<(&str, Value)>) -> Event {
        let mut all = Vec::with_capacity(fields.len() + 6);
        all.push(("hostname".to_owned(), json!(self.inner.hostname)));
        all.push(("utcoffset".to_owned(), json!(utcoffset())));
        all.push(("pid".to_owned(), json!(self.inner.pid)));
        all.push(("clock".to_owned(), json!(clock_forward())));
        all.extend(fields.into_iter().map(|(k, v)| (k.to_owned(), v)));
        all.push(("timestamp".to_owned(), json!(now_timestamp())));
        all.push(("type".to_owned(), json!(event_type)));
        Event { fields: all }
    }

    /// Waits until every event queued so far was published (or given up on).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.tx.send(Cmd::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Publishes queued events in order; consecutive task events go out together on `task.multi`.
async fn publish_loop(bus: SharedBus, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    let mut pending: Vec<Cmd> = Vec::new();
    while let Some(first) = rx.recv().await {
        pending.push(first);
        while pending.len() < 256
            && let Ok(more) = rx.try_recv()
        {
            pending.push(more);
        }
        let mut batch: Vec<Event> = Vec::new();
        for cmd in pending.drain(..) {
            match cmd {
                Cmd::Event(event) if event.is_task() && batch.len() < BUFFER_LIMIT => batch.push(event),
                Cmd::Event(event) => {
                    publish_batch(&bus, std::mem::take(&mut batch)).await;
                    if event.is_task() {
                        batch.push(event);
                    } else {
                        publish(&bus, &routing_key(event.event_type()), &event).await;
                    }
                }
                Cmd::Flush(done) => {
                    publish_batch(&bus, std::mem::take(&mut batch)).await;
                    let _ = done.send(());
                }
            }
        }
        publish_batch(&bus, batch).await;
    }
}

async fn publish_batch(bus: &SharedBus, mut batch: Vec<Event>) {
    match batch.len() {
        0 => {}
        1 => {
            if let Some(event) = batch.pop() {
                publish(bus, &routing_key(event.event_type()), &event).await;
            }
        }
        _ => publish(bus, "task.multi", &batch).await,
    }
}

async fn publish(bus: &SharedBus, routing_key: &str, body: &impl Serialize) {
    let msg = match pyjson::to_vec(body) {
        Ok(bytes) => event_message(bytes, body),
        Err(e) => return warn!(error = %e, "cannot encode an event"),
    };
    let sent = match bus.publish(EVENT_EXCHANGE, routing_key, msg.clone()).await {
        Err(bus::Error::NotFound(_)) => match bus.declare_exchange(EVENT_EXCHANGE, ExchangeKind::Topic).await {
            Ok(()) => bus.publish(EVENT_EXCHANGE, routing_key, msg).await,
            Err(e) => Err(e),
        },
        other => other,
    };
    if let Err(e) = sent {
        warn!(error = %e, routing_key, "cannot publish a Celery event; dropping it");
    }
}

fn event_message(bytes: Vec<u8>, body: &impl Serialize) -> OutgoingMessage {
    let mut msg = OutgoingMessage::new(bytes);
    msg.properties.persistent = false;
    msg.properties.content_type = Some("application/json".into());
    msg.properties.content_encoding = Some("utf-8".into());
    msg.properties.priority = Some(0);
    let hostname = serde_json::to_value(body).ok().and_then(|v| match v {
        Value::Array(items) => items.first().and_then(|e| e.get("hostname").cloned()),
        other => other.get("hostname").cloned(),
    });
    msg.properties
        .headers
        .insert("hostname".into(), hostname.unwrap_or(Value::Null));
    msg
}

/// `task-succeeded` → `task.succeeded`.
pub fn routing_key(event_type: &str) -> String {
    event_type.replace('-', ".")
}

/// Seconds since the epoch, as Python's `time.time()`.
pub fn now_timestamp() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Celery's `utcoffset()`: hours *west* of UTC of the local time zone.
fn utcoffset() -> f64 {
    let east = chrono::Local::now().offset().local_minus_utc();
    // `+ 0.0` turns -0.0 into 0.0, which Python would print.
    -f64::from(east) / 3600.0 + 0.0
}

/// Celery's `SOFTWARE_INFO` for this implementation, as heartbeat fields.
pub fn software_info() -> Vec<(&'static str, Value)> {
    let sys = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        other => other,
    };
    vec![
        ("sw_ident", json!("myelin-celery")),
        ("sw_ver", json!(env!("CARGO_PKG_VERSION"))),
        ("sw_sys", json!(sys)),
    ]
}

/// The 1, 5 and 15 minute load averages rounded up to 2 decimals (Celery's `load_average()`);
/// zeros where `/proc/loadavg` is missing.
pub fn load_average() -> [f64; 3] {
    let mut out = [0.0; 3];
    if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
        for (slot, word) in out.iter_mut().zip(text.split_whitespace()) {
            *slot = word.parse::<f64>().map(|l| (l * 100.0).ceil() / 100.0).unwrap_or(0.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use myelin_common::bus::memory::MemoryBus;
    use myelin_common::bus::{ConsumeOptions, QueueSpec};

    use super::*;

    #[tokio::test]
    async fn events_are_routed_by_type_and_task_events_batched_or_filtered() {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        EventDispatcher::declare(&bus).await.unwrap();
        bus.declare_queue(&QueueSpec::durable("ev")).await.unwrap();
        bus.bind_queue("ev", EVENT_EXCHANGE, "#").await.unwrap();
        let mut consumer = bus.consume("ev", ConsumeOptions::default()).await.unwrap();
        let events = EventDispatcher::new(bus.clone(), "w@h", false);
        events.send("task-received", vec![("uuid", json!("a"))]);
        events.send("worker-online", software_info());
        events.flush().await;
        let d = consumer.next().await.unwrap().unwrap();
        assert_eq!(d.routing_key, "worker.online", "task events are off");
        assert!(!d.properties.persistent);
        assert_eq!(d.properties.headers.get("hostname"), Some(&json!("w@h")));
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["type"], "worker-online");
        assert_eq!(body["sw_ident"], "myelin-celery");
        assert!(body["clock"].as_u64().unwrap() > 0 && body["timestamp"].as_f64().unwrap() > 1e9);
        d.ack().await.unwrap();

        assert!(!events.set_task_events(true));
        for id in ["a", "b"] {
            events.send("task-started", vec![("uuid", json!(id))]);
        }
        events.flush().await;
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let d = consumer.next().await.unwrap().unwrap();
            let body: Value = serde_json::from_slice(&d.body).unwrap();
            match body {
                Value::Array(items) => {
                    assert_eq!(d.routing_key, "task.multi");
                    seen.extend(items.into_iter().map(|e| e["uuid"].clone()));
                }
                one => {
                    assert_eq!(d.routing_key, "task.started");
                    seen.push(one["uuid"].clone());
                }
            }
            d.ack().await.unwrap();
        }
        assert_eq!(seen, vec![json!("a"), json!("b")], "in order");
    }
}
