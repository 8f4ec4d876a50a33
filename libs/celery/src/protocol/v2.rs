//! Protocol v2: encoding (`as_task_v2` + kombu's publish) and decoding, including the hybrid
//! "v1 body, v2 headers" form Celery's worker also accepts (`hybrid_to_proto2`).

use myelin_common::bus::{OutgoingMessage, Properties};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Fields, TaskMessage, anon_nodename, args_kwargs, format_iso, json as pyjson, repr};
use crate::error::{Error, Result};

/// The third element of the body: workflow links (not used by Myelin yet, always null).
#[derive(Serialize)]
struct Embed {
    callbacks: Option<Value>,
    errbacks: Option<Value>,
    chain: Option<Value>,
    chord: Option<Value>,
}

pub(super) fn encode(msg: &TaskMessage) -> Result<OutgoingMessage> {
    let o = &msg.options;
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.as_ref().map(format_iso);
    let root_id = o
        .root_id
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| msg.id.clone());
    let headers: Map<String, Value> = [
        ("lang", json!("py")),
        ("task", json!(msg.task)),
        ("id", json!(msg.id)),
        ("shadow", Value::Null),
        ("eta", json!(time(&o.eta))),
        ("expires", json!(time(&o.expires))),
        ("group", json!(o.group_id)),
        ("group_index", Value::Null),
        ("retries", json!(o.retries)),
        ("timelimit", json!([o.time_limit.0, o.time_limit.1])),
        ("root_id", json!(root_id)),
        ("parent_id", json!(o.parent_id)),
        ("argsrepr", json!(repr::args_repr(&msg.args))),
        (
            "kwargsrepr",
            json!(repr::value_repr(&Value::Object(msg.kwargs.clone()))),
        ),
        ("origin", json!(o.origin.clone().unwrap_or_else(anon_nodename))),
        ("ignore_result", json!(false)),
        ("replaced_task_nesting", json!(0)),
        ("stamped_headers", Value::Null),
        ("stamps", json!({})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let embed = Embed {
        callbacks: None,
        errbacks: None,
        chain: None,
        chord: None,
    };
    let body = pyjson::to_vec(&(&msg.args, &msg.kwargs, embed))?;
    let mut out = OutgoingMessage::new(body);
    out.properties = Properties {
        content_type: Some("application/json".into()),
        content_encoding: Some("utf-8".into()),
        headers,
        priority: Some(o.priority.unwrap_or(0)),
        correlation_id: Some(msg.id.clone()),
        reply_to: Some(o.reply_to.clone().unwrap_or_default()),
        message_id: None,
        expiration: None,
        persistent: true,
    };
    Ok(out)
}

pub(super) fn decode(properties: &Properties, body: Value) -> Result<TaskMessage> {
    let (args, kwargs, merged);
    let fields = match body {
        Value::Array(mut parts) => {
            if parts.len() < 2 {
                return Err(Error::Malformed("v2 body must be [args, kwargs, embed]".into()));
            }
            parts.truncate(2);
            let kw = parts.pop();
            (args, kwargs) = args_kwargs(parts.pop(), kw)?;
            Fields(&properties.headers)
        }
        // Hybrid: a v1 body whose fields the headers override.
        Value::Object(mut map) if map.contains_key("args") => {
            (args, kwargs) = args_kwargs(map.remove("args"), map.remove("kwargs"))?;
            merged = map
                .into_iter()
                .chain(properties.headers.clone())
                .collect::<Map<String, Value>>();
            Fields(&merged)
        }
        other => return Err(Error::Malformed(format!("v2 body must be a list, got {other}"))),
    };
    Ok(TaskMessage {
        id: fields.required("id")?,
        task: fields.required("task")?,
        args,
        kwargs,
        options: fields.options(properties, "group")?,
    })
}
