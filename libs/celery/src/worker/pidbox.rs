//! The worker's side of remote control: its `<hostname>.celery.pidbox` queue and the commands
//! it answers (`revoke`, `ping`).

use myelin_common::bus::{self, ConsumeOptions, Consumer, Delivery, QueueSpec, SharedBus};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::Shared;
use super::job::{Settle, settle};
use crate::control::{self, Command, PIDBOX_EXCHANGE, TERM_SIGNAL, pidbox_queue};
use crate::error::Result;
use crate::protocol::repr;

/// Declares the worker's control queue as Celery does (exclusive, auto-delete, `x-expires` 10 s,
/// `x-message-ttl` 300 s), binds it to `celery.pidbox` and consumes it.
pub(super) async fn listen(bus: &SharedBus, hostname: &str) -> Result<Consumer> {
    let mut spec = QueueSpec::durable(pidbox_queue(hostname));
    spec.durable = false;
    spec.auto_delete = true;
    spec.exclusive = true;
    spec.arguments.insert("x-expires".into(), json!(10_000));
    spec.arguments.insert("x-message-ttl".into(), json!(300_000));
    bus.declare_queue(&spec).await?;
    // Bind first and declare only when missing: see `control` on Celery's transient exchange.
    match bus.bind_queue(&spec.name, PIDBOX_EXCHANGE, "").await {
        Err(bus::Error::NotFound(_)) => {
            control::declare_exchange(bus).await?;
            bus.bind_queue(&spec.name, PIDBOX_EXCHANGE, "").await?;
        }
        other => other?,
    }
    Ok(bus.consume(&spec.name, ConsumeOptions { prefetch: 16 }).await?)
}

/// Handles one control message: runs the command if it is meant for this worker, replies when
/// asked to, and acks it (kombu consumes the pidbox without acks).
pub(super) async fn handle(shared: &Shared, delivery: Delivery) {
    if let Some(clock) = delivery.properties.headers.get("clock").and_then(Value::as_u64) {
        control::clock_adjust(clock);
    }
    let command = serde_json::from_slice::<Command>(&delivery.body);
    settle(delivery, Settle::Ack, "a control message").await;
    let command = match command {
        Ok(c) => c,
        Err(e) => return warn!(error = %e, "cannot decode a control message"),
    };
    if !command.is_for(&shared.hostname) {
        return;
    }
    let Some(reply) = dispatch(shared, &command) else {
        return;
    };
    if let Some(to) = &command.reply_to
        && let Err(e) = control::send_reply(&shared.bus, to, command.ticket.as_deref(), &shared.hostname, reply).await
    {
        warn!(error = %e, method = command.method, "cannot send the control reply");
    }
}

/// Runs a command and returns Celery's reply for it (`None` for unknown commands).
fn dispatch(shared: &Shared, command: &Command) -> Option<Value> {
    let args = &command.arguments;
    match command.method.as_str() {
        "ping" => Some(json!({"ok": "pong"})),
        "revoke" => {
            let ids: Vec<String> = match args.get("task_id") {
                Some(Value::String(id)) => vec![id.clone()],
                Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => Vec::new(),
            };
            let terminate = args.get("terminate").and_then(Value::as_bool).unwrap_or(false);
            let signal = args.get("signal").and_then(Value::as_str).unwrap_or(TERM_SIGNAL);
            let terminated = shared.state.revoke(&ids, terminate);
            info!(task_ids = ?ids, terminate, signal, ?terminated, "tasks flagged as revoked");
            Some(if terminate {
                if terminated.is_empty() {
                    json!({"ok": "terminate: tasks unknown"})
                } else {
                    json!({"ok": format!("terminate: {}", terminated.join(", "))})
                }
            } else {
                json!({"ok": format!("tasks {} flagged as revoked", python_set(&ids))})
            })
        }
        other => {
            warn!(method = other, "no such control command");
            None
        }
    }
}

/// A Python set of strings as `repr` shows it.
fn python_set(ids: &[String]) -> String {
    if ids.is_empty() {
        return "set()".into();
    }
    let items: Vec<String> = ids.iter().map(|id| repr::value_repr(&json!(id))).collect();
    format!("{{{}}}", items.join(", "))
}
