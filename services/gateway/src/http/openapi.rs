//! `GET /api/v1/openapi.json`: the gateway's own OpenAPI document merged with each service's
//! `GET /internal/openapi.json`, fetched through the same upstream as any request and cached for a
//! minute. A service that is down is left out (or served from its last good copy).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use http::Request;
use http_body_util::{BodyExt, Limited};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::{health, meta};
use crate::State as Shared;
use crate::routes::Service;
use crate::upstream::Backend;

/// How long a fetched service document is reused.
const TTL: Duration = Duration::from_secs(60);
/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest service document accepted.
const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

/// The gateway's own routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Myelin API",
        description = "Myelin's public API: Polyaxon API v1 paths and shapes."
    ),
    paths(
        health::healthz,
        health::readyz,
        meta::installation,
        meta::compatibility,
        meta::log_handler,
        openapi
    )
)]
pub struct GatewayDoc;

/// Service documents by service, with the time they were fetched.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<Service, (Instant, Document)>>,
}

impl Cache {
    /// The document of `service`: cached when fresh, else fetched; the stale copy if the fetch fails.
    async fn get(&self, service: Service, backend: &Backend) -> Option<Document> {
        let cached = self.lock().get(&service).cloned();
        if let Some((fetched, doc)) = &cached
            && fetched.elapsed() < TTL
        {
            return Some(doc.clone());
        }
        match fetch(backend).await {
            Ok(doc) => {
                self.lock().insert(service, (Instant::now(), doc.clone()));
                Some(doc)
            }
            Err(cause) => {
                tracing::warn!(%service, %cause, "cannot fetch the service's OpenAPI document");
                cached.map(|(_, doc)| doc)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Service, (Instant, Document)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn fetch(backend: &Backend) -> Result<Document, String> {
    let request = Request::get("/internal/openapi.json")
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let response = backend.send(request, FETCH_TIMEOUT).await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_DOCUMENT)
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body.to_bytes()).map_err(|e| e.to_string())
}

/// `GET /api/v1/openapi.json`: the whole public API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document of the gateway and every service")))]
pub async fn openapi(State(state): State<Arc<Shared>>) -> Json<Document> {
    let mut doc = GatewayDoc::openapi();
    for (service, backend) in &state.backends {
        if let Some(upstream) = state.openapi.get(*service, backend).await {
            doc.merge(upstream);
        }
    }
    public_only(&mut doc);
    Json(doc)
}

/// Keeps the operations the route table serves (services document internal routes too).
fn public_only(doc: &mut Document) {
    doc.paths.paths.retain(|path, item| {
        let sample = sample_path(path);
        let served = |method: &str, operation: &mut Option<utoipa::openapi::path::Operation>| {
            if operation.is_some() && crate::routes::resolve(method, &sample).is_none() {
                *operation = None;
            }
            operation.is_some()
        };
        let kept = [
            served("GET", &mut item.get),
            served("POST", &mut item.post),
            served("PUT", &mut item.put),
            served("PATCH", &mut item.patch),
            served("DELETE", &mut item.delete),
        ];
        item.head = None;
        item.options = None;
        item.trace = None;
        kept.iter().any(|k| *k)
    });
}

/// A concrete path for a documented one: every `{param}` becomes `x`.
pub fn sample_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
