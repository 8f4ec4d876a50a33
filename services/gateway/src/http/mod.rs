//! The gateway's own routes, and the router that sends everything else to the services.

pub mod health;
pub mod meta;
pub mod openapi;
pub mod ui;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};
use myelin_common::http::{HttpLimits, common_layers};

use crate::{State, proxy};

/// The artifact upload paths, which get [`crate::Settings::uploads`] limits instead of the common ones.
pub const UPLOAD_PATHS: [&str; 3] = [
    "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifact",
    "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts",
    "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/artifacts/upload",
];

/// The public router: own routes first, then the route table (fallback), under the common layers;
/// the artifact upload paths under the upload limits.
pub fn router(state: Arc<State>, limits: &HttpLimits, uploads: &HttpLimits) -> Router {
    let upload_routes = UPLOAD_PATHS
        .iter()
        .fold(Router::new(), |router, path| router.route(path, any(proxy::forward)))
        .with_state(Arc::clone(&state));
    common_layers(upload_routes, uploads).merge(main_router(state, limits))
}

fn main_router(state: Arc<State>, limits: &HttpLimits) -> Router {
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/installation", get(meta::installation))
        .route(
            "/api/v1/compatibility/{uuid}/{version}/{service}",
            get(meta::compatibility),
        )
        .route("/api/v1/log_handler", get(meta::log_handler))
        .route("/api/v1/openapi.json", get(openapi::openapi))
        .merge(ui::router())
        .fallback(proxy::forward)
        .with_state(state);
    common_layers(router, limits)
}
