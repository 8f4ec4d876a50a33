//! Wire types of tracking: metric and event ingestion (`POST /api/v1/{owner}/{project}/runs/{uuid}/events`),
//! series collected from traceml `.plx` files (`run.events.collected` on the bus), metric summaries,
//! reads in Polyaxon's shape (`GET /streams/v1/{ns}/{owner}/{project}/runs/{uuid}/events/{kind}`), and
//! artifact lineage (`/api/v1/{owner}/{project}/runs/{uuid}/lineage/artifacts`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::RunUuid;
use crate::run::RunKind;
use crate::status::Statuses;

/// Routing key of [`SeriesCollected`] (published on `myelin.events` by executors and the logs service).
pub const RUN_EVENTS_COLLECTED: &str = "run.events.collected";

/// The queue the tracker consumes collected series from (bound to [`RUN_EVENTS_COLLECTED`]).
pub const TRACKER_COLLECTED_QUEUE: &str = "myelin.tracker.collected-events";

/// Every event kind traceml writes (and Polyaxon's `V1ArtifactKind` for events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Metric,
    Image,
    Histogram,
    Audio,
    Video,
    Text,
    Html,
    Chart,
    Curve,
    Confusion,
    Dataframe,
    Model,
    Artifact,
    Span,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 14] = [
        EventKind::Metric,
        EventKind::Image,
        EventKind::Histogram,
        EventKind::Audio,
        EventKind::Video,
        EventKind::Text,
        EventKind::Html,
        EventKind::Chart,
        EventKind::Curve,
        EventKind::Confusion,
        EventKind::Dataframe,
        EventKind::Model,
        EventKind::Artifact,
        EventKind::Span,
    ];

    /// The lowercase name (`metric`), also the folder name under `events/` in traceml's layout.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Metric => "metric",
            EventKind::Image => "image",
            EventKind::Histogram => "histogram",
            EventKind::Audio => "audio",
            EventKind::Video => "video",
            EventKind::Text => "text",
            EventKind::Html => "html",
            EventKind::Chart => "chart",
            EventKind::Curve => "curve",
            EventKind::Confusion => "confusion",
            EventKind::Dataframe => "dataframe",
            EventKind::Model => "model",
            EventKind::Artifact => "artifact",
            EventKind::Span => "span",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown event kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an event kind (metric, image, histogram, audio, video, text, html, chart, curve, confusion, dataframe, model, artifact, span)"
)]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

/// One metric value. `step` and `timestamp` are optional on the way in (the tracker fills the
/// timestamp with the time of ingestion).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricPoint {
    pub name: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// One event of a non-metric kind; `data` is traceml's JSON for that kind (e.g. `{"path": ...}` for an
/// image, `{"values": [...], "counts": [...]}` for a histogram).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventPoint {
    pub kind: EventKind,
    pub name: String,
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// The body of `POST /api/v1/{owner}/{project}/runs/{uuid}/events`: thousands of points at once,
/// stored all or nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventsBatch {
    #[serde(default)]
    pub metrics: Vec<MetricPoint>,
    #[serde(default)]
    pub events: Vec<EventPoint>,
}

impl EventsBatch {
    /// Points in the batch, metrics and events together.
    pub fn len(&self) -> usize {
        self.metrics.len() + self.events.len()
    }

    /// True when the batch carries nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The answer to an ingestion: how many points were stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventsIngested {
    pub metrics: u64,
    pub events: u64,
    /// The batch's `Idempotency-Key` was already stored for this run: nothing was stored again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// One point of a collected series; `value` is a number for metrics, traceml's JSON otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// A whole series read from a traceml `.plx` file (by the executor's collector, or from a file the
/// polyaxon client uploaded). It *replaces* what an earlier collection of the same
/// `(run, kind, name)` stored, so collecting a file again is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesCollected {
    pub owner: String,
    pub project: String,
    pub run: RunUuid,
    pub kind: EventKind,
    pub name: String,
    pub points: Vec<SeriesPoint>,
}

/// Per-run, per-name metric summary maintained on write (`GET .../runs/{uuid}/metrics/summary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricSummary {
    pub name: String,
    pub last: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<i64>,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

/// `{"results": [...]}` of the metric summaries of one run, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricSummaries {
    pub results: Vec<MetricSummary>,
}

/// One series in Polyaxon's events answer: `{"name", "kind", "data"}`; with `orient=dict`, `data` is
/// `{"step": [...], "timestamp": [...], "metric": [...]}` (the last key is the kind); with
/// `orient=csv` it is traceml's `timestamp|step|<kind>` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventSeries {
    pub name: String,
    pub kind: EventKind,
    #[schema(value_type = Object)]
    pub data: Value,
    /// The run the series belongs to (multi-run reads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<RunUuid>,
}

/// `{"data": [series...]}`, the answer of the events reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventsResponse {
    pub data: Vec<EventSeries>,
}

/// One lineage artifact (Polyaxon's `V1RunArtifact`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunArtifact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunUuid>,
    #[serde(default)]
    pub is_input: bool,
}

/// The body of `POST .../lineage/artifacts` (Polyaxon's `V1RunArtifacts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunArtifacts {
    #[serde(default)]
    pub artifacts: Vec<RunArtifact>,
}

/// One entry of `GET .../lineage/artifacts/names`: `{"name": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunArtifactName {
    pub name: String,
}

/// A run as the lineage edges name it: the `V1Run` fields that identify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunRef {
    pub uuid: RunUuid,
    #[serde(default)]
    pub name: Option<String>,
    pub status: Statuses,
    pub kind: RunKind,
}

/// One edge of `GET .../lineage/upstream|downstream` (Polyaxon's `V1RunEdge`): `upstream` produced an
/// artifact (an output) at a path `downstream` consumed (an input); `values` is `{"paths": [...]}`,
/// the shared artifact paths, sorted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunEdge {
    pub upstream: RunRef,
    pub downstream: RunRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub values: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_str_and_serde() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
        assert!("metrics".parse::<EventKind>().is_err());
    }

    #[test]
    fn a_batch_reads_with_optional_fields_left_out() {
        let batch: EventsBatch = serde_json::from_str(r#"{"metrics": [{"name": "loss", "value": 0.5}]}"#).unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.metrics[0].step, None);
        assert!(batch.events.is_empty());
    }
}
