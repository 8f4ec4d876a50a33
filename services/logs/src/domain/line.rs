//! Log lines: Polyaxon's `V1Log` shape (`{timestamp, node, pod, container, value}`, the wire type
//! [`LogLine`] of `myelin-contracts`), the [`StoredLine`] chunk files hold, and how a live stream
//! entry becomes one.

use myelin_common::coord::StreamEntry;
use myelin_contracts::RunUuid;
pub use myelin_contracts::logs::{LogLine, format_time, parse_time};
use serde::{Deserialize, Serialize};

use super::chunk::StreamId;

/// The `node` of lines whose producer names none (Polyaxon's local executor says `local`).
pub const DEFAULT_NODE: &str = "local";
/// The `container` of lines whose producer names none (Polyaxon's main container).
pub const DEFAULT_CONTAINER: &str = "polyaxon-main";

/// A line with the id of the stream entry it came from, as chunk files store it (the id lets
/// readers merge persisted and live lines without duplicates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLine {
    #[serde(flatten)]
    pub line: LogLine,
    pub id: StreamId,
}

impl StoredLine {
    /// The line an entry of `run`'s live stream holds: fields `ts` (RFC 3339; else the entry id's
    /// time), `line` (or `value`), and optionally `node`, `pod`, `container`.
    pub fn from_entry(run: &RunUuid, entry: &StreamEntry) -> Option<Self> {
        let id: StreamId = entry.id.parse().ok()?;
        let field = |name: &str| {
            entry
                .fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
        };
        let timestamp = field("ts").and_then(|ts| parse_time(&ts)).unwrap_or_else(|| id.time());
        let line = LogLine {
            timestamp,
            node: field("node").unwrap_or_else(|| DEFAULT_NODE.to_owned()),
            pod: field("pod").unwrap_or_else(|| format!("plx-operation-{run}")),
            container: field("container").unwrap_or_else(|| DEFAULT_CONTAINER.to_owned()),
            value: field("line").or_else(|| field("value")).unwrap_or_default(),
        };
        Some(Self { line, id })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn entries_become_v1_logs() {
        let run: RunUuid = "c49993accb5c46f481c7be3c0eac01f0".parse().unwrap();
        let entry = StreamEntry {
            id: "1733343647123-4".into(),
            fields: vec![
                ("ts".into(), Bytes::from("2026-12-04T20:20:47.000001Z")),
                ("stream".into(), Bytes::from("stderr")),
                ("line".into(), Bytes::from("hello")),
            ],
        };
        let stored = StoredLine::from_entry(&run, &entry).unwrap();
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "timestamp": "2026-12-04T20:20:47.000001+00:00",
                "node": "local",
                "pod": "plx-operation-c49993accb5c46f481c7be3c0eac01f0",
                "container": "polyaxon-main",
                "value": "hello",
                "id": "1733343647123-4",
            })
        );
        let back: StoredLine = serde_json::from_value(json).unwrap();
        assert_eq!(back, stored);
        // Without `ts`, the entry id's time stands in.
        let bare = StreamEntry {
            id: "1733343647123-0".into(),
            fields: vec![("line".into(), Bytes::from("x"))],
        };
        let line = StoredLine::from_entry(&run, &bare).unwrap().line;
        assert_eq!(line.timestamp.timestamp_millis(), 1_733_343_647_123);
    }
}
