//! The worker's side of remote control (`celery/worker/control.py`): its
//! `<hostname>.celery.pidbox` queue and the commands it answers.
//!
//! Inspect: `ping`, `stats`, `active`, `reserved`, `scheduled`, `registered`, `revoked`,
//! `active_queues`, `conf`, `report`, `query_task`, `clock`, `hello` (mingle). Control: `revoke`,
//! `terminate`, `shutdown` (graceful stop, no reply, as Celery), `enable_events`,
//! `disable_events`, `heartbeat`, `time_limit` (acknowledged only: limits come from the message's
//! `timelimit` header). Unknown commands get Celery's `{"error": "KeyError('<method>')"}` reply.

use myelin_common::bus::{ConsumeOptions, Consumer, Delivery, QueueSpec, SharedBus};
use serde_json::{Map, Value, json};
use tracing::{info, warn};

use super::Shared;
use super::job::{Settle, settle};
use super::state::Phase;
use crate::control::{self, Command, PIDBOX_EXCHANGE, TERM_SIGNAL, pidbox_queue};
use crate::error::Result;
use crate::events::{load_average, software_info};
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
    control::declare_exchange(bus).await?;
    bus.bind_queue(&spec.name, PIDBOX_EXCHANGE, "").await?;
    Ok(bus.consume(&spec.name, ConsumeOptions { prefetch: 16 }).await?)
}

/// Handles one control message: runs the command if it is meant for this worker, replies when
/// asked to, and acks it (kombu consumes the pidbox without acks).
pub(super) async fn handle(shared: &Shared, delivery: Delivery) {
    if let Some(clock) = delivery.properties.headers.get("clock").and_then(Value::as_u64) {
        control::clock_adjust(clock);
    }
    let expires = delivery.properties.headers.get("expires").and_then(Value::as_f64);
    let command = serde_json::from_slice::<Command>(&delivery.body);
    settle(delivery, Settle::Ack, "a control message").await;
    let command = match command {
        Ok(c) => c,
        Err(e) => return warn!(error = %e, "cannot decode a control message"),
    };
    if !command.is_for(&shared.hostname) {
        return;
    }
    // kombu's Node drops commands whose `expires` header has passed.
    if expires.is_some_and(|e| e > 0.0 && e < crate::events::now_timestamp()) {
        return warn!(method = command.method, "dropping an expired control command");
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

fn ok(value: impl Into<Value>) -> Option<Value> {
    Some(json!({"ok": value.into()}))
}

/// Runs a command and returns Celery's reply for it (`None`: no reply, e.g. `shutdown`).
fn dispatch(shared: &Shared, command: &Command) -> Option<Value> {
    let args = &command.arguments;
    let host = shared.hostname.as_str();
    match command.method.as_str() {
        "ping" => ok("pong"),
        "revoke" => revoke(
            shared,
            args,
            args.get("terminate").and_then(Value::as_bool).unwrap_or(false),
        ),
        "terminate" => revoke(shared, args, true),
        "stats" => Some(stats(shared)),
        "active" | "dump_active" => Some(json!(shared.state.requests(Phase::Active, host))),
        "reserved" | "dump_reserved" => Some(json!(shared.state.requests(Phase::Reserved, host))),
        "scheduled" | "dump_schedule" => Some(json!(shared.state.scheduled(host))),
        "registered" | "dump_tasks" => {
            let builtins = args.get("builtins").and_then(Value::as_bool).unwrap_or(false);
            let names: Vec<&String> = shared
                .task_names
                .iter()
                .filter(|n| builtins || !n.starts_with("celery."))
                .collect();
            Some(json!(names))
        }
        "revoked" | "dump_revoked" => Some(json!(shared.state.revoked_ids())),
        "active_queues" => Some(json!(
            shared.queues.iter().map(|q| queue_as_dict(q)).collect::<Vec<_>>()
        )),
        "conf" | "dump_conf" => Some(conf(shared)),
        "report" => ok(report(shared)),
        "query_task" => {
            let ids = string_list(args.get("ids").or_else(|| args.get("task_id")));
            Some(Value::Object(shared.state.query(&ids, host)))
        }
        "clock" => Some(json!({"clock": control::clock_value()})),
        "hello" => {
            let from = args.get("from_node").and_then(Value::as_str).unwrap_or_default();
            if from == host {
                return Some(Value::Null);
            }
            let revoked = string_list(args.get("revoked"));
            if !revoked.is_empty() {
                shared.state.revoke(&revoked, false);
            }
            Some(json!({"revoked": shared.state.revoked_ids(), "clock": control::clock_value()}))
        }
        "shutdown" => {
            let msg = args
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or("Got shutdown from remote");
            warn!(hostname = host, "{msg}");
            shared.stop.cancel();
            None
        }
        "enable_events" => ok(if shared.events.set_task_events(true) {
            "task events already enabled"
        } else {
            info!("Events of group {{task}} enabled by remote.");
            "task events enabled"
        }),
        "disable_events" => ok(if shared.events.set_task_events(false) {
            info!("Events of group {{task}} disabled by remote.");
            "task events disabled"
        } else {
            "task events already disabled"
        }),
        "heartbeat" => {
            let mut fields = vec![("freq", json!(5))];
            fields.extend(software_info());
            shared.events.send("worker-heartbeat", fields);
            None
        }
        "time_limit" => {
            let task = args.get("task_name").and_then(Value::as_str).unwrap_or_default();
            if shared.task_names.iter().any(|n| n == task) {
                ok("time limits set successfully")
            } else {
                Some(json!({"error": "unknown task"}))
            }
        }
        other => {
            warn!(method = other, "no such control command");
            Some(json!({"error": format!("KeyError({})", repr::value_repr(&json!(other)))}))
        }
    }
}

fn revoke(shared: &Shared, args: &Map<String, Value>, terminate: bool) -> Option<Value> {
    let ids = string_list(args.get("task_id"));
    let signal = args.get("signal").and_then(Value::as_str).unwrap_or(TERM_SIGNAL);
    let terminated = shared.state.revoke(&ids, terminate);
    info!(task_ids = ?ids, terminate, signal, ?terminated, "tasks flagged as revoked");
    for id in &terminated {
        shared.events.send(
            "task-revoked",
            vec![
                ("uuid", json!(id)),
                ("terminated", json!(true)),
                ("signum", json!(signum(signal))),
                ("expired", json!(false)),
            ],
        );
    }
    if terminate {
        if terminated.is_empty() {
            ok("terminate: tasks unknown")
        } else {
            ok(format!("terminate: {}", terminated.join(", ")))
        }
    } else {
        ok(format!("tasks {} flagged as revoked", python_set(&ids)))
    }
}

/// A string or a list of strings (Celery's `maybe_list`).
fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(id)) => vec![id.clone()],
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The number of a signal named as Celery names them (`SIGTERM`, `TERM`, `9`).
fn signum(signal: &str) -> Value {
    let name = signal.trim_start_matches("SIG").to_ascii_uppercase();
    let n = match name.as_str() {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        other => return other.parse::<u32>().map_or(json!(signal), |n| json!(n)),
    };
    json!(n)
}

/// `inspect stats`, with the keys of Celery's `WorkController.stats()`.
fn stats(shared: &Shared) -> Value {
    let (total, _) = shared.state.totals();
    let pid = std::process::id();
    json!({
        "total": total,
        "pid": pid,
        "clock": control::clock_value().to_string(),
        "uptime": shared.started.elapsed().as_secs(),
        "pool": {
            "implementation": "myelin_celery:Worker (tokio)",
            "max-concurrency": shared.concurrency,
            "processes": [pid],
            "max-tasks-per-child": null,
            "put-guarded-by-semaphore": true,
            "timeouts": [],
        },
        "broker": shared.broker,
        "prefetch_count": shared.prefetch,
        "rusage": rusage(),
        "loadavg": load_average(),
    })
}

/// Best-effort `rusage` from `/proc/self/stat` and `/proc/self/status` (`"N/A"` elsewhere).
fn rusage() -> Value {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return json!("N/A");
    };
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    let ticks = 100.0; // USER_HZ on Linux
    let maxrss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    json!({
        "utime": field(14) / ticks, "stime": field(15) / ticks, "maxrss": maxrss,
        "minflt": field(10) as u64, "majflt": field(12) as u64,
    })
}

/// kombu's `Queue(name).as_dict(recurse=True)` for a queue declared as Celery's default does.
pub(super) fn queue_as_dict(name: &str) -> Value {
    json!({
        "name": name,
        "exchange": {
            "name": name, "type": "direct", "arguments": null, "durable": true, "passive": false,
            "auto_delete": false, "delivery_mode": null, "no_declare": false,
        },
        "routing_key": name, "queue_arguments": null, "binding_arguments": null,
        "consumer_arguments": null, "durable": true, "exclusive": false, "auto_delete": false,
        "no_ack": false, "alias": null, "bindings": [], "no_declare": null, "expires": null,
        "message_ttl": null, "max_length": null, "max_length_bytes": null, "max_priority": null,
    })
}

/// `inspect conf`: the Celery settings this worker runs with.
fn conf(shared: &Shared) -> Value {
    json!({
        "worker_concurrency": shared.concurrency,
        "worker_prefetch_count": shared.prefetch,
        "worker_send_task_events": shared.events.task_events(),
        "task_queues": shared.queues,
        "task_default_queue": shared.queues.first(),
        "task_serializer": "json",
        "accept_content": ["json"],
        "event_exchange": crate::events::EVENT_EXCHANGE,
        "include": shared.task_names,
    })
}

/// `inspect report`: what Celery's `app.bugreport()` shows, for this implementation.
fn report(shared: &Shared) -> String {
    format!(
        "\nsoftware -> myelin-celery:{} (rust)\nplatform -> system:{} arch:{}\nsettings -> transport:{} results:disabled\n\nworker: {}\nqueues: {}\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        shared
            .broker
            .get("transport")
            .and_then(Value::as_str)
            .unwrap_or("unknown"),
        shared.hostname,
        shared.queues.join(", "),
    )
}

/// A Python set of strings as `repr` shows it.
fn python_set(ids: &[String]) -> String {
    if ids.is_empty() {
        return "set()".into();
    }
    let items: Vec<String> = ids.iter().map(|id| repr::value_repr(&json!(id))).collect();
    format!("{{{}}}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_and_lists() {
        assert_eq!(signum("SIGKILL"), json!(9));
        assert_eq!(signum("TERM"), json!(15));
        assert_eq!(signum("7"), json!(7));
        assert_eq!(string_list(Some(&json!("a"))), vec!["a".to_owned()]);
        assert_eq!(python_set(&[]), "set()");
        assert_eq!(queue_as_dict("q")["exchange"]["type"], "direct");
        assert!(rusage().is_object());
    }
}
