//! Metric and event ingestion rules, pure: the batch as read off the wire ([`IncomingBatch`]), its
//! validation ([`validate`]: all or nothing, nothing stored when one point is wrong), event names
//! ([`check_name`]), and the per-name summary of a batch ([`summarize`]) merged into the stored one.

use std::collections::HashMap;
use std::fmt;

use myelin_contracts::tracking::{EventKind, EventPoint, MetricPoint, SeriesPoint};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// Longest event name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// A metric value as sent. Anything but a JSON number is kept as [`Loose::NotANumber`] so the batch
/// is refused with `tracker.invalid_metric` (naming the point) rather than as an unreadable body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loose {
    Number(f64),
    NotANumber,
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LooseVisitor;
        impl<'de> Visitor<'de> for LooseVisitor {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose::Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Loose, E> {
                Ok(Loose::NotANumber)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose, E> {
                Ok(Loose::NotANumber)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
                Ok(Loose::NotANumber)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::NotANumber)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::NotANumber)
            }
        }
        deserializer.deserialize_any(LooseVisitor)
    }
}

/// One metric point as sent (the wire shape of [`MetricPoint`], with a loose value).
#[derive(Debug, Clone, Deserialize)]
pub struct IncomingMetric {
    pub name: String,
    pub value: Loose,
    #[serde(default)]
    pub step: Option<i64>,
    #[serde(default)]
    pub timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

/// The body of `POST .../runs/{uuid}/events` as read (the wire shape of `EventsBatch`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IncomingBatch {
    #[serde(default)]
    pub metrics: Vec<IncomingMetric>,
    #[serde(default)]
    pub events: Vec<EventPoint>,
}

/// A validated batch: finite metric values (events of kind `metric` moved here), valid names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub metrics: Vec<MetricPoint>,
    pub events: Vec<EventPoint>,
}

/// Why a name is refused, or `Ok`. Names may hold `/` (`train/loss`) but no empty name, no more than
/// [`MAX_NAME_BYTES`], no whitespace, control character or backslash, and no `..` segment.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return Err("the name is longer than 256 bytes");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err("the name holds whitespace, a control character or a backslash");
    }
    if name.split('/').any(|segment| segment == "..") {
        return Err("the name holds a `..` segment");
    }
    Ok(())
}

fn bad_name(field: &'static str, index: usize, name: &str, why: &str) -> Error {
    Error::InvalidEventName {
        field,
        index,
        name: name.to_owned(),
        reason: why.to_owned(),
    }
}

fn bad_metric(field: &'static str, index: usize, name: &str) -> Error {
    Error::InvalidMetric {
        field,
        index,
        name: name.to_owned(),
    }
}

/// Checks a whole batch before anything is stored: its size (at most `max_points`), every name, every
/// metric value (a finite number). Timestamps are truncated to microseconds (what PostgreSQL keeps).
pub fn validate(batch: IncomingBatch, max_points: usize) -> Result<Batch, Error> {
    let points = batch.metrics.len() + batch.events.len();
    if points > max_points {
        return Err(Error::BatchTooLarge { points, max_points });
    }
    let mut metrics = Vec::with_capacity(batch.metrics.len());
    for (index, m) in batch.metrics.into_iter().enumerate() {
        check_name(&m.name).map_err(|why| bad_name("metrics", index, &m.name, why))?;
        let value = match m.value {
            Loose::Number(v) if v.is_finite() => v,
            _ => return Err(bad_metric("metrics", index, &m.name)),
        };
        metrics.push(MetricPoint {
            name: m.name,
            value,
            step: m.step,
            timestamp: m.timestamp.map(micros),
        });
    }
    let mut events = Vec::with_capacity(batch.events.len());
    for (index, e) in batch.events.into_iter().enumerate() {
        check_name(&e.name).map_err(|why| bad_name("events", index, &e.name, why))?;
        if e.kind == EventKind::Metric {
            let value = finite(&e.data).ok_or_else(|| bad_metric("events", index, &e.name))?;
            metrics.push(MetricPoint {
                name: e.name,
                value,
                step: e.step,
                timestamp: e.timestamp.map(micros),
            });
        } else {
            events.push(EventPoint {
                timestamp: e.timestamp.map(micros),
                ..e
            });
        }
    }
    Ok(Batch { metrics, events })
}

/// A JSON value that is a finite number.
pub fn finite(value: &Value) -> Option<f64> {
    value.as_f64().filter(|v| v.is_finite())
}

/// `t` truncated to microseconds.
pub fn micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(t, 6)
}

/// A collected metric point: `(step, timestamp, value)`.
pub type CollectedPoint = (Option<i64>, Option<chrono::DateTime<chrono::Utc>>, f64);

/// The collected metric points of a series with a finite number as value, and how many were dropped.
pub fn collected_metrics(points: &[SeriesPoint]) -> (Vec<CollectedPoint>, usize) {
    let kept: Vec<_> = points
        .iter()
        .filter_map(|p| finite(&p.value).map(|v| (p.step, p.timestamp.map(micros), v)))
        .collect();
    let dropped = points.len() - kept.len();
    (kept, dropped)
}

/// What a batch adds to the summary of one metric name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryDelta {
    pub name: String,
    /// The value of the point with the greatest step (ties, or points without step: the latest sent).
    pub last: f64,
    pub last_step: Option<i64>,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
}

impl SummaryDelta {
    fn new(name: &str, step: Option<i64>, value: f64) -> Self {
        Self {
            name: name.to_owned(),
            last: value,
            last_step: step,
            min: value,
            max: value,
            sum: value,
            count: 1,
        }
    }

    fn add(&mut self, step: Option<i64>, value: f64) {
        if replaces_last(step, self.last_step) {
            self.last = value;
            self.last_step = step;
        }
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
    }
}

/// Whether a point at `step`, arriving after the current last point (at `last_step`), becomes the last:
/// when its step is not smaller, or when either has no step. The store's upsert applies the same rule.
pub fn replaces_last(step: Option<i64>, last_step: Option<i64>) -> bool {
    match (step, last_step) {
        (Some(step), Some(last)) => step >= last,
        _ => true,
    }
}

/// The per-name summaries of `points` (`(name, step, value)` in the order sent), sorted by name (the
/// order rows are upserted in, so concurrent batches lock them in the same order).
pub fn summarize<'a>(points: impl IntoIterator<Item = (&'a str, Option<i64>, f64)>) -> Vec<SummaryDelta> {
    let mut by_name: HashMap<&str, SummaryDelta> = HashMap::new();
    for (name, step, value) in points {
        match by_name.get_mut(name) {
            Some(delta) => delta.add(step, value),
            None => {
                by_name.insert(name, SummaryDelta::new(name, step, value));
            }
        }
    }
    let mut out: Vec<SummaryDelta> = by_name.into_values().collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn incoming(body: Value) -> IncomingBatch {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn names() {
        for ok in ["loss", "train/loss", "a.b", "val_acc@1", "x..y"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        let long = "x".repeat(257);
        for bad in [
            "",
            "has space",
            "tab\t",
            "nl\n",
            "../up",
            "a/../b",
            "a/..",
            "back\\slash",
            &long,
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_must_be_finite_numbers() {
        let ok = validate(
            incoming(json!({"metrics": [{"name": "m", "value": 1}, {"name": "m", "value": 0.5}]})),
            10,
        );
        assert_eq!(ok.unwrap().metrics.len(), 2);
        for bad in [
            json!("NaN"),
            json!("Infinity"),
            json!("1.5"),
            json!(null),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ] {
            let err = validate(
                incoming(json!({"metrics": [{"name": "m", "value": 1}, {"name": "n", "value": bad}]})),
                10,
            );
            assert!(
                matches!(err, Err(Error::InvalidMetric { index: 1, ref name, .. }) if name == "n"),
                "{err:?}"
            );
        }
        let huge = serde_json::from_str::<IncomingBatch>(r#"{"metrics": [{"name": "m", "value": 1e999}]}"#);
        assert!(huge.is_err(), "out-of-range numbers are not JSON numbers serde accepts");
    }

    #[test]
    fn metric_events_join_the_metrics_and_limits_hold() {
        let batch = validate(
            incoming(json!({"events": [
                {"kind": "metric", "name": "acc", "data": 0.9, "step": 3},
                {"kind": "image", "name": "img", "data": {"path": "a.png"}},
            ]})),
            10,
        )
        .unwrap();
        assert_eq!(batch.metrics[0].value, 0.9);
        assert_eq!(batch.events.len(), 1);
        let err = validate(
            incoming(json!({"events": [{"kind": "metric", "name": "acc", "data": "x"}]})),
            10,
        );
        assert!(matches!(err, Err(Error::InvalidMetric { field: "events", .. })));
        let err = validate(
            incoming(json!({"events": [{"kind": "text", "name": "a b", "data": "x"}]})),
            10,
        );
        assert!(matches!(
            err,
            Err(Error::InvalidEventName {
                field: "events",
                index: 0,
                ..
            })
        ));
        let err = validate(
            incoming(json!({"metrics": [{"name": "m", "value": 1}, {"name": "m", "value": 2}]})),
            1,
        );
        assert!(matches!(
            err,
            Err(Error::BatchTooLarge {
                points: 2,
                max_points: 1
            })
        ));
    }

    #[test]
    fn summaries_follow_the_greatest_step() {
        let points = [
            ("loss", Some(0), 1.0),
            ("acc", None, 0.1),
            ("loss", Some(5), 0.2),
            ("loss", Some(3), 0.5),
            ("acc", None, 0.3),
            ("loss", Some(5), 0.25),
        ];
        let out = summarize(points);
        assert_eq!(out.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["acc", "loss"]);
        let loss = &out[1];
        assert_eq!((loss.last, loss.last_step), (0.25, Some(5)), "ties: latest sent");
        assert_eq!((loss.min, loss.max, loss.count), (0.2, 1.0, 4));
        assert!((loss.sum - 1.95).abs() < 1e-12);
        assert_eq!((out[0].last, out[0].last_step), (0.3, None));
    }
}
