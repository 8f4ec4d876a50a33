//! Celery remote control ("pidbox", `celery/app/control.py` + `kombu/pidbox.py`).
//!
//! Commands are broadcast on the fanout exchange `celery.pidbox` as JSON
//! `{"method", "arguments", "destination", "pattern", "matcher"}` (plus `reply_to` and `ticket`
//! when the sender waits for replies), with headers `{clock, expires}`. Each worker consumes its
//! own queue `<hostname>.celery.pidbox` bound to that exchange and replies with
//! `{"<hostname>": {"ok": ...}}` to `reply_to.exchange` / `reply_to.routing_key`, headers
//! `{ticket, clock}`.
//!
//! Both exchanges are declared exactly as kombu's `Mailbox` does: `celery.pidbox` fanout and
//! `reply.celery.pidbox` direct, both non-durable and not auto-deleted, so Python's redeclares
//! agree with ours. An existing `celery.pidbox` declared otherwise (e.g. durable, by an old
//! Myelin) is used as it is.
//!
//! [`call`] is the client side of `app.control.inspect()`: it broadcasts a command with a reply
//! queue and collects the workers' replies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use myelin_common::bus::{self, ExchangeKind, ExchangeSpec, OutgoingMessage, QueueSpec, SharedBus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tracing::warn;

use crate::error::Result;
use crate::protocol::json as pyjson;

/// The fanout exchange every worker's control queue is bound to.
pub const PIDBOX_EXCHANGE: &str = "celery.pidbox";
/// The direct exchange replies are sent to (routing key = the caller's id).
pub const REPLY_EXCHANGE: &str = "reply.celery.pidbox";
/// Celery's default signal for `revoke(terminate=True)`.
pub const TERM_SIGNAL: &str = "SIGTERM";

/// The control queue of the worker named `hostname` (e.g. `celery@host.celery.pidbox`).
pub fn pidbox_queue(hostname: &str) -> String {
    format!("{hostname}.celery.pidbox")
}

/// Tells every worker to revoke `task_ids`, as Python's `app.control.revoke(task_ids,
/// terminate=terminate, signal=signal)` does: workers skip (and ack) those tasks when they come
/// up and, with `terminate`, cancel the ones running (their [`crate::TaskContext::cancel`]).
/// Fire and forget (no replies are awaited).
pub async fn revoke(bus: &SharedBus, task_ids: &[String], terminate: bool, signal: &str) -> Result<()> {
    #[derive(Serialize)]
    struct Revoke<'a> {
        task_id: &'a [String],
        terminate: bool,
        signal: &'a str,
    }
    let arguments = Revoke {
        task_id: task_ids,
        terminate,
        signal,
    };
    broadcast(bus, "revoke", &arguments).await
}

/// Broadcasts the control command `method` with `arguments` (a mapping) to all workers, without
/// waiting for replies.
pub async fn broadcast(bus: &SharedBus, method: &str, arguments: &impl Serialize) -> Result<()> {
    publish_command(bus, method, arguments, None, None, 1.0).await
}

/// Sends `method` with `arguments` to the workers in `destination` (all when `None`) and collects
/// their replies for `timeout` (or until each destination answered), as Python's
/// `app.control.inspect(destination, timeout).<method>()` / `Mailbox.call` do. Returns
/// `{hostname: reply}` mappings, one per worker that answered.
pub async fn call(
    bus: &SharedBus,
    method: &str,
    arguments: &impl Serialize,
    destination: Option<&[String]>,
    timeout: Duration,
) -> Result<Vec<Map<String, Value>>> {
    let oid = uuid::Uuid::new_v4().to_string();
    let ticket = uuid::Uuid::new_v4().to_string();
    let mut queue = QueueSpec::durable(format!("{oid}.{REPLY_EXCHANGE}"));
    queue.durable = false;
    queue.auto_delete = true;
    queue.exclusive = true;
    queue.arguments.insert("x-expires".into(), json!(10_000));
    bus.declare_queue(&queue).await?;
    declare_transient(bus, REPLY_EXCHANGE, ExchangeKind::Direct).await?;
    bus.bind_queue(&queue.name, REPLY_EXCHANGE, &oid).await?;
    let mut replies = bus.consume(&queue.name, bus::ConsumeOptions::default()).await?;
    let reply = Some((
        ReplyTo {
            exchange: REPLY_EXCHANGE.into(),
            routing_key: oid,
        },
        ticket.as_str(),
    ));
    publish_command(bus, method, arguments, destination, reply, timeout.as_secs_f64()).await?;
    let limit = destination.map_or(usize::MAX, <[String]>::len);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < limit {
        let Ok(Some(Ok(delivery))) = tokio::time::timeout_at(deadline, replies.next()).await else {
            break;
        };
        let for_us = delivery.properties.headers.get("ticket").and_then(Value::as_str) == Some(&ticket);
        if let Some(clock) = delivery.properties.headers.get("clock").and_then(Value::as_u64) {
            clock_adjust(clock);
        }
        let body = serde_json::from_slice::<Map<String, Value>>(&delivery.body);
        let _ = delivery.ack().await;
        if let (true, Ok(body)) = (for_us, body) {
            out.push(body);
        }
    }
    drop(replies);
    let _ = bus.delete_queue(&queue.name).await;
    Ok(out)
}

async fn publish_command(
    bus: &SharedBus,
    method: &str,
    arguments: &impl Serialize,
    destination: Option<&[String]>,
    reply: Option<(ReplyTo, &str)>,
    timeout_secs: f64,
) -> Result<()> {
    /// kombu's `Mailbox._publish` body, field order kept.
    #[derive(Serialize)]
    struct Outgoing<'a, A> {
        method: &'a str,
        arguments: A,
        destination: Option<&'a [String]>,
        pattern: Option<()>,
        matcher: Option<()>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply_to: Option<ReplyTo>,
    }
    let (reply_to, ticket) = reply.map_or((None, None), |(to, ticket)| (Some(to), Some(ticket)));
    let command = Outgoing {
        method,
        arguments,
        destination,
        pattern: None,
        matcher: None,
        ticket,
        reply_to,
    };
    let mut msg = json_message(&command)?;
    let expires = chrono::Utc::now().timestamp_micros() as f64 / 1e6 + timeout_secs;
    msg.properties.headers.insert("clock".into(), json!(clock_forward()));
    msg.properties.headers.insert("expires".into(), json!(expires));
    match bus.publish(PIDBOX_EXCHANGE, "", msg.clone()).await {
        Err(bus::Error::NotFound(_)) => {
            declare_exchange(bus).await?;
            bus.publish(PIDBOX_EXCHANGE, "", msg).await?;
        }
        other => other?,
    }
    Ok(())
}

/// Declares `celery.pidbox` as kombu does (fanout, non-durable), accepting an existing one
/// declared otherwise.
pub(crate) async fn declare_exchange(bus: &SharedBus) -> Result<()> {
    declare_transient(bus, PIDBOX_EXCHANGE, ExchangeKind::Fanout).await
}

/// Declares a non-durable exchange as kombu's pidbox does; an existing exchange of the same name
/// declared with other properties is used as it is (and logged).
pub(crate) async fn declare_transient(bus: &SharedBus, name: &str, kind: ExchangeKind) -> Result<()> {
    match bus.declare_exchange_spec(&ExchangeSpec::transient(name, kind)).await {
        Err(bus::Error::Channel(e)) => {
            warn!(error = %e, "using the existing {name} exchange, declared differently than kombu does");
            Ok(())
        }
        other => Ok(other?),
    }
}

/// A control command as a worker receives it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Command {
    pub method: String,
    #[serde(default)]
    pub arguments: Map<String, Value>,
    #[serde(default)]
    pub destination: Option<Vec<String>>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub matcher: Option<String>,
    #[serde(default)]
    pub reply_to: Option<ReplyTo>,
    #[serde(default)]
    pub ticket: Option<String>,
}

/// Where a worker sends its reply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplyTo {
    pub exchange: String,
    pub routing_key: String,
}

impl Command {
    /// Whether the worker `hostname` must run this command (kombu's `Node.handle_message`):
    /// listed in `destination`, or matching `pattern` (glob matcher), or everyone.
    pub fn is_for(&self, hostname: &str) -> bool {
        match (&self.destination, &self.pattern, &self.matcher) {
            (Some(dest), _, _) if !dest.is_empty() => dest.iter().any(|d| d == hostname),
            (_, Some(pattern), Some(matcher)) => matcher == "glob" && glob(pattern, hostname),
            _ => true,
        }
    }
}

/// Publishes `{hostname: reply}` to the sender's reply exchange, as kombu's `Node.reply` does.
pub(crate) async fn send_reply(
    bus: &SharedBus,
    to: &ReplyTo,
    ticket: Option<&str>,
    hostname: &str,
    reply: Value,
) -> Result<()> {
    let mut body = Map::new();
    body.insert(hostname.to_owned(), reply);
    let mut msg = json_message(&body)?;
    msg.properties.persistent = false;
    msg.properties.headers.insert("ticket".into(), json!(ticket));
    msg.properties.headers.insert("clock".into(), json!(clock_forward()));
    match bus.publish(&to.exchange, &to.routing_key, msg.clone()).await {
        // kombu declares the reply exchange before replying.
        Err(bus::Error::NotFound(_)) => {
            declare_transient(bus, &to.exchange, ExchangeKind::Direct).await?;
            bus.publish(&to.exchange, &to.routing_key, msg).await?;
        }
        other => other?,
    }
    Ok(())
}

fn json_message(value: &impl Serialize) -> Result<OutgoingMessage> {
    let mut msg = OutgoingMessage::new(pyjson::to_vec(value)?);
    msg.properties.content_type = Some("application/json".into());
    msg.properties.content_encoding = Some("utf-8".into());
    msg.properties.priority = Some(0);
    Ok(msg)
}

/// kombu's Lamport clock (`clock` header), one per process.
static CLOCK: AtomicU64 = AtomicU64::new(0);

/// Advances the clock and returns its new value (shared by control messages and events).
pub(crate) fn clock_forward() -> u64 {
    CLOCK.fetch_add(1, Ordering::Relaxed) + 1
}

/// The clock's current value.
pub(crate) fn clock_value() -> u64 {
    CLOCK.load(Ordering::Relaxed)
}

/// Moves the clock past a received `clock` header.
pub(crate) fn clock_adjust(other: u64) {
    CLOCK.fetch_max(other, Ordering::Relaxed);
    CLOCK.fetch_add(1, Ordering::Relaxed);
}

/// `fnmatch`-style matching with `*` and `?`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_and_pattern_select_workers() {
        let mut cmd: Command = serde_json::from_value(json!({"method": "ping"})).unwrap();
        assert!(cmd.is_for("celery@a"));
        cmd.destination = Some(vec!["celery@b".into()]);
        assert!(!cmd.is_for("celery@a") && cmd.is_for("celery@b"));
        cmd.destination = None;
        cmd.pattern = Some("celery@*.prod".into());
        cmd.matcher = Some("glob".into());
        assert!(cmd.is_for("celery@x.prod") && !cmd.is_for("celery@x.dev"));
        assert!(glob("a?c*", "abcdef") && !glob("a?c", "abcd") && glob("*", ""));
    }
}
