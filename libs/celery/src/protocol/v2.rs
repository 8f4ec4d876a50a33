//! Protocol v2: encoding (`as_task_v2` + kombu's publish) and decoding, including the hybrid
//! "v1 body, v2 headers" form Celery's worker also accepts (`hybrid_to_proto2`).

use myelin_common::bus::{OutgoingMessage, Properties};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Fields, Signature, TaskMessage, anon_nodename, args_kwargs, format_iso, json as pyjson, repr};
use crate::error::{Error, Result};

/// The third element of the body: the workflow links.
#[derive(Serialize)]
struct Embed<'a> {
    callbacks: &'a Option<Vec<Signature>>,
    errbacks: &'a Option<Vec<Signature>>,
    chain: &'a Option<Vec<Signature>>,
    chord: &'a Option<Box<Signature>>,
}

/// The embed as read (order of signature options kept: read from the raw bytes).
#[derive(Deserialize, Default)]
#[serde(default)]
struct EmbedIn {
    callbacks: Option<Vec<Signature>>,
    errbacks: Option<Vec<Signature>>,
    chain: Option<Vec<Signature>>,
    chord: Option<Box<Signature>>,
}

/// A v2 body with its embed: `[args, kwargs, embed]`.
#[derive(Deserialize)]
struct BodyIn(IgnoredAny, IgnoredAny, Option<EmbedIn>);

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
        ("shadow", json!(o.shadow)),
        ("eta", json!(time(&o.eta))),
        ("expires", json!(time(&o.expires))),
        ("group", json!(o.group_id)),
        ("group_index", json!(o.group_index)),
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
        ("ignore_result", json!(o.ignore_result)),
        ("replaced_task_nesting", json!(0)),
        ("stamped_headers", Value::Null),
        ("stamps", json!({})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let embed = Embed {
        callbacks: &o.callbacks,
        errbacks: &o.errbacks,
        chain: &o.chain,
        chord: &o.chord,
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

pub(super) fn decode(properties: &Properties, body: Value, raw: &[u8]) -> Result<TaskMessage> {
    let (args, kwargs, merged);
    let mut embed = None;
    let fields = match body {
        Value::Array(mut parts) => {
            if parts.len() < 2 {
                return Err(Error::Malformed("v2 body must be [args, kwargs, embed]".into()));
            }
            if parts.len() > 2 {
                let BodyIn(_, _, e) =
                    serde_json::from_slice(raw).map_err(|e| Error::Malformed(format!("invalid v2 body embed: {e}")))?;
                embed = e;
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
    let mut options = fields.options(properties, "group")?;
    if let Some(e) = embed {
        (options.callbacks, options.errbacks, options.chain, options.chord) =
            (e.callbacks, e.errbacks, e.chain, e.chord);
    }
    Ok(TaskMessage {
        id: fields.required("id")?,
        task: fields.required("task")?,
        args,
        kwargs,
        options,
    })
}
