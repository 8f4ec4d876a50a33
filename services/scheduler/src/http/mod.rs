//! The scheduler's small HTTP surface (no public API): `/healthz` (the process answers),
//! `/readyz` (database and bus reachable, not shutting down) and `GET /internal/queue` (how many
//! runs are in each scheduling state, and the concurrency limit).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use myelin_common::bus::SharedBus;
use serde_json::{Value, json};

use crate::error::Error;
use crate::store::{Store, runs};

/// What the routes read.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: SharedBus,
    pub max_concurrency: u32,
    /// False once shutdown has begun.
    pub ready: Arc<AtomicBool>,
}

/// Every route, with its state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/internal/queue", get(queue))
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
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

/// `{max_concurrency, pending, queued, dispatched, done}`.
async fn queue(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let counts = runs::counts(state.store.db()).await?;
    let mut body = json!({ "max_concurrency": state.max_concurrency });
    for (name, n) in counts {
        body[name] = json!(n);
    }
    Ok(Json(body))
}
