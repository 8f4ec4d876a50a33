//! The JSON body of an events read, `{"data": [{"name", "kind", "data", "uuid"?}]}`, written straight
//! into one pre-sized buffer: a 20k-point history is about 1.2 MB of digits, and going through a
//! generic serializer (string escaping of every timestamp, a growing buffer, a calendar conversion
//! per point) cost more than reading the points.
//!
//! `orient=dict` data is `{"step": [...], "timestamp": [...], "<kind>": [...]}` with timestamps as
//! Python's `str(datetime)` (`2026-12-04 20:21:06.458805+00:00`, no fraction when it is zero);
//! `orient=csv` data is traceml's text as one JSON string.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;

use super::series::{Orient, PyTime, Series, Values, csv};

/// The body of a read of `series`.
pub fn events_json(series: &[Series], orient: Orient) -> Vec<u8> {
    let points: usize = series.iter().map(Series::len).sum();
    let mut out = Vec::with_capacity(16 + series.len() * 96 + points * 64);
    out.extend_from_slice(b"{\"data\":[");
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        json(&mut out, &s.name);
        out.extend_from_slice(b",\"kind\":");
        json(&mut out, &s.kind);
        out.extend_from_slice(b",\"data\":");
        match orient {
            Orient::Dict => dict(&mut out, s),
            Orient::Csv => json(&mut out, &csv(s)),
        }
        if let Some(uuid) = s.uuid {
            out.extend_from_slice(b",\"uuid\":");
            json(&mut out, &uuid);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// Appends `value` as JSON. Writing these types (strings, numbers, uuids, `serde_json::Value`) into a
/// `Vec` cannot fail.
fn json(out: &mut Vec<u8>, value: &impl Serialize) {
    let _ = serde_json::to_writer(&mut *out, value);
}

fn dict(out: &mut Vec<u8>, s: &Series) {
    out.extend_from_slice(b"{\"step\":[");
    let mut digits = itoa::Buffer::new();
    for (i, step) in s.steps.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match step {
            Some(step) => out.extend_from_slice(digits.format(*step).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(b"],\"timestamp\":[");
    let mut times = TimeWriter::default();
    for (i, t) in s.timestamps.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        times.write(out, *t);
    }
    out.extend_from_slice(b"],");
    json(out, &s.kind.as_str());
    out.extend_from_slice(b":[");
    match &s.values {
        Values::Metric(values) => items(out, values),
        Values::Data(values) => items(out, values),
    }
    out.extend_from_slice(b"]}");
}

/// `values` as JSON, comma-separated (the brackets are the caller's).
fn items(out: &mut Vec<u8>, values: &[impl Serialize]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json(out, v);
    }
}

/// Writes quoted [`PyTime`]s, formatting the `YYYY-MM-DD HH:MM:SS` part once per distinct second
/// (points logged in a loop share it).
#[derive(Default)]
struct TimeWriter {
    second: Option<i64>,
    prefix: [u8; 19],
}

impl TimeWriter {
    fn write(&mut self, out: &mut Vec<u8>, t: DateTime<Utc>) {
        let naive = t.naive_utc();
        if !(0..=9999).contains(&naive.year()) {
            json(out, &PyTime(t).to_string());
            return;
        }
        let second = t.timestamp();
        if self.second != Some(second) {
            self.second = Some(second);
            let fields = [
                (naive.year() as u32, 4, b'-'),
                (naive.month(), 2, b'-'),
                (naive.day(), 2, b' '),
                (naive.hour(), 2, b':'),
                (naive.minute(), 2, b':'),
                (naive.second(), 2, 0),
            ];
            let mut n = 0;
            for (value, width, after) in fields {
                put_digits(&mut self.prefix[n..n + width], value);
                n += width;
                if after != 0 {
                    self.prefix[n] = after;
                    n += 1;
                }
            }
        }
        out.push(b'"');
        out.extend_from_slice(&self.prefix);
        let micros = t.timestamp_subsec_micros();
        if micros != 0 {
            let mut fraction = [b'.'; 7];
            put_digits(&mut fraction[1..], micros);
            out.extend_from_slice(&fraction);
        }
        out.extend_from_slice(b"+00:00\"");
    }
}

/// `value` in decimal, zero-padded to the width of `into`.
fn put_digits(into: &mut [u8], mut value: u32) {
    for slot in into.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use myelin_contracts::RunUuid;
    use myelin_contracts::tracking::EventKind;
    use serde_json::{Value, json};

    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn timestamps_are_pythons_str_of_a_datetime() {
        let base = Utc.with_ymd_and_hms(2026, 12, 4, 20, 21, 6).unwrap().timestamp_micros();
        let times = [base + 458_805, base, base + 1, base + 1_000_000, base + 999_999];
        let s = Series {
            name: "loss".into(),
            kind: EventKind::Metric,
            uuid: None,
            steps: vec![Some(0), None, Some(-7), Some(i64::MAX), Some(3)],
            timestamps: times.iter().map(|&m| at(m)).collect(),
            values: Values::Metric(vec![1.0, 1.0 / 3.0, -0.0, 1e300, 0.1]),
        };
        assert_eq!(
            parse(events_json(&[s], Orient::Dict)),
            json!({"data": [{"name": "loss", "kind": "metric", "data": {
                "step": [0, null, -7, i64::MAX, 3],
                "timestamp": [
                    "2026-12-04 20:21:06.458805+00:00", "2026-12-04 20:21:06+00:00",
                    "2026-12-04 20:21:06.000001+00:00", "2026-12-04 20:21:07+00:00",
                    "2026-12-04 20:21:06.999999+00:00",
                ],
                "metric": [1.0, 0.3333333333333333, -0.0, 1e300, 0.1],
            }}]})
        );
    }

    #[test]
    fn every_time_matches_the_display_of_pytime() {
        // Across day, month, year and leap boundaries, before 1970 and at the ends of the range.
        let samples = [
            0,
            -1,
            951_782_399_999_999,
            951_868_800_000_000,
            1_767_225_599_123_456,
            -62_135_596_800_000_000,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
        ];
        let mut writer = TimeWriter::default();
        for micros in samples
            .into_iter()
            .chain((0..5000).map(|i| 1_700_000_000_000_000 + i * 7_919_000_013))
        {
            let t = at(micros);
            let mut out = Vec::new();
            writer.write(&mut out, t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", PyTime(t)),
                "{micros}"
            );
        }
    }

    #[test]
    fn events_multi_runs_and_csv() {
        let uuid = RunUuid::new();
        let s = Series {
            name: "sample \"text\"".into(),
            kind: EventKind::Text,
            uuid: Some(uuid),
            steps: vec![Some(1)],
            timestamps: vec![at(0)],
            values: Values::Data(vec![json!("héllo\n")]),
        };
        let body = parse(events_json(std::slice::from_ref(&s), Orient::Dict));
        assert_eq!(
            body,
            json!({"data": [{"name": "sample \"text\"", "kind": "text", "uuid": uuid.to_string(),
                "data": {"step": [1], "timestamp": ["1970-01-01 00:00:00+00:00"], "text": ["héllo\n"]}}]})
        );
        let body = parse(events_json(std::slice::from_ref(&s), Orient::Csv));
        assert_eq!(body["data"][0]["data"], json!(csv(&s)));
        assert_eq!(parse(events_json(&[], Orient::Dict)), json!({"data": []}));
    }
}
