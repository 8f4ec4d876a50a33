//! Run artifacts on the blob store, under key `<run uuid>/<path>`, served on Polyaxon's streams paths:
//!
//! - `POST .../artifact` (multipart `upload_file`, optional `json` options; query `path`, `untar`,
//!   `overwrite`): stores the file at `<path>/<file name>` ([`upload`]); `POST .../artifacts` and
//!   `POST .../artifacts/upload` do the same with `untar` defaulting to true (a `.tar.gz` unpacked
//!   into `path`, [`untar`]);
//! - `GET .../artifact?path=FILE[&stream=true]`, `GET .../artifacts/tree?path=DIR`,
//!   `DELETE .../artifact?path=FILE`, `DELETE .../artifacts?path=DIR` ([`read`]);
//! - `GET .../artifacts?path=DIR`: the directory as a `.tar.gz` built while it streams ([`archive`]).
//!
//! Uploaded `events/<kind>/<name>.plx` files are parsed and published as `run.events.collected`
//! ([`ingest`]). Bodies stream both ways; nothing holds a whole file or archive in memory.
//! Uploads have their own body limit and timeout ([`upload_limits`]): the logs binary layers
//! [`upload_router`] apart from the other routes.

pub mod archive;
pub mod error;
pub mod ingest;
pub mod path;
pub mod read;
pub mod untar;
pub mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use myelin_common::blob::SharedBlob;
use myelin_common::bus::SharedBus;
use myelin_common::http::HttpLimits;
use myelin_contracts::RunUuid;
use serde::Deserialize;

pub use self::error::Error;
use crate::config::ArtifactSettings;

/// `POST|GET|DELETE` one file.
pub const ARTIFACT_PATH: &str = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifact";
/// `POST|GET|DELETE` a directory.
pub const ARTIFACTS_PATH: &str = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts";
/// `GET` one level of a directory.
pub const TREE_PATH: &str = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts/tree";
/// `POST` an archive to unpack.
pub const UPLOAD_PATH: &str = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts/upload";

/// Room for the multipart framing and the `json` field on top of the file itself.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// What the artifact handlers share.
#[derive(Clone)]
pub struct State {
    pub blob: SharedBlob,
    pub bus: SharedBus,
    pub settings: Arc<ArtifactSettings>,
}

impl State {
    /// Artifacts on `blob`, collected series published on `bus`.
    pub fn new(blob: SharedBlob, bus: SharedBus, settings: ArtifactSettings) -> Self {
        Self {
            blob,
            bus,
            settings: Arc::new(settings),
        }
    }
}

/// The `{namespace}/{owner}/{project}/{uuid}` segments of every artifact path.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// Any value (the polyaxon CLI sends `polyaxon`).
    pub namespace: String,
    pub owner: String,
    pub project: String,
    /// The run's uuid.
    pub uuid: String,
}

impl RunPath {
    /// The run, or 400 `logs.invalid_uuid`.
    pub fn run(&self) -> Result<RunUuid, Error> {
        self.uuid.parse().map_err(|_| Error::InvalidUuid(self.uuid.clone()))
    }
}

/// The read and delete routes (the common body limit and timeout suit them).
pub fn router(state: State) -> Router {
    Router::new()
        .route(ARTIFACT_PATH, get(read::get_file).delete(read::delete_file))
        .route(ARTIFACTS_PATH, get(archive::get_dir).delete(read::delete_dir))
        .route(TREE_PATH, get(read::tree))
        .with_state(state)
}

/// The upload routes, with a body limit of `max_upload_bytes` (plus the multipart framing).
pub fn upload_router(state: State) -> Router {
    let limit = body_limit(&state.settings);
    Router::new()
        .route(ARTIFACT_PATH, post(upload::upload_file))
        .route(ARTIFACTS_PATH, post(upload::upload_dir))
        .route(UPLOAD_PATH, post(upload::upload_archive))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The OpenAPI document of the artifact routes (merged into the service's).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        upload::upload_file,
        upload::upload_dir,
        upload::upload_archive,
        read::get_file,
        read::delete_file,
        read::tree,
        read::delete_dir,
        archive::get_dir,
    ),
    components(schemas(
        myelin_contracts::artifacts::ArtifactTree,
        myelin_contracts::artifacts::ArtifactUploaded,
        myelin_contracts::artifacts::UploadOptions,
    ))
)]
pub struct ApiDoc;

/// The common layers' limits for [`upload_router`]: its body limit and `upload_timeout_secs`.
pub fn upload_limits(settings: &ArtifactSettings) -> HttpLimits {
    HttpLimits {
        request_timeout_secs: settings.upload_timeout_secs,
        body_limit_bytes: body_limit(settings),
    }
}

fn body_limit(settings: &ArtifactSettings) -> usize {
    usize::try_from(settings.max_upload_bytes.saturating_add(MULTIPART_OVERHEAD)).unwrap_or(usize::MAX)
}
