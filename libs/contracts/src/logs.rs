//! Run logs in Polyaxon's shapes: `V1Log` lines and the `V1Logs` page of
//! `GET /streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs`, plus the Server-Sent Events of
//! its live tail (`.../logs/tail`: `event: log` with a [`LogLine`], then `event: done` with
//! [`TailDone`], or `event: error` with [`TailError`]).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::status::Statuses;

/// SSE event name of a log line.
pub const TAIL_EVENT_LOG: &str = "log";
/// SSE event name that ends a tail because the run is done.
pub const TAIL_EVENT_DONE: &str = "done";
/// SSE event name that ends a tail on a failure.
pub const TAIL_EVENT_ERROR: &str = "error";

/// One line of a run's log (`V1Log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogLine {
    /// When the line was written, ISO 8601 as Python prints it (`2026-12-04T20:20:47.123456+00:00`).
    #[serde(serialize_with = "serialize_time", deserialize_with = "deserialize_time")]
    #[schema(value_type = String)]
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub pod: String,
    #[serde(default)]
    pub container: String,
    pub value: String,
}

/// A page of a run's log (`V1Logs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Logs {
    pub last_time: Option<String>,
    pub last_file: Option<String>,
    pub logs: Vec<LogLine>,
    pub files: Vec<String>,
}

/// The data of the `done` event that ends a tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailDone {
    pub status: Statuses,
}

/// The data of the `error` event that ends a tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailError {
    pub message: String,
}

/// Formats like Python's `datetime.isoformat()` on an aware UTC datetime: microseconds only when
/// non-zero, offset `+00:00` (what Polyaxon's API returns).
pub fn format_time(time: &DateTime<Utc>) -> String {
    let format = if time.nanosecond() / 1000 == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    time.to_rfc3339_opts(format, false)
}

/// Parses the timestamps clients send: RFC 3339 (`Z` or `+00:00`), Python's `+0000` offsets,
/// a space instead of `T`, a `+` that URL decoding turned into a space, or no offset (UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let mut text = text.trim().to_owned();
    if text.as_bytes().get(10) == Some(&b' ') {
        text.replace_range(10..11, "T");
    }
    let text = text.replace(' ', "+");
    if let Ok(time) = DateTime::parse_from_rfc3339(&text) {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(time) = DateTime::parse_from_str(&text, format) {
            return Some(time.with_timezone(&Utc));
        }
    }
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

fn serialize_time<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(time))
}

fn deserialize_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_time(&text).ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}")))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_print_like_python_and_parse_what_clients_send() {
        let whole = Utc.with_ymd_and_hms(2026, 12, 4, 20, 20, 47).unwrap();
        assert_eq!(format_time(&whole), "2026-12-04T20:20:47+00:00");
        let micros = whole + chrono::Duration::microseconds(467_891);
        assert_eq!(format_time(&micros), "2026-12-04T20:20:47.467891+00:00");
        for text in [
            "2026-12-04T20:20:47.467891+00:00",
            "2026-12-04T20:20:47.467891Z",
            "2026-12-04T20:20:47.467891+0000",
            "2026-12-04T20:20:47.467891 0000",
            "2026-12-04 20:20:47.467891+00:00",
            "2026-12-04T21:20:47.467891+01:00",
            "2026-12-04T20:20:47.467891",
        ] {
            assert_eq!(parse_time(text), Some(micros), "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn a_log_line_round_trips_in_polyaxon_shape() {
        let json =
            r#"{"timestamp":"2026-12-04T20:20:47.467891+00:00","node":"local","pod":"p","container":"c","value":"hi"}"#;
        let line: LogLine = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&line).unwrap(), json);
    }
}
