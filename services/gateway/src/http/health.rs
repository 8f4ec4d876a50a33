//! `/healthz` (the process runs) and `/readyz` (every service has a healthy upstream and shutdown
//! has not started).

use std::sync::Arc;

use axum::extract::State;
use myelin_common::{ApiError, ErrorCode};

use crate::State as Shared;

/// `GET /healthz`: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when every service has at least one healthy upstream, 503 otherwise and once
/// shutdown has started.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "Not ready: shutting down or a service has no healthy upstream")))]
pub async fn readyz(State(state): State<Arc<Shared>>) -> Result<&'static str, ApiError> {
    if state.is_stopping() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "gateway.shutting_down",
            "the gateway is shutting down",
        ));
    }
    let down: Vec<&str> = state
        .backends
        .iter()
        .filter(|(_, b)| b.is_configured() && !b.is_ready())
        .map(|(s, _)| s.name())
        .collect();
    if !down.is_empty() {
        let message = format!("no healthy upstream for: {}", down.join(", "));
        return Err(ApiError::new(ErrorCode::Unavailable, "gateway.not_ready", message));
    }
    Ok("ok")
}
