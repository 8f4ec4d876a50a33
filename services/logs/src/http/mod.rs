//! The HTTP API: Polyaxon's streams path for a run's logs (`GET .../logs`, paged as Polyaxon pages
//! it), a live tail over Server-Sent Events (`GET .../logs/tail`), `/healthz`, `/readyz` and the
//! OpenAPI document at `/internal/openapi.json`.

pub mod health;
pub mod logs;
pub mod tail;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use myelin_common::bus::SharedBus;
use myelin_contracts::RunUuid;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::domain::chunk::StreamId;
use crate::domain::line::StoredLine;
use crate::error::Error;
use crate::store::LogStore;

/// Live lines read per stream call.
const STREAM_BATCH: usize = 1000;

/// Limits of the read side, from the settings.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    pub max_page_lines: usize,
    pub chunk_lines: usize,
    pub tail_poll: Duration,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: LogStore,
    pub bus: SharedBus,
    pub config: Arc<ReadConfig>,
    /// Cancelled when the service stops: live tails end so the server can drain.
    pub stopping: CancellationToken,
}

/// The path of a run's logs (any namespace segment; the polyaxon CLI sends `polyaxon`).
pub const LOGS_PATH: &str = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs";

/// Every route, with `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(LOGS_PATH, get(logs::get_logs))
        .route(&format!("{LOGS_PATH}/tail"), get(tail::tail))
        .route("/internal/openapi.json", get(openapi))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}

/// The OpenAPI document of the logs routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Myelin logs",
        description = "Run logs: history (Polyaxon's streams API) and live tail."
    ),
    paths(logs::get_logs, tail::tail, health::healthz, health::readyz),
    components(schemas(myelin_contracts::logs::Logs, myelin_contracts::logs::LogLine))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::artifacts::ApiDoc::openapi());
    Json(doc)
}

/// Parses the `{uuid}` path segment (32 hex digits or dashed), else 400 `logs.invalid_uuid`.
pub fn run_uuid(text: &str) -> Result<RunUuid, Error> {
    text.parse().map_err(|_| Error::InvalidUuid(text.to_owned()))
}

/// Live lines after `after`, at most `limit`, read in batches.
pub async fn stream_lines(
    store: &LogStore,
    run: &RunUuid,
    mut after: StreamId,
    limit: usize,
) -> Result<Vec<StoredLine>, Error> {
    let mut lines = Vec::new();
    while lines.len() < limit {
        let batch = store
            .stream_after(run, after, STREAM_BATCH.min(limit - lines.len()))
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        lines.extend(batch);
    }
    Ok(lines)
}
