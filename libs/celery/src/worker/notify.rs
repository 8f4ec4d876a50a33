//! The events a worker sends about itself and its tasks (what `celery events` and Flower read),
//! and the broker description `inspect stats` shows.

use myelin_common::bus::Delivery;
use serde_json::{Value, json};

use super::job::{DEFAULT_RETRY_DELAY, MAX_COUNTDOWN};
use super::{Shared, TaskOutcome};
use crate::events::{HEARTBEAT_INTERVAL, load_average, software_info};
use crate::protocol::{TaskMessage, format_iso, repr};

/// `task-received`, with the message's `argsrepr`/`kwargsrepr` when it has them.
pub(super) fn send_received(shared: &Shared, msg: &TaskMessage, delivery: &Delivery) {
    if !shared.events.task_events() {
        return;
    }
    let header = |key: &str| {
        delivery
            .properties
            .headers
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let args = header("argsrepr").unwrap_or_else(|| repr::value_repr(&Value::Array(msg.args.clone())));
    let kwargs = header("kwargsrepr").unwrap_or_else(|| repr::value_repr(&Value::Object(msg.kwargs.clone())));
    let o = &msg.options;
    shared.events.send(
        "task-received",
        vec![
            ("uuid", json!(msg.id)),
            ("name", json!(msg.task)),
            ("args", json!(args)),
            ("kwargs", json!(kwargs)),
            ("root_id", json!(o.root_id.as_deref().unwrap_or(&msg.id))),
            ("parent_id", json!(o.parent_id)),
            ("retries", json!(o.retries)),
            ("eta", json!(o.eta.as_ref().map(format_iso))),
            ("expires", json!(o.expires.as_ref().map(format_iso))),
        ],
    );
}

/// `worker-online`/`-heartbeat`/`-offline` with the heartbeat fields Celery's `Heart` sends.
pub(super) fn send_worker_event(shared: &Shared, event_type: &str) {
    let (_, processed) = shared.state.totals();
    let mut fields = vec![
        ("freq", json!(HEARTBEAT_INTERVAL.as_secs_f64())),
        ("active", json!(shared.state.active_count())),
        ("processed", json!(processed)),
        ("loadavg", json!(load_average())),
    ];
    fields.extend(software_info());
    shared.events.send(event_type, fields);
}

/// kombu's `Connection.info()` subset for a broker URL (`scheme://user:pass@host:port/vhost`),
/// without the password.
pub(super) fn broker_info(url: &str) -> Value {
    let (scheme, rest) = url.split_once("://").unwrap_or(("amqp", url));
    let (auth, rest) = rest.rsplit_once('@').unwrap_or(("", rest));
    let userid = auth.split(':').next().filter(|u| !u.is_empty());
    let (hostport, vhost) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (hostport, None),
    };
    let vhost = match vhost {
        "" | "%2f" | "%2F" => "/".to_owned(),
        other => other.replace("%2f", "/").replace("%2F", "/"),
    };
    let ssl = matches!(scheme, "amqps" | "rediss");
    let transport = if ssl { &scheme[..scheme.len() - 1] } else { scheme };
    json!({
        "hostname": host, "userid": userid, "virtual_host": vhost,
        "port": port.unwrap_or(if scheme.starts_with("redis") { 6379 } else { 5672 }),
        "insist": false, "ssl": ssl, "transport": transport,
        "transport_options": {}, "login_method": "PLAIN", "uri_prefix": null,
    })
}

/// `task-revoked` for a task discarded before it ran (revoked, or `expired`).
pub(super) fn send_revoked(shared: &Shared, id: &str, expired: bool) {
    shared.events.send(
        "task-revoked",
        vec![
            ("uuid", json!(id)),
            ("terminated", json!(false)),
            ("signum", Value::Null),
            ("expired", json!(expired)),
        ],
    );
}

/// The event Celery sends for an outcome (`task-succeeded`, `-failed`, `-retried`, `-rejected`).
pub(super) fn outcome_event(outcome: &TaskOutcome, runtime: f64) -> Option<(&'static str, Vec<(&'static str, Value)>)> {
    let exception = |exc_type: &str, message: &str| format!("{exc_type}({})", repr::value_repr(&json!(message)));
    Some(match outcome {
        TaskOutcome::Success(result) => (
            "task-succeeded",
            vec![("result", json!(repr::value_repr(result))), ("runtime", json!(runtime))],
        ),
        TaskOutcome::Failure { exc_type, message } => (
            "task-failed",
            vec![
                ("exception", json!(exception(exc_type, message))),
                ("traceback", json!(format!("{exc_type}: {message}"))),
            ],
        ),
        TaskOutcome::Retry { countdown } => {
            let when = countdown.unwrap_or(DEFAULT_RETRY_DELAY).min(MAX_COUNTDOWN);
            let message = format!("Retry in {}s", when.as_secs());
            (
                "task-retried",
                vec![
                    ("exception", json!(exception("Retry", &message))),
                    ("traceback", json!(format!("celery.exceptions.Retry: {message}"))),
                ],
            )
        }
        TaskOutcome::Reject { requeue } => ("task-rejected", vec![("requeue", json!(requeue))]),
    })
}
