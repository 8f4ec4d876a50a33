//! The executor's only HTTP routes: `/healthz` (the process answers) and `/readyz` (bus and
//! coordination store reachable, worker running, not shutting down).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use myelin_common::bus::SharedBus;
use myelin_common::coord::SharedCoord;
use serde_json::{Value, json};

/// What the health routes look at.
#[derive(Clone)]
pub struct Health {
    pub bus: SharedBus,
    pub coord: SharedCoord,
    /// True while the worker consumes and no shutdown has begun.
    pub ready: Arc<AtomicBool>,
}

/// `/healthz` and `/readyz`.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(health)
}

/// Liveness.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 503 while the bus or the coordination store is unreachable, or the worker is not
/// consuming (not started yet, failed, or shutting down).
async fn readyz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let bus = health.bus.is_healthy().await;
    let coord = health.coord.is_healthy().await;
    let consuming = health.ready.load(Ordering::SeqCst);
    let ok = bus && coord && consuming;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "bus": bus,
        "coord": coord,
        "consuming": consuming,
    });
    (status, Json(body))
}
