//! The HTTP API: Polyaxon's API v1 paths for projects and runs, `/healthz`, `/readyz` and the
//! OpenAPI document at `/internal/openapi.json`. Handlers are thin: extract → store → answer.

pub mod actions;
pub mod changes;
pub mod events;
pub mod health;
pub mod lineage;
pub mod projects;
pub mod runs;
pub mod statuses;
pub mod views;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::request::Parts;
use myelin_common::bus::SharedBus;
use myelin_contracts::{ListQuery, RunUuid};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::config::TrackingSettings;
use crate::error::Error;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: SharedBus,
    /// False once shutdown has begun (readiness).
    pub ready: Arc<AtomicBool>,
    /// Ingestion limits.
    pub tracking: Arc<TrackingSettings>,
}

/// Every route, with `state`.
pub fn router(state: AppState) -> Router {
    let run = "/api/v1/{owner}/{project}/runs/{uuid}";
    Router::new()
        .route("/api/v1/{owner}/projects/create", post(projects::create))
        .route("/api/v1/{owner}/projects/list", get(projects::list))
        .route(
            "/api/v1/{owner}/{project}",
            get(projects::get)
                .patch(projects::patch)
                .put(projects::patch)
                .delete(projects::delete),
        )
        .route("/api/v1/{owner}/{project}/runs", get(runs::list).post(runs::create))
        .route(
            "/api/v1/{owner}/{project}/searches",
            get(views::list).post(views::create),
        )
        .route(
            "/api/v1/{owner}/{project}/searches/{uuid}",
            get(views::get)
                .patch(views::patch)
                .put(views::patch)
                .delete(views::delete),
        )
        .route(
            run,
            get(runs::get).patch(runs::patch).put(runs::patch).delete(runs::delete),
        )
        .route(&format!("{run}/statuses"), get(statuses::list).post(statuses::create))
        .route(&format!("{run}/stop"), post(actions::stop))
        .route(&format!("{run}/skip"), post(actions::skip))
        .route(&format!("{run}/approve"), post(actions::approve))
        .route(&format!("{run}/archive"), post(actions::archive))
        .route(&format!("{run}/restore"), post(actions::restore))
        .route(&format!("{run}/restart"), post(actions::restart))
        .route(&format!("{run}/copy"), post(actions::copy))
        .route(&format!("{run}/resume"), post(actions::resume))
        .route(&format!("{run}/events"), post(events::ingest))
        .route(&format!("{run}/metrics/summary"), get(events::summary))
        .route(
            "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/events/{kind}",
            get(events::read),
        )
        .route(
            "/streams/v1/{namespace}/{owner}/{project}/runs/changes",
            get(changes::changes),
        )
        .route(
            "/streams/v1/{namespace}/{owner}/{project}/runs/multi/events/{kind}",
            get(events::read_multi),
        )
        .route(
            &format!("{run}/lineage/artifacts"),
            get(lineage::list).post(lineage::create),
        )
        .route(&format!("{run}/lineage/artifacts/names"), get(lineage::names))
        .route(
            &format!("{run}/lineage/artifacts/{{name}}"),
            axum::routing::delete(lineage::delete),
        )
        .route(&format!("{run}/lineage/upstream"), get(lineage::upstream))
        .route(&format!("{run}/lineage/downstream"), get(lineage::downstream))
        .route(&format!("{run}/lineage/clones"), get(lineage::clones))
        .route("/internal/openapi.json", get(openapi))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}

/// The OpenAPI document of the tracker's routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "Myelin tracker", description = "Projects and runs (Polyaxon API v1 paths)."),
    paths(
        projects::create,
        projects::list,
        projects::get,
        projects::patch,
        projects::delete,
        runs::create,
        runs::list,
        runs::get,
        runs::patch,
        runs::delete,
        statuses::list,
        statuses::create,
        actions::stop,
        actions::skip,
        actions::approve,
        actions::archive,
        actions::restore,
        actions::restart,
        actions::copy,
        actions::resume,
        events::ingest,
        events::summary,
        events::read,
        events::read_multi,
        changes::changes,
        lineage::create,
        lineage::list,
        lineage::names,
        lineage::delete,
        lineage::upstream,
        lineage::downstream,
        lineage::clones,
        views::create,
        views::list,
        views::get,
        views::patch,
        views::delete,
        health::healthz,
        health::readyz,
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// The error envelope every 4xx/5xx answer carries (documentation mirror of
/// `myelin_common::error::ErrorBody`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// Stable dotted code, e.g. `tracker.project_not_found`.
    code: String,
    message: String,
    request_id: Option<String>,
    /// Machine-readable extras: `field`, `path`, `line`, `current_status`...
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A JSON body; a malformed or missing one is a 400 `tracker.invalid_body` whose message names the field.
pub struct Body<T>(pub T);

/// A JSON body that may be empty (then `T::default()`), e.g. `restart`'s `{}` or nothing.
pub struct OptionalBody<T>(pub T);

async fn read_json<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
    empty: impl FnOnce() -> Option<T>,
) -> Result<T, Error> {
    let invalid = |message: String| Error::BadRequest {
        code: "tracker.invalid_body",
        message,
        field: None,
    };
    let bytes = Bytes::from_request(req, state).await.map_err(|e| match e.status() {
        http::StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge(e.body_text()),
        _ => invalid(e.body_text()),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return empty().ok_or_else(|| invalid("a JSON body is required".into()));
    }
    Json::<T>::from_bytes(&bytes)
        .map(|Json(value)| value)
        .map_err(|rejection| invalid(rejection.body_text()))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, || None).await.map(Body)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, || Some(T::default())).await.map(OptionalBody)
    }
}

/// The list query string; a malformed one is a 400 `tracker.invalid_query`.
pub struct ListParams(pub ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<ListQuery>::try_from_uri(&parts.uri)
            .map(|q| ListParams(q.0))
            .map_err(|e| Error::BadRequest {
                code: "tracker.invalid_query",
                message: e.body_text(),
                field: None,
            })
    }
}

/// Parses the `{uuid}` path segment (32 hex digits or dashed), else 400 `tracker.invalid_uuid`.
pub fn run_uuid(text: &str) -> Result<RunUuid, Error> {
    text.parse().map_err(|_| {
        Error::bad_field(
            "tracker.invalid_uuid",
            "uuid",
            format!("`{text}` is not a valid run uuid"),
        )
    })
}
