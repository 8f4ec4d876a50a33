//! kombu's message envelope on Redis (`kombu/transport/virtual/base.py`: `prepare_message` +
//! `_inplace_augment_message`), written with Python's `json.dumps` separators:
//!
//! ```text
//! {"body": <base64>, "content-encoding": .., "content-type": .., "headers": {..},
//!  "properties": {"correlation_id", "reply_to", "message_id", "delivery_mode", "expiration",
//!                 "delivery_info": {"exchange", "routing_key"}, "priority", "body_encoding": "base64",
//!                 "delivery_tag": <uuid4>}}
//! ```
//!
//! Optional properties are left out when unset, as kombu does. A message put back by a restore
//! carries `headers.redelivered` and `properties.delivery_info.redelivered` = true.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use myelin_common::bus::{OutgoingMessage, Properties};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::protocol::json as pyjson;

/// kombu's `max_priority` of virtual transports: priorities are clamped to `0..=9`.
const MAX_PRIORITY: i64 = 9;

#[derive(Serialize)]
struct Envelope<'a> {
    body: String,
    #[serde(rename = "content-encoding")]
    content_encoding: Option<&'a str>,
    #[serde(rename = "content-type")]
    content_type: Option<&'a str>,
    headers: &'a Map<String, Value>,
    properties: EnvelopeProperties<'a>,
}

#[derive(Serialize)]
struct EnvelopeProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    delivery_mode: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
    delivery_info: DeliveryInfo<'a>,
    priority: u8,
    body_encoding: &'static str,
    delivery_tag: &'a str,
}

#[derive(Serialize)]
struct DeliveryInfo<'a> {
    exchange: &'a str,
    routing_key: &'a str,
}

/// Encodes `message` as kombu stores it in a Redis list, with `delivery_tag` as its tag.
pub(crate) fn encode(
    message: &OutgoingMessage,
    exchange: &str,
    routing_key: &str,
    delivery_tag: &str,
) -> serde_json::Result<String> {
    let p = &message.properties;
    let envelope = Envelope {
        body: STANDARD.encode(&message.body),
        content_encoding: p.content_encoding.as_deref(),
        content_type: p.content_type.as_deref(),
        headers: &p.headers,
        properties: EnvelopeProperties {
            correlation_id: p.correlation_id.as_deref(),
            reply_to: p.reply_to.as_deref(),
            message_id: p.message_id.as_deref(),
            delivery_mode: if p.persistent { 2 } else { 1 },
            expiration: p.expiration.map(|d| d.as_millis().to_string()),
            delivery_info: DeliveryInfo { exchange, routing_key },
            priority: p.priority.unwrap_or(0),
            body_encoding: "base64",
            delivery_tag,
        },
    };
    let bytes = pyjson::to_vec(&envelope)?;
    // `to_vec` escapes every non-ASCII character, so the output is ASCII.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A message read back from a Redis list.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    pub body: Bytes,
    pub properties: Properties,
    pub exchange: String,
    pub routing_key: String,
    pub delivery_tag: String,
    pub redelivered: bool,
}

/// Decodes a kombu envelope. Fails when it is not a JSON object with `properties.delivery_tag`.
pub(crate) fn decode(raw: &str) -> Result<Decoded, String> {
    let value: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut env) = value else {
        return Err("not a JSON object".into());
    };
    let Some(Value::Object(props)) = env.remove("properties") else {
        return Err("no 'properties' object".into());
    };
    let text = |map: &Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    let delivery_tag = text(&props, "delivery_tag").ok_or("no 'properties.delivery_tag'")?;
    let info = props.get("delivery_info").and_then(Value::as_object);
    let mut headers = match env.remove("headers") {
        Some(Value::Object(h)) => h,
        _ => Map::new(),
    };
    // Set by kombu's `_do_restore_message`: transport bookkeeping, reported as `redelivered`.
    let in_headers = match headers.get("redelivered") {
        Some(Value::Bool(b)) => {
            let b = *b;
            headers.remove("redelivered");
            b
        }
        _ => false,
    };
    let in_info = info.and_then(|i| i.get("redelivered")).and_then(Value::as_bool) == Some(true);
    let body = match env.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if text(&props, "body_encoding").as_deref() == Some("base64") => STANDARD
            .decode(s)
            .map(Bytes::from)
            .map_err(|e| format!("body is not base64: {e}"))?,
        Some(Value::String(s)) => Bytes::from(s.clone().into_bytes()),
        Some(other) => Bytes::from(other.to_string().into_bytes()),
    };
    let properties = Properties {
        content_type: text(&env, "content-type"),
        content_encoding: text(&env, "content-encoding"),
        headers,
        priority: message_priority(&props).and_then(|p| u8::try_from(p).ok()),
        correlation_id: text(&props, "correlation_id"),
        reply_to: text(&props, "reply_to"),
        message_id: text(&props, "message_id"),
        expiration: props
            .get("expiration")
            .and_then(|e| e.as_str().map(str::to_owned).or_else(|| Some(e.to_string())))
            .and_then(|e| e.parse::<u64>().ok())
            .map(std::time::Duration::from_millis),
        persistent: props.get("delivery_mode").and_then(Value::as_u64) == Some(2),
    };
    Ok(Decoded {
        body,
        properties,
        exchange: info.and_then(|i| text(i, "exchange")).unwrap_or_default(),
        routing_key: info.and_then(|i| text(i, "routing_key")).unwrap_or_default(),
        delivery_tag,
        redelivered: in_headers || in_info,
    })
}

/// `int(properties["priority"])` as Python computes it, or `None` when it has none.
fn message_priority(props: &Map<String, Value>) -> Option<i64> {
    match props.get("priority")? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// kombu's `_get_message_priority(message, reverse=False)`: the priority clamped to `0..=9`,
/// 0 when missing or not a number.
pub(crate) fn priority_of(envelope: &Value) -> u8 {
    let p = envelope
        .get("properties")
        .and_then(Value::as_object)
        .and_then(message_priority)
        .unwrap_or(0);
    p.clamp(0, MAX_PRIORITY) as u8
}

/// Marks a restored envelope as kombu's `_do_restore_message` does (only where the objects exist).
pub(crate) fn mark_redelivered(envelope: &mut Value) {
    if let Some(h) = envelope.get_mut("headers").and_then(Value::as_object_mut) {
        h.insert("redelivered".into(), Value::Bool(true));
        if let Some(info) = envelope
            .get_mut("properties")
            .and_then(|p| p.get_mut("delivery_info"))
            .and_then(Value::as_object_mut)
        {
            info.insert("redelivered".into(), Value::Bool(true));
        }
    }
}

/// Serializes a JSON value as `json.dumps` does.
pub(crate) fn dumps(value: &impl Serialize) -> serde_json::Result<String> {
    Ok(String::from_utf8_lossy(&pyjson::to_vec(value)?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_marks_redelivery() {
        let mut msg = OutgoingMessage::new(b"\x00binary".to_vec());
        msg.properties.headers.insert("h".into(), json!(1));
        msg.properties.priority = Some(3);
        let raw = encode(&msg, "ex", "rk", "tag-1").unwrap();
        let d = decode(&raw).unwrap();
        assert_eq!(&d.body[..], b"\x00binary");
        assert_eq!((d.exchange.as_str(), d.routing_key.as_str()), ("ex", "rk"));
        assert_eq!((d.delivery_tag.as_str(), d.redelivered), ("tag-1", false));
        assert!(d.properties.persistent && d.properties.priority == Some(3));
        let mut v: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(priority_of(&v), 3);
        mark_redelivered(&mut v);
        let d = decode(&dumps(&v).unwrap()).unwrap();
        assert!(d.redelivered && !d.properties.headers.contains_key("redelivered"));
    }

    #[test]
    fn priorities_are_clamped_like_kombu() {
        assert_eq!(priority_of(&json!({"properties": {"priority": 42}})), 9);
        assert_eq!(priority_of(&json!({"properties": {"priority": -1}})), 0);
        assert_eq!(priority_of(&json!({"properties": {"priority": "7"}})), 7);
        assert_eq!(priority_of(&json!({"properties": {}})), 0);
    }
}
