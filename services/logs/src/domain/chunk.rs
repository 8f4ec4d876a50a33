//! Chunk files: where a run's persisted lines live and how they are named and encoded.
//!
//! Layout (traceml's): `<run uuid>/plxlogs/<chunk>`. A chunk holds consecutive entries of the run's
//! live stream as JSON lines ([`StoredLine`]: `{timestamp, node, pod, container, value, id}`). Its
//! name is `<seq>_<first>_<last id>`: a zero-padded sequence number (so names sort in write order,
//! as Polyaxon's `files` paging expects), the first line's time in microseconds since the epoch
//! (so a `last_time` read skips older chunks without opening them) and the id of the last stream
//! entry it holds (so the persisted position — where the live stream takes over — is known from a
//! listing alone, with nothing else to keep consistent).

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use myelin_contracts::RunUuid;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::line::StoredLine;

/// A stream entry id, `"<ms>-<seq>"` as Redis prints it; ordered as the stream is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// Before every entry.
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };

    /// The wall-clock time the id was minted (its milliseconds).
    pub fn time(&self) -> DateTime<Utc> {
        i64::try_from(self.ms)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_default()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A string that is not a stream id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid stream id {0:?}")]
pub struct InvalidStreamId(pub String);

impl FromStr for StreamId {
    type Err = InvalidStreamId;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidStreamId(text.to_owned());
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        Ok(Self {
            ms: ms.parse().map_err(|_| invalid())?,
            seq: seq.parse().map_err(|_| invalid())?,
        })
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A parsed chunk name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkName {
    /// 0, 1, 2... in write order.
    pub seq: u64,
    /// The first line's time, microseconds since the epoch.
    pub first_micros: i64,
    /// The last stream entry the chunk holds.
    pub last_id: StreamId,
}

impl ChunkName {
    /// The name of chunk `seq` holding `lines` (None when empty).
    pub fn for_lines(seq: u64, lines: &[StoredLine]) -> Option<Self> {
        Some(Self {
            seq,
            first_micros: lines.first()?.line.timestamp.timestamp_micros().max(0),
            last_id: lines.last()?.id,
        })
    }

    /// Parses a file name; None for anything this service did not write.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.splitn(3, '_');
        let (seq, first, last) = (parts.next()?, parts.next()?, parts.next()?);
        if seq.len() < 10 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            seq: seq.parse().ok()?,
            first_micros: first.parse().ok()?,
            last_id: last.parse().ok()?,
        })
    }

    /// The first line's time.
    pub fn first_time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.first_micros).unwrap_or_default()
    }
}

impl fmt::Display for ChunkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:010}_{}_{}", self.seq, self.first_micros, self.last_id)
    }
}

/// The prefix of every chunk of `run`: `<run uuid>/plxlogs/`.
pub fn chunks_prefix(run: &RunUuid) -> String {
    format!("{run}/plxlogs/")
}

/// The key of `name` among `run`'s chunks.
pub fn chunk_key(run: &RunUuid, name: &str) -> String {
    format!("{run}/plxlogs/{name}")
}

/// A chunk's body: one JSON document per line, each ending with `\n`.
pub fn encode(lines: &[StoredLine]) -> Result<Bytes, serde_json::Error> {
    let mut body = Vec::with_capacity(lines.len() * 160);
    for line in lines {
        serde_json::to_writer(&mut body, line)?;
        body.push(b'\n');
    }
    Ok(Bytes::from(body))
}

/// The lines of a chunk body, and how many lines could not be read (skipped).
pub fn decode(body: &[u8]) -> (Vec<StoredLine>, usize) {
    let mut lines = Vec::new();
    let mut bad = 0;
    for raw in body
        .split(|b| *b == b'\n')
        .filter(|raw| !raw.iter().all(u8::is_ascii_whitespace))
    {
        match serde_json::from_slice(raw) {
            Ok(line) => lines.push(line),
            Err(_) => bad += 1,
        }
    }
    (lines, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::line::LogLine;

    fn line(id: &str, micros: i64, value: &str) -> StoredLine {
        StoredLine {
            line: LogLine {
                timestamp: DateTime::from_timestamp_micros(micros).unwrap(),
                node: "n".into(),
                pod: "p".into(),
                container: "c".into(),
                value: value.into(),
            },
            id: id.parse().unwrap(),
        }
    }

    #[test]
    fn stream_ids_order_like_the_stream() {
        let ids: Vec<StreamId> = ["1-0", "1-1", "2-0", "10-0"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!("7".parse::<StreamId>().unwrap(), StreamId { ms: 7, seq: 0 });
        assert_eq!(StreamId { ms: 7, seq: 3 }.to_string(), "7-3");
        assert!("x-1".parse::<StreamId>().is_err());
    }

    #[test]
    fn names_sort_in_write_order_and_round_trip() {
        let lines = [
            line("1733343647123-0", 1_733_343_647_000_001, "a"),
            line("1733343647200-5", 2, "b"),
        ];
        let name = ChunkName::for_lines(3, &lines).unwrap();
        assert_eq!(name.to_string(), "0000000003_1733343647000001_1733343647200-5");
        assert_eq!(ChunkName::parse(&name.to_string()), Some(name));
        let later = ChunkName { seq: 12, ..name };
        assert!(name.to_string() < later.to_string());
        assert_eq!(ChunkName::for_lines(0, &[]), None);
        for foreign in [
            "1733343647.123",
            "3_1_1-0",
            ".cursor",
            "0000000003_x_1-0",
            "0000000003_1",
        ] {
            assert_eq!(ChunkName::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn bodies_are_json_lines() {
        let lines = vec![line("1-0", 1, "a\nb"), line("1-1", 2, "ü \"quoted\"")];
        let body = encode(&lines).unwrap();
        assert_eq!(body.iter().filter(|b| **b == b'\n').count(), 2, "one line per entry");
        let mut with_garbage = body.to_vec();
        with_garbage.extend_from_slice(b"not json\n\n");
        assert_eq!(decode(&with_garbage), (lines, 1));
    }
}
