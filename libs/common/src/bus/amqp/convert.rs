//! Mapping between the port's types and lapin's: [`Properties`] ↔ `BasicProperties`, JSON header
//! values ↔ AMQP field values, [`QueueSpec`] → queue arguments.
//!
//! JSON → AMQP uses the types Celery (kombu/py-amqp) sends and expects: string → long string,
//! integer → signed 64-bit, bool → boolean, null → void, float → double, array → field array,
//! object → field table. AMQP → JSON accepts every field type a broker may send (RabbitMQ's
//! `x-death` uses timestamps, byte arrays and decimals are rare).

use std::time::Duration;

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString, ShortString};
use serde_json::{Map, Number, Value};

use crate::bus::{Error, Properties, QueueSpec, Result};

/// A short string (at most 255 bytes), or an error naming the field.
pub(super) fn short(value: &str, what: &str) -> Result<ShortString> {
    ShortString::try_new(value).map_err(|e| Error::Channel(format!("{what}: {e}")))
}

pub(super) fn to_basic_properties(props: &Properties) -> Result<BasicProperties> {
    let mut out = BasicProperties::default();
    if let Some(v) = &props.content_type {
        out = out.with_content_type(short(v, "content_type")?);
    }
    if let Some(v) = &props.content_encoding {
        out = out.with_content_encoding(short(v, "content_encoding")?);
    }
    if !props.headers.is_empty() {
        out = out.with_headers(to_field_table(&props.headers)?);
    }
    if props.persistent {
        out = out.with_delivery_mode(2);
    }
    if let Some(v) = props.priority {
        out = out.with_priority(v);
    }
    if let Some(v) = &props.correlation_id {
        out = out.with_correlation_id(short(v, "correlation_id")?);
    }
    if let Some(v) = &props.reply_to {
        out = out.with_reply_to(short(v, "reply_to")?);
    }
    if let Some(v) = props.expiration {
        out = out.with_expiration(short(&v.as_millis().to_string(), "expiration")?);
    }
    if let Some(v) = &props.message_id {
        out = out.with_message_id(short(v, "message_id")?);
    }
    Ok(out)
}

pub(super) fn from_basic_properties(props: &BasicProperties) -> Properties {
    let string = |v: &Option<ShortString>| v.as_ref().map(|s| s.as_str().to_owned());
    Properties {
        content_type: string(props.content_type()),
        content_encoding: string(props.content_encoding()),
        headers: props.headers().as_ref().map(from_field_table).unwrap_or_default(),
        priority: *props.priority(),
        correlation_id: string(props.correlation_id()),
        reply_to: string(props.reply_to()),
        message_id: string(props.message_id()),
        expiration: props
            .expiration()
            .as_ref()
            .and_then(|ms| ms.as_str().parse().ok())
            .map(Duration::from_millis),
        persistent: *props.delivery_mode() == Some(2),
    }
}

pub(super) fn to_field_table(map: &Map<String, Value>) -> Result<FieldTable> {
    let mut table = FieldTable::default();
    for (key, value) in map {
        table.insert(short(key, "header name")?, to_amqp_value(value, key)?);
    }
    Ok(table)
}

fn to_amqp_value(value: &Value, key: &str) -> Result<AMQPValue> {
    Ok(match value {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => AMQPValue::LongLongInt(i),
            (None, Some(_)) if n.is_u64() => {
                return Err(Error::Channel(format!(
                    "header '{key}': integer {n} does not fit AMQP's signed 64-bit field"
                )));
            }
            (None, Some(f)) => AMQPValue::Double(f),
            (None, None) => return Err(Error::Channel(format!("header '{key}': unsupported number {n}"))),
        },
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_bytes())),
        Value::Array(items) => AMQPValue::FieldArray(FieldArray::from(
            items
                .iter()
                .map(|v| to_amqp_value(v, key))
                .collect::<Result<Vec<_>>>()?,
        )),
        Value::Object(map) => AMQPValue::FieldTable(to_field_table(map)?),
    })
}

pub(super) fn from_field_table(table: &FieldTable) -> Map<String, Value> {
    table
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), from_amqp_value(v)))
        .collect()
}

fn from_amqp_value(value: &AMQPValue) -> Value {
    let float = |f: f64| Number::from_f64(f).map_or(Value::Null, Value::Number);
    match value {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(i) => (*i).into(),
        AMQPValue::ShortShortUInt(i) => (*i).into(),
        AMQPValue::ShortInt(i) => (*i).into(),
        AMQPValue::ShortUInt(i) => (*i).into(),
        AMQPValue::LongInt(i) => (*i).into(),
        AMQPValue::LongUInt(i) => (*i).into(),
        AMQPValue::LongLongInt(i) => (*i).into(),
        AMQPValue::Timestamp(t) => (*t).into(),
        AMQPValue::Float(f) => float(f64::from(*f)),
        AMQPValue::Double(f) => float(*f),
        AMQPValue::DecimalValue(d) => float(f64::from(d.value) / 10f64.powi(i32::from(d.scale))),
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ByteArray(b) => Value::String(String::from_utf8_lossy(b.as_slice()).into_owned()),
        AMQPValue::FieldArray(items) => Value::Array(items.as_slice().iter().map(from_amqp_value).collect()),
        AMQPValue::FieldTable(table) => Value::Object(from_field_table(table)),
        AMQPValue::Void => Value::Null,
    }
}

/// Queue arguments: the spec's extra `arguments`, then `x-max-priority` and
/// `x-dead-letter-exchange` from its fields (which win over the same keys in `arguments`).
pub(super) fn queue_arguments(spec: &QueueSpec) -> Result<FieldTable> {
    let mut table = to_field_table(&spec.arguments)?;
    if let Some(max) = spec.max_priority {
        table.insert("x-max-priority".into(), AMQPValue::ShortShortUInt(max));
    }
    if let Some(dlx) = &spec.dead_letter_exchange {
        table.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(LongString::from(dlx.as_bytes())),
        );
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_use_the_types_celery_expects_and_round_trip() {
        let headers = json!({
            "s": "x", "i": -3, "big": i64::MAX, "b": true, "n": null, "f": 2.5,
            "a": [1, "two", [3.5], {"k": false}], "t": {"nested": {"deep": [null]}}
        });
        let Value::Object(map) = headers.clone() else {
            unreachable!()
        };
        let table = to_field_table(&map).unwrap();
        let inner = table.inner();
        assert_eq!(inner["s"], AMQPValue::LongString("x".into()));
        assert_eq!(inner["i"], AMQPValue::LongLongInt(-3));
        assert_eq!(inner["b"], AMQPValue::Boolean(true));
        assert_eq!(inner["n"], AMQPValue::Void);
        assert_eq!(inner["f"], AMQPValue::Double(2.5));
        assert!(matches!(inner["a"], AMQPValue::FieldArray(_)));
        assert!(matches!(inner["t"], AMQPValue::FieldTable(_)));
        assert_eq!(Value::Object(from_field_table(&table)), headers);
    }

    #[test]
    fn unsigned_integers_beyond_i64_are_refused() {
        let Value::Object(map) = json!({"u": u64::MAX}) else {
            unreachable!()
        };
        assert!(to_field_table(&map).is_err());
    }

    #[test]
    fn properties_round_trip() {
        let props = Properties {
            content_type: Some("application/json".into()),
            content_encoding: Some("utf-8".into()),
            headers: Map::new(),
            priority: Some(7),
            correlation_id: Some("c".into()),
            reply_to: Some("r".into()),
            message_id: Some("m".into()),
            expiration: Some(Duration::from_millis(1500)),
            persistent: true,
        };
        let basic = to_basic_properties(&props).unwrap();
        assert_eq!(basic.expiration().as_ref().map(ShortString::as_str), Some("1500"));
        assert_eq!(*basic.delivery_mode(), Some(2));
        assert_eq!(from_basic_properties(&basic), props);
    }
}
