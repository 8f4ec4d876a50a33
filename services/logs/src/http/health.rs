//! `/healthz` (the process answers) and `/readyz` (bus and coordination store reachable, not
//! shutting down).

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

/// Readiness: 503 while the bus or the coordination store is unreachable, or once shutdown began.
#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let bus = state.bus.is_healthy().await;
    let coord = state.store.coord().is_healthy().await;
    let accepting = !state.stopping.is_cancelled();
    let ok = bus && coord && accepting;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "bus": bus,
        "coord": coord,
        "shutting_down": !accepting,
    });
    (status, Json(body))
}
