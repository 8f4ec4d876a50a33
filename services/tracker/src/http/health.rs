//! `/healthz` (the process answers) and `/readyz` (database and bus reachable, not shutting down).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 503 while the database or the bus is unreachable, or once shutdown has begun.
#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.db().ping().await.is_ok();
    let bus = state.bus.is_healthy().await;
    let accepting = state.ready.load(Ordering::SeqCst);
    let ok = database && bus && accepting;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "database": database,
        "bus": bus,
        "shutting_down": !accepting,
    });
    (status, Json(body))
}
