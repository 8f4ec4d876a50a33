//! The endpoints the official `polyaxon` CLI calls when it starts: installation, compatibility and
//! log handler (`VersionsV1` in Polyaxon's API).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use myelin_contracts::installation::{Compatibility, Installation, Version};

use crate::State as Shared;

/// The Myelin version, reported as the platform version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /api/v1/installation`: the installation key, the Myelin version, dist `ce` and the mode.
#[utoipa::path(get, path = "/api/v1/installation", tag = "versions",
    responses((status = 200, description = "This installation", body = Installation)))]
pub async fn installation(State(state): State<Arc<Shared>>) -> Json<Installation> {
    Json(state.installation.clone())
}

/// `GET /api/v1/compatibility/{uuid}/{version}/{service}`: tells a client of `version` that it is
/// compatible (its version is both the minimum and the latest), so it neither refuses to run nor
/// asks to upgrade.
#[utoipa::path(get, path = "/api/v1/compatibility/{uuid}/{version}/{service}", tag = "versions",
    params(("uuid" = String, Path, description = "Installation key"),
           ("version" = String, Path, description = "Client version"),
           ("service" = String, Path, description = "Client kind: cli, agent, ...")),
    responses((status = 200, description = "Supported versions", body = Compatibility)))]
pub async fn compatibility(Path((_uuid, version, _service)): Path<(String, String, String)>) -> Json<Compatibility> {
    let client = Version {
        min: Some(version.clone()),
        latest: Some(version),
    };
    let platform = Version {
        min: Some(VERSION.to_owned()),
        latest: Some(VERSION.to_owned()),
    };
    Json(Compatibility {
        cli: Some(client.clone()),
        platform: Some(platform),
        agent: Some(client.clone()),
        ui: Some(client),
    })
}

/// `GET /api/v1/log_handler`: `v1LogHandler` with neither `dsn` nor `environment` (Myelin sends
/// client errors nowhere).
#[utoipa::path(get, path = "/api/v1/log_handler", tag = "versions",
    responses((status = 200, description = "Empty log handler (no remote error reporting)")))]
pub async fn log_handler() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}
