//! traceml's `.plx` event files: what `polyaxon.tracking` writes under `<run>/events/<kind>/<name>.plx`.
//!
//! Two layouts exist, both read by [`parse`]:
//! - pipe-separated text with a header naming the columns, in either order: `timestamp|step|metric`
//!   or `step|timestamp|metric` (the value column is always last, so a value may contain `|`);
//!   a missing step is an empty cell (`|2018-12-11T10:24:57|{...}`);
//! - JSON lines, one object per event: `{"timestamp": "...", "step": 12, "span": "..."}` (`step`
//!   may be absent).
//!
//! Timestamps are ISO 8601 with a `T` or a space; naive ones (`2018-12-11T10:24:57`) are UTC.
//! Metric values become JSON numbers and non-finite ones (`nan`, `inf`) are dropped. Other kinds keep
//! traceml's JSON; a JSON document stored as a string (as spans are) is decoded. A last line without
//! its newline that does not parse is a write in progress and is ignored.

use chrono::{DateTime, NaiveDateTime, Utc};
use myelin_contracts::tracking::{EventKind, SeriesPoint};
use serde_json::{Map, Number, Value};

/// The folder of event files inside a run's artifacts.
pub const EVENTS_DIR: &str = "events";

/// The extension of traceml's event files.
pub const EXTENSION: &str = ".plx";

/// Why a `.plx` file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The header is not `timestamp|step|<kind>` (in some order, the kind last).
    #[error("unsupported header `{header}`: expected `timestamp|step|{kind}` columns with `{kind}` last")]
    Header { header: String, kind: EventKind },
    /// A line could not be read.
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
}

/// The folder of the resource usage files the polyaxon client writes (`resources/metric/cpu.plx`).
pub const RESOURCES_DIR: &str = "resources";

/// Prefix of the series names given to resource usage (`resources/metric/cpu.plx` → `sys/cpu`), so
/// system metrics sit beside the run's own metrics without colliding with them (MLflow names them
/// `system/...` likewise).
pub const RESOURCE_PREFIX: &str = "sys/";

/// The series kind and name of an event file path relative to a run (`events/metric/loss.plx` →
/// `(Metric, "loss")`; names may contain `/`), or of a resource usage file
/// (`resources/metric/cpu.plx` → `(Metric, "sys/cpu")`). None for any other path.
pub fn series_path(path: &str) -> Option<(EventKind, String)> {
    let (rest, prefix) = match path.strip_prefix(EVENTS_DIR) {
        Some(rest) => (rest, ""),
        None => (path.strip_prefix(RESOURCES_DIR)?, RESOURCE_PREFIX),
    };
    let rest = rest.strip_prefix('/')?;
    let (kind, file) = rest.split_once('/')?;
    let kind = kind.parse().ok()?;
    let name = file.strip_suffix(EXTENSION)?;
    let bad_segment = |s: &str| s.is_empty() || s == "." || s == "..";
    if name.split('/').any(bad_segment) {
        return None;
    }
    Some((kind, format!("{prefix}{name}")))
}

/// The points of a `.plx` file of `kind`, in file order.
pub fn parse(kind: EventKind, text: &str) -> Result<Vec<SeriesPoint>, Error> {
    let complete = text.ends_with('\n');
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    let Some(&(_, first)) = lines.first() else {
        return Ok(Vec::new());
    };
    let last_line = lines.last().map(|(n, _)| *n);
    let mut points = Vec::with_capacity(lines.len());
    let (columns, rows) = if first.trim_start().starts_with('{') {
        (None, &lines[..])
    } else {
        (Some(Columns::parse(first, kind)?), &lines[1..])
    };
    for &(number, line) in rows {
        let parsed = match &columns {
            Some(columns) => columns.row(kind, line),
            None => json_row(kind, line),
        };
        match parsed {
            Ok(Some(point)) => points.push(point),
            Ok(None) => {}
            // A partly written last line: the writer is still at it.
            Err(_) if !complete && Some(number) == last_line => {}
            Err(reason) => return Err(Error::Line { line: number, reason }),
        }
    }
    Ok(points)
}

/// Where the step and timestamp sit in a pipe-separated row (the value is the last column).
struct Columns {
    count: usize,
    step: Option<usize>,
    timestamp: Option<usize>,
}

impl Columns {
    fn parse(header: &str, kind: EventKind) -> Result<Self, Error> {
        let names: Vec<&str> = header.split('|').map(str::trim).collect();
        let bad = || Error::Header {
            header: header.chars().take(200).collect(),
            kind,
        };
        let (value, rest) = names.split_last().ok_or_else(bad)?;
        if *value != kind.as_str() || rest.is_empty() || rest.len() > 2 {
            return Err(bad());
        }
        let position = |name: &str| rest.iter().position(|n| *n == name);
        let columns = Columns {
            count: names.len(),
            step: position("step"),
            timestamp: position("timestamp"),
        };
        if columns.timestamp.is_none() || (rest.len() == 2 && columns.step.is_none()) {
            return Err(bad());
        }
        Ok(columns)
    }

    fn row(&self, kind: EventKind, line: &str) -> Result<Option<SeriesPoint>, String> {
        let cells: Vec<&str> = line.splitn(self.count, '|').collect();
        if cells.len() != self.count {
            return Err(format!("expected {} `|`-separated columns", self.count));
        }
        let step = self.step.map(|i| parse_step(cells[i])).transpose()?.flatten();
        let timestamp = self.timestamp.map(|i| parse_timestamp(cells[i])).transpose()?.flatten();
        let raw = cells[self.count - 1];
        let value = match kind {
            EventKind::Metric => metric(
                raw.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{raw}` is not a number"))?,
            ),
            _ => Some(event_value(
                kind,
                serde_json::from_str(raw).unwrap_or_else(|_| Value::from(raw)),
            )),
        };
        Ok(value.map(|value| SeriesPoint { step, timestamp, value }))
    }
}

fn json_row(kind: EventKind, line: &str) -> Result<Option<SeriesPoint>, String> {
    let mut object: Map<String, Value> = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let step = match object.remove("step") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => step_of_number(&n)?,
        Some(Value::String(s)) => parse_step(&s)?,
        Some(other) => return Err(format!("`step` must be an integer, got {other}")),
    };
    let timestamp = match object.remove("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse_timestamp(&s)?,
        Some(other) => return Err(format!("`timestamp` must be a string, got {other}")),
    };
    let raw = object
        .remove(kind.as_str())
        .ok_or_else(|| format!("no `{}` field", kind.as_str()))?;
    let value = match (kind, raw) {
        (EventKind::Metric, Value::Number(n)) => metric(n.as_f64().unwrap_or(f64::NAN)),
        (EventKind::Metric, Value::String(s)) => {
            metric(s.trim().parse::<f64>().map_err(|_| format!("`{s}` is not a number"))?)
        }
        (EventKind::Metric, Value::Null) => None,
        (EventKind::Metric, other) => return Err(format!("a metric must be a number, got {other}")),
        (kind, raw) => Some(event_value(kind, raw)),
    };
    Ok(value.map(|value| SeriesPoint { step, timestamp, value }))
}

/// A finite metric as a JSON number; None (dropped) otherwise.
fn metric(value: f64) -> Option<Value> {
    Number::from_f64(value).map(Value::Number)
}

/// traceml's JSON for an event; a JSON object or array stored as a string is decoded (except for
/// text and html, whose values are strings).
fn event_value(kind: EventKind, value: Value) -> Value {
    if matches!(kind, EventKind::Text | EventKind::Html) {
        return value;
    }
    match value {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(&s).unwrap_or(Value::String(s))
        }
        other => other,
    }
}

/// Cells Python and pandas write for "no value".
fn is_missing(cell: &str) -> bool {
    matches!(cell, "" | "None" | "null" | "nan" | "NaN" | "NaT")
}

fn parse_step(cell: &str) -> Result<Option<i64>, String> {
    let cell = cell.trim();
    if is_missing(cell) {
        return Ok(None);
    }
    if let Ok(step) = cell.parse::<i64>() {
        return Ok(Some(step));
    }
    match cell.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(format!("step `{cell}` is not an integer")),
    }
}

fn step_of_number(n: &Number) -> Result<Option<i64>, String> {
    match (n.as_i64(), n.as_f64()) {
        (Some(step), _) => Ok(Some(step)),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(format!("step `{n}` is not an integer")),
    }
}

/// ISO 8601 with `T` or a space, with or without an offset (naive is UTC).
fn parse_timestamp(cell: &str) -> Result<Option<DateTime<Utc>>, String> {
    let cell = cell.trim();
    if is_missing(cell) {
        return Ok(None);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(time) = DateTime::parse_from_str(cell, format) {
            return Ok(Some(time.with_timezone(&Utc)));
        }
    }
    let naive = cell.strip_suffix('Z').unwrap_or(cell);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(naive, format) {
            return Ok(Some(time.and_utc()));
        }
    }
    Err(format!("`{cell}` is not an ISO 8601 timestamp"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    /// Every sample file of `testdata/traceml-events`, with its kind.
    const SAMPLES: &[(EventKind, &str, &str)] = &[
        (
            EventKind::Artifact,
            "artifact/artifact_events.plx",
            include_str!("../testdata/traceml-events/artifact/artifact_events.plx"),
        ),
        (
            EventKind::Audio,
            "audio/audio_events.plx",
            include_str!("../testdata/traceml-events/audio/audio_events.plx"),
        ),
        (
            EventKind::Chart,
            "chart/chart_events.plx",
            include_str!("../testdata/traceml-events/chart/chart_events.plx"),
        ),
        (
            EventKind::Confusion,
            "confusion/confusion_events.plx",
            include_str!("../testdata/traceml-events/confusion/confusion_events.plx"),
        ),
        (
            EventKind::Curve,
            "curve/curve_events.plx",
            include_str!("../testdata/traceml-events/curve/curve_events.plx"),
        ),
        (
            EventKind::Dataframe,
            "dataframe/dataframe_events.plx",
            include_str!("../testdata/traceml-events/dataframe/dataframe_events.plx"),
        ),
        (
            EventKind::Histogram,
            "histogram/histogram_events.plx",
            include_str!("../testdata/traceml-events/histogram/histogram_events.plx"),
        ),
        (
            EventKind::Html,
            "html/html_events.plx",
            include_str!("../testdata/traceml-events/html/html_events.plx"),
        ),
        (
            EventKind::Image,
            "image/image_events.plx",
            include_str!("../testdata/traceml-events/image/image_events.plx"),
        ),
        (
            EventKind::Metric,
            "metric/metric_events.plx",
            include_str!("../testdata/traceml-events/metric/metric_events.plx"),
        ),
        (
            EventKind::Model,
            "model/model_events.plx",
            include_str!("../testdata/traceml-events/model/model_events.plx"),
        ),
        (
            EventKind::Model,
            "model/model_events_without_step.plx",
            include_str!("../testdata/traceml-events/model/model_events_without_step.plx"),
        ),
        (
            EventKind::Span,
            "span/span_events.plx",
            include_str!("../testdata/traceml-events/span/span_events.plx"),
        ),
        (
            EventKind::Span,
            "span/span_events_without_step.plx",
            include_str!("../testdata/traceml-events/span/span_events_without_step.plx"),
        ),
        (
            EventKind::Video,
            "video/video_events.plx",
            include_str!("../testdata/traceml-events/video/video_events.plx"),
        ),
    ];

    fn at(minute: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2018, 12, 11, 10, minute, 57).unwrap())
    }

    fn sample(path: &str) -> Vec<SeriesPoint> {
        let (kind, _, text) = SAMPLES.iter().find(|(_, p, _)| *p == path).unwrap();
        parse(*kind, text).unwrap()
    }

    #[test]
    fn every_sample_file_is_covered_and_parses() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/traceml-events");
        let mut on_disk = Vec::new();
        for dir in std::fs::read_dir(root).unwrap() {
            let dir = dir.unwrap();
            for file in std::fs::read_dir(dir.path()).unwrap() {
                let name = file.unwrap().file_name().into_string().unwrap();
                on_disk.push(format!("{}/{name}", dir.file_name().into_string().unwrap()));
            }
        }
        on_disk.sort();
        let mut covered: Vec<String> = SAMPLES.iter().map(|(_, p, _)| (*p).to_owned()).collect();
        covered.sort();
        assert_eq!(on_disk, covered);
        for (kind, path, text) in SAMPLES {
            let points = parse(*kind, text).unwrap_or_else(|e| panic!("{path}: {e}"));
            let expected = if path.contains("model_events_without_step") {
                1
            } else {
                3
            };
            assert_eq!(points.len(), expected, "{path}");
            assert_eq!(points[0].timestamp, at(24), "{path}");
            let stepless = path.contains("without_step");
            assert_eq!(points[0].step, if stepless { None } else { Some(12) }, "{path}");
            if *kind != EventKind::Metric {
                assert!(
                    points.iter().all(|p| p.value.is_object() || p.value.is_string()),
                    "{path}"
                );
            }
        }
    }

    #[test]
    fn samples_keep_their_values() {
        let metric = sample("metric/metric_events.plx");
        let values: Vec<_> = metric.iter().map(|p| (p.step, p.timestamp, p.value.clone())).collect();
        assert_eq!(
            values,
            [
                (Some(12), at(24), json!(0.1)),
                (Some(13), at(25), json!(0.2)),
                (Some(14), at(26), json!(0.3))
            ]
        );
        let histogram = sample("histogram/histogram_events.plx");
        assert_eq!(
            histogram[2].value,
            json!({"values": [10, 112, 12, 1], "counts": [12, 1, 1, 1]})
        );
        assert_eq!(sample("html/html_events.plx")[1].value, json!("<div>2</div>"));
        let artifact = sample("artifact/artifact_events.plx");
        assert_eq!(artifact[1].value, json!({"kind": "tsv", "path": "path2"}));
        let model = sample("model/model_events_without_step.plx");
        assert_eq!(model[0].value, json!({"framework": "tensorflow", "path": "path1"}));
        for path in ["span/span_events.plx", "span/span_events_without_step.plx"] {
            let spans = sample(path);
            assert_eq!(spans[1].value["name"], json!("span2"), "{path}: spans are decoded");
            assert_eq!(spans[1].value["inputs"], json!({"key": "value"}));
            assert_eq!(spans[2].timestamp, at(26));
        }
        assert_eq!(sample("span/span_events.plx")[2].step, Some(14));
    }

    #[test]
    fn reads_what_the_polyaxon_client_uploads() {
        // Header in the other order, offset timestamps with microseconds, and an empty step.
        let text = "step|timestamp|metric\n0|2026-12-04 20:21:06.458805+00:00|1.0\n|2026-12-04 20:21:06.5+02:00|0.5\n";
        let points = parse(EventKind::Metric, text).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].step, Some(0));
        let first = Utc.with_ymd_and_hms(2026, 12, 4, 20, 21, 6).unwrap() + chrono::Duration::microseconds(458_805);
        assert_eq!(points[0].timestamp, Some(first));
        assert_eq!(points[0].value, json!(1.0));
        assert_eq!(points[1].step, None);
        let second = Utc.with_ymd_and_hms(2026, 12, 4, 18, 21, 6).unwrap() + chrono::Duration::milliseconds(500);
        assert_eq!(points[1].timestamp, Some(second));
    }

    #[test]
    fn non_finite_metrics_are_dropped_and_partial_last_lines_ignored() {
        let text = "timestamp|step|metric\n2018-12-11T10:24:57|1|nan\n2018-12-11T10:24:57|2|inf\n2018-12-11T10:24:57|3|-Infinity\n2018-12-11T10:24:57|4|2\n2018-12-11T10:24:5";
        let points = parse(EventKind::Metric, text).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!((points[0].step, points[0].value.clone()), (Some(4), json!(2.0)));
        let json_lines = "{\"timestamp\": \"2018-12-11T10:24:57Z\", \"step\": 1.0, \"metric\": \"NaN\"}\n{\"step\": 2, \"metric\": 3}\n";
        let points = parse(EventKind::Metric, json_lines).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!(
            (points[0].step, points[0].timestamp, points[0].value.clone()),
            (Some(2), None, json!(3.0))
        );
        assert!(parse(EventKind::Metric, "").unwrap().is_empty());
        assert!(parse(EventKind::Metric, "timestamp|step|metric\n").unwrap().is_empty());
        // A value may contain the separator.
        let text = "timestamp|step|text\n2018-12-11T10:24:57|1|a|b\n";
        assert_eq!(parse(EventKind::Text, text).unwrap()[0].value, json!("a|b"));
    }

    #[test]
    fn bad_files_say_where() {
        let header = parse(EventKind::Metric, "timestamp|step|image\n2018-12-11T10:24:57|1|{}\n").unwrap_err();
        assert!(matches!(header, Error::Header { .. }), "{header}");
        assert!(matches!(
            parse(EventKind::Metric, "step|metric\n1|2\n"),
            Err(Error::Header { .. })
        ));
        let cases = [
            (
                "timestamp|step|metric\n2018-12-11T10:24:57|1|0.5\n2018-12-11T10:24:57|x|0.5\n",
                3,
            ),
            ("timestamp|step|metric\n\n2018-12-11T10:24:57|1|abc\n", 3),
            ("timestamp|step|metric\nyesterday|1|0.5\n", 2),
            ("timestamp|step|metric\n2018-12-11T10:24:57|1\n", 2),
            ("{\"step\": 1, \"metric\": 0.5}\n{\"step\": 1}\n", 2),
            ("{\"step\": 1.5, \"metric\": 0.5}\n", 1),
            ("{\"step\": 1, \"metric\": 0.5}\nnot json\n", 2),
        ];
        for (text, line) in cases {
            match parse(EventKind::Metric, text) {
                Err(Error::Line { line: got, .. }) => assert_eq!(got, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn series_paths_are_recognised() {
        assert_eq!(
            series_path("events/metric/loss.plx"),
            Some((EventKind::Metric, "loss".to_owned()))
        );
        assert_eq!(
            series_path("events/image/train/sample.plx"),
            Some((EventKind::Image, "train/sample".to_owned()))
        );
        assert_eq!(
            series_path("resources/metric/cpu.plx"),
            Some((EventKind::Metric, "sys/cpu".to_owned()))
        );
        for other in [
            "resources/metric/../cpu.plx",
            "resourcesx/metric/cpu.plx",
            "events/metric/loss.csv",
            "events/metrics/loss.plx",
            "events/metric/.plx",
            "events/metric//x.plx",
            "events/metric/../x.plx",
            "outputs/events/metric/loss.plx",
            "events/metric.plx",
        ] {
            assert_eq!(series_path(other), None, "{other}");
        }
    }
}
