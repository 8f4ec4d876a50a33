//! Decoding of XREAD replies into [`StreamEntry`] values, keeping field order.
//!
//! A reply is nil (nothing new) or, for the one stream asked, `[[name, [[id, [f1, v1, ...]], ...]]]`
//! (RESP2) or `{name: [[id, [f1, v1, ...]], ...]}` (RESP3).

use bytes::Bytes;
use redis::Value;

use crate::coord::StreamEntry;

/// The entries of a single-stream XREAD reply.
pub(super) fn stream_entries(reply: Value) -> Result<Vec<StreamEntry>, String> {
    let entries = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => match streams.into_iter().next() {
            Some(Value::Array(pair)) => pair.into_iter().nth(1),
            None => return Ok(Vec::new()),
            Some(other) => return Err(format!("stream item is not a pair: {other:?}")),
        },
        Value::Map(streams) => streams.into_iter().next().map(|(_, entries)| entries),
        other => return Err(format!("not an array or map: {other:?}")),
    };
    match entries {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::Array(entries)) => entries.into_iter().map(entry).collect(),
        Some(other) => Err(format!("entries are not an array: {other:?}")),
    }
}

fn entry(value: Value) -> Result<StreamEntry, String> {
    let Value::Array(parts) = value else {
        return Err(format!("entry is not an array: {value:?}"));
    };
    let mut parts = parts.into_iter();
    let id = text(parts.next().ok_or("entry without id")?)?;
    let fields = match parts.next() {
        // Entries deleted while pending come back without fields.
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Array(flat)) => {
            let mut fields = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let Some(name) = flat.next() {
                let value = flat.next().ok_or("field without value")?;
                fields.push((text(name)?, bytes(value)?));
            }
            fields
        }
        Some(Value::Map(pairs)) => pairs
            .into_iter()
            .map(|(name, value)| Ok((text(name)?, bytes(value)?)))
            .collect::<Result<_, String>>()?,
        Some(other) => return Err(format!("fields are not an array: {other:?}")),
    };
    Ok(StreamEntry { id, fields })
}

fn bytes(value: Value) -> Result<Bytes, String> {
    match value {
        Value::BulkString(data) => Ok(Bytes::from(data)),
        Value::SimpleString(text) => Ok(Bytes::from(text)),
        other => Err(format!("not a string: {other:?}")),
    }
}

fn text(value: Value) -> Result<String, String> {
    let data = bytes(value)?;
    String::from_utf8(data.to_vec()).map_err(|err| format!("not UTF-8: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn decodes_resp2_and_resp3_replies_in_field_order() {
        let entries = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![bulk("z"), bulk("1"), bulk("a"), bulk("2")]),
        ])]);
        let expected = vec![StreamEntry {
            id: "1-0".to_owned(),
            fields: vec![("z".to_owned(), Bytes::from("1")), ("a".to_owned(), Bytes::from("2"))],
        }];
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("s"), entries.clone()])]);
        assert_eq!(stream_entries(resp2).unwrap(), expected);
        let resp3 = Value::Map(vec![(bulk("s"), entries)]);
        assert_eq!(stream_entries(resp3).unwrap(), expected);
        assert_eq!(stream_entries(Value::Nil).unwrap(), vec![]);
        assert!(stream_entries(Value::Int(3)).is_err());
        let odd = Value::Array(vec![Value::Array(vec![
            bulk("s"),
            Value::Array(vec![Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![bulk("lonely")]),
            ])]),
        ])]);
        assert!(stream_entries(odd).is_err());
    }
}
