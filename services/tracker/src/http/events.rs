//! Metric and event routes: batch ingestion `POST /api/v1/{owner}/{project}/runs/{uuid}/events`,
//! `GET .../runs/{uuid}/metrics/summary`, and the reads in Polyaxon's shapes,
//! `GET /streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/events/{kind}` and
//! `GET /streams/v1/{namespace}/{owner}/{project}/runs/multi/events/{kind}?runs=...`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Uri, header};
use myelin_contracts::RunUuid;
use myelin_contracts::tracking::{EventKind, EventsBatch, EventsIngested, EventsResponse, MetricSummaries};

use super::{AppState, Body, ErrorBody, run_uuid};
use crate::context::RequestContext;
use crate::domain::events::{self as domain, IncomingBatch};
use crate::domain::series::{self, ReadQuery};
use crate::domain::series_json;
use crate::error::Error;
use crate::store::{events as store, summaries};

/// Stores a batch of metric points and events, all or nothing (one transaction), and updates the
/// run's metric summaries. A non-finite value is a 400 `tracker.invalid_metric`, a bad name a 400
/// `tracker.invalid_event_name` (both with the point's `index`), more than
/// `tracking.max_batch_points` points a 413 `tracker.batch_too_large`.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/events", tag = "tracking",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = EventsBatch,
    responses(
        (status = 200, body = EventsIngested), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)
    )
)]
pub async fn ingest(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): Path<(String, String, String)>,
    headers: HeaderMap,
    Body(body): Body<IncomingBatch>,
) -> Result<Json<EventsIngested>, Error> {
    let uuid = run_uuid(&uuid)?;
    let key = idempotency_key(&headers)?;
    let batch = domain::validate(body, state.tracking.max_batch_points)?;
    Ok(Json(
        store::ingest(&state.store, &owner, &project, uuid, &batch, key).await?,
    ))
}

/// The `Idempotency-Key` header: 1 to 128 visible ASCII characters, else 400.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let Some(value) = headers.get(myelin_contracts::headers::IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(key)),
        _ => Err(Error::InvalidIdempotencyKey),
    }
}

/// The run's metric summaries (last, min, max, mean, count per name), sorted by name.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/metrics/summary", tag = "tracking",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, body = MetricSummaries), (status = 404, body = ErrorBody))
)]
pub async fn summary(
    State(state): State<AppState>,
    Path((owner, project, uuid)): Path<(String, String, String)>,
) -> Result<Json<MetricSummaries>, Error> {
    Ok(Json(
        summaries::list(&state.store, &owner, &project, run_uuid(&uuid)?).await?,
    ))
}

fn kind(text: &str) -> Result<EventKind, Error> {
    text.parse().map_err(|e: myelin_contracts::tracking::UnknownEventKind| {
        Error::bad_field("tracker.invalid_event_kind", "kind", e.to_string())
    })
}

fn read_query(uri: &Uri) -> Result<ReadQuery, Error> {
    Query::<ReadQuery>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| Error::bad_field("tracker.invalid_query", "query", e.body_text()))
}

async fn answer(
    state: &AppState,
    multi: bool,
    owner: &str,
    project: &str,
    runs: &[RunUuid],
    kind: EventKind,
    uri: &Uri,
) -> Result<Response, Error> {
    let options = read_query(uri)?.options()?;
    let series = store::read(&state.store, owner, project, runs, kind, &options, multi).await?;
    let body = series_json::events_json(&series, options.orient);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The run's series of `kind` (`names=a,b`, default all), in Polyaxon's shape: `orient=dict` (default)
/// `{"data": [{"name", "kind", "data": {"step": [...], "timestamp": [...], "<kind>": [...]}}]}`, or
/// `orient=csv` (traceml's text). `sample=N` (≥ 3) downsamples each metric series to at most N
/// points with `sampling=lttb` (default) or `minmax`, keeping the first, last, min and max points.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/events/{kind}", tag = "tracking",
    params(
        ("namespace" = String, Path), ("owner" = String, Path), ("project" = String, Path),
        ("uuid" = String, Path), ("kind" = String, Path),
        ("names" = Option<String>, Query), ("orient" = Option<String>, Query), ("sample" = Option<u32>, Query),
        ("sampling" = Option<String>, Query), ("force" = Option<bool>, Query)
    ),
    responses((status = 200, body = EventsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn read(
    State(state): State<AppState>,
    Path((_namespace, owner, project, uuid, kind_text)): Path<(String, String, String, String, String)>,
    uri: Uri,
) -> Result<Response, Error> {
    let uuid = run_uuid(&uuid)?;
    answer(&state, false, &owner, &project, &[uuid], kind(&kind_text)?, &uri).await
}

/// The series of `kind` of several runs of the project (`runs=u1,u2`, at most 200), each carrying
/// its run's `uuid`; same parameters and shape as the one-run read.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/multi/events/{kind}", tag = "tracking",
    params(
        ("namespace" = String, Path), ("owner" = String, Path), ("project" = String, Path), ("kind" = String, Path),
        ("runs" = String, Query), ("names" = Option<String>, Query), ("orient" = Option<String>, Query),
        ("sample" = Option<u32>, Query), ("sampling" = Option<String>, Query)
    ),
    responses((status = 200, body = EventsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn read_multi(
    State(state): State<AppState>,
    Path((_namespace, owner, project, kind_text)): Path<(String, String, String, String)>,
    uri: Uri,
) -> Result<Response, Error> {
    let kind = kind(&kind_text)?;
    let listed = read_query(&uri)?.runs.as_deref().map(series::list).unwrap_or_default();
    if listed.is_empty() {
        return Err(Error::bad_field(
            "tracker.invalid_query",
            "runs",
            "`runs` must list at least one run uuid",
        ));
    }
    let mut runs: Vec<RunUuid> = Vec::with_capacity(listed.len());
    for text in &listed {
        let uuid = run_uuid(text)?;
        if !runs.contains(&uuid) {
            runs.push(uuid);
        }
    }
    if runs.len() > store::MAX_RUNS {
        return Err(Error::bad_field(
            "tracker.invalid_query",
            "runs",
            format!("at most {} runs can be read at once", store::MAX_RUNS),
        ));
    }
    answer(&state, true, &owner, &project, &runs, kind, &uri).await
}
