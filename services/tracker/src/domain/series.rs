//! Series as read back, pure: columns ([`Series`]), downsampling them ([`Series::sample`]), the read
//! options, timestamps as Python prints them, and traceml's `timestamp|step|<kind>` text (`orient=csv`).
//! The JSON body of a read is `super::series_json`.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use myelin_contracts::RunUuid;
use myelin_contracts::tracking::EventKind;
use serde::Deserialize;
use serde_json::Value;

use super::sampling::{self, Method};
use crate::error::Error;

/// The values of a series: numbers for metrics, traceml's JSON for the other kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Metric(Vec<f64>),
    Data(Vec<Value>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Metric(v) => v.len(),
            Values::Data(v) => v.len(),
        }
    }
}

/// One series, in step then timestamp order, as columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub kind: EventKind,
    /// The run (multi-run reads only).
    pub uuid: Option<RunUuid>,
    pub steps: Vec<Option<i64>>,
    pub timestamps: Vec<DateTime<Utc>>,
    pub values: Values,
}

impl Series {
    /// Points in the series.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True without points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps at most `n` points chosen by `method` (metrics only; other kinds are left whole). The x
    /// axis is the step when every point has one, else the position.
    pub fn sample(&mut self, n: usize, method: Method) {
        let Values::Metric(values) = &self.values else {
            return;
        };
        if values.len() <= n {
            return;
        }
        let x: Vec<f64> = if self.steps.iter().all(Option::is_some) {
            self.steps.iter().map(|s| s.unwrap_or_default() as f64).collect()
        } else {
            (0..values.len()).map(|i| i as f64).collect()
        };
        let keep = sampling::sample(&x, values, n, method);
        let values = keep.iter().map(|&i| values[i]).collect();
        self.steps = keep.iter().map(|&i| self.steps[i]).collect();
        self.timestamps = keep.iter().map(|&i| self.timestamps[i]).collect();
        self.values = Values::Metric(values);
    }
}

/// Python's `str(datetime)` of a UTC time: `2026-12-04 20:21:06.458805+00:00`, without the fraction
/// when it is zero.
pub struct PyTime(pub DateTime<Utc>);

impl fmt::Display for PyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_time(f, self.0, ' ')
    }
}

/// Python's `datetime.isoformat()` of a UTC time (traceml's files): `2026-12-04T20:21:06.458805+00:00`.
pub struct IsoTime(pub DateTime<Utc>);

impl fmt::Display for IsoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_time(f, self.0, 'T')
    }
}

fn write_time(f: &mut impl fmt::Write, t: DateTime<Utc>, sep: char) -> fmt::Result {
    let year = t.year();
    let micros = t.timestamp_subsec_micros();
    if !(0..=9999).contains(&year) || !sep.is_ascii() {
        write!(
            f,
            "{year:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        return f.write_str("+00:00");
    }
    // The common case, digit by digit into a stack buffer and written at once (a read formats tens of
    // thousands of these).
    let mut buf = [0u8; 40];
    let mut n = 0;
    let mut digits = |buf: &mut [u8; 40], value: u32, width: u32, after: Option<u8>| {
        for i in (0..width).rev() {
            buf[n] = b'0' + ((value / 10u32.pow(i)) % 10) as u8;
            n += 1;
        }
        if let Some(c) = after {
            buf[n] = c;
            n += 1;
        }
    };
    digits(&mut buf, year.unsigned_abs(), 4, Some(b'-'));
    digits(&mut buf, t.month(), 2, Some(b'-'));
    digits(&mut buf, t.day(), 2, Some(sep as u8));
    digits(&mut buf, t.hour(), 2, Some(b':'));
    digits(&mut buf, t.minute(), 2, Some(b':'));
    digits(&mut buf, t.second(), 2, (micros != 0).then_some(b'.'));
    if micros != 0 {
        digits(&mut buf, micros, 6, None);
    }
    for &c in b"+00:00" {
        digits(&mut buf, 0, 0, Some(c));
    }
    f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
}

/// `orient`: how each series' `data` is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orient {
    /// `{"step": [...], "timestamp": [...], "<kind>": [...]}` (the default).
    #[default]
    Dict,
    /// traceml's `timestamp|step|<kind>` text.
    Csv,
}

impl FromStr for Orient {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dict" => Ok(Orient::Dict),
            "csv" => Ok(Orient::Csv),
            other => Err(format!("`{other}` is not an orient (dict, csv)")),
        }
    }
}

/// The query string of the events reads (`force`, `connection` and `status` are accepted and ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReadQuery {
    pub names: Option<String>,
    pub orient: Option<String>,
    pub sample: Option<String>,
    pub sampling: Option<String>,
    pub runs: Option<String>,
}

/// A validated [`ReadQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// Only these names; every name of the kind when `None`.
    pub names: Option<Vec<String>>,
    pub orient: Orient,
    /// Downsample each metric series to at most this many points.
    pub sample: Option<usize>,
    pub method: Method,
}

fn invalid(field: &str, message: String) -> Error {
    Error::bad_field("tracker.invalid_query", field, message)
}

/// Splits a comma-separated list, dropping blanks.
pub fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ReadQuery {
    /// Validates the query: `orient` is `dict` or `csv`, `sample` a number ≥ 3, `sampling` `lttb` or
    /// `minmax`.
    pub fn options(&self) -> Result<ReadOptions, Error> {
        let names = self
            .names
            .as_deref()
            .map(|text| {
                let mut names = list(text);
                let mut seen = std::collections::HashSet::new();
                names.retain(|n| seen.insert(n.clone()));
                names
            })
            .filter(|n| !n.is_empty());
        let orient = match self.orient.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => text.parse().map_err(|e| invalid("orient", e))?,
            None => Orient::Dict,
        };
        let sample = match self.sample.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= sampling::MIN_POINTS => Some(n),
                _ => {
                    return Err(invalid(
                        "sample",
                        format!("`sample` must be a number of points ≥ 3, not `{text}`"),
                    ));
                }
            },
            None => None,
        };
        let method = match self.sampling.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => text.parse().map_err(|e| invalid("sampling", e))?,
            None => Method::default(),
        };
        Ok(ReadOptions {
            names,
            orient,
            sample,
            method,
        })
    }
}

/// traceml's text of a series: `timestamp|step|<kind>` then one line per point (no step → empty).
pub fn csv(series: &Series) -> String {
    let mut out = String::with_capacity(32 + series.len() * 48);
    let _ = writeln!(out, "timestamp|step|{}", series.kind);
    for i in 0..series.len() {
        let _ = write!(out, "{}|", IsoTime(series.timestamps[i]));
        if let Some(step) = series.steps[i] {
            let _ = write!(out, "{step}");
        }
        out.push('|');
        match &series.values {
            Values::Metric(v) => out.push_str(&serde_json::Value::from(v[i]).to_string()),
            Values::Data(v) => out.push_str(&v[i].to_string()),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn loss() -> Series {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 4, 20, 21, 6).unwrap();
        Series {
            name: "loss".into(),
            kind: EventKind::Metric,
            uuid: None,
            steps: vec![Some(0), Some(1)],
            timestamps: vec![t0 + chrono::Duration::microseconds(458_805), t0],
            values: Values::Metric(vec![1.0, 0.3333333333333333]),
        }
    }

    #[test]
    fn dict_is_polyaxons_shape() {
        let s = [loss()];
        let body: Value = serde_json::from_slice(&super::super::series_json::events_json(&s, Orient::Dict)).unwrap();
        assert_eq!(
            body,
            json!({"data": [{"name": "loss", "kind": "metric", "data": {
                "step": [0, 1],
                "timestamp": ["2026-12-04 20:21:06.458805+00:00", "2026-12-04 20:21:06+00:00"],
                "metric": [1.0, 0.3333333333333333],
            }}]})
        );
    }

    #[test]
    fn csv_is_tracemls_text() {
        let mut s = loss();
        s.steps[1] = None;
        assert_eq!(
            csv(&s),
            "timestamp|step|metric\n2026-12-04T20:21:06.458805+00:00|0|1.0\n2026-12-04T20:21:06+00:00||0.3333333333333333\n"
        );
    }

    #[test]
    fn query_options() {
        let q = ReadQuery {
            names: Some("loss, acc,loss".into()),
            sample: Some("100".into()),
            sampling: Some("minmax".into()),
            ..ReadQuery::default()
        };
        let o = q.options().unwrap();
        assert_eq!(o.names, Some(vec!["loss".to_owned(), "acc".to_owned()]));
        assert_eq!(
            (o.orient, o.sample, o.method),
            (Orient::Dict, Some(100), Method::MinMax)
        );
        for bad in [
            ReadQuery {
                orient: Some("table".into()),
                ..ReadQuery::default()
            },
            ReadQuery {
                sample: Some("2".into()),
                ..ReadQuery::default()
            },
            ReadQuery {
                sample: Some("x".into()),
                ..ReadQuery::default()
            },
            ReadQuery {
                sampling: Some("avg".into()),
                ..ReadQuery::default()
            },
        ] {
            assert!(bad.options().is_err(), "{bad:?}");
        }
    }
}
