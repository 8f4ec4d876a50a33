//! `/healthz` (the process answers) and `/readyz` (database and coordination store reachable, not
//! shutting down).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "health", operation_id = "AuthHealthz", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 503 while the database or the coordination store is unreachable, or once shutdown
/// has begun.
#[utoipa::path(
    get, path = "/readyz", tag = "health", operation_id = "AuthReadyz",
    responses(
        (status = 200, description = "ready"),
        (status = 503, description = "not ready: `database`, `coordination` or `shutting_down` says which"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.db().ping().await.is_ok();
    let coordination = state.coord.is_healthy().await;
    let accepting = state.ready.load(Ordering::SeqCst);
    let ok = database && coordination && accepting;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "database": database,
        "coordination": coordination,
        "shutting_down": !accepting,
    });
    (status, Json(body))
}
