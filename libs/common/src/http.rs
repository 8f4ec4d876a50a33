//! Request ids and the middleware every Myelin router shares ([`common_layers`]), plus [`serve`].
//!
//! Each request gets an id: the incoming `x-request-id` when it is usable (1–128 visible ASCII
//! characters), else a fresh UUID v7. The id is set on the request (so a forwarding gateway passes it
//! on), on the response, in the request's tracing span, and in a task-local that
//! [`current_request_id`] reads, so every [`ApiError`](crate::ApiError) body names it.
//!
//! Errors that do not come from an `ApiError` (axum's extractor rejections, the body limit, unknown
//! routes, the timeout) are rewritten into the same `{code, message, request_id}` envelope.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tower_http::LatencyUnit;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::{ApiError, ErrorBody, ErrorCode};

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest incoming request id we keep; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// How much of a non-envelope error body we read to build the envelope's message.
const MAX_REWRITTEN_BODY: usize = 16 * 1024;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled by the current task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` with `id` as the current request id (for work that does not come through [`common_layers`],
/// such as a bus consumer handling a message with a correlation id).
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The request id, also available to handlers as `Extension<RequestId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Limits every router applies (the `http` section of a service's settings).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct HttpLimits {
    /// A request not answered within this many seconds gets a 504 `http.timeout`.
    pub request_timeout_secs: u64,
    /// Larger request bodies get a 413 `http.payload_too_large`.
    pub body_limit_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout_secs: 30,
            body_limit_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Wraps `router` (outermost first) in: request id → tracing span (method, path, request_id; status and
/// latency logged) → error envelope for non-`ApiError` errors → timeout → body limit.
/// Call it last, after every route (and the fallback) is added.
pub fn common_layers(router: Router, limits: &HttpLimits) -> Router {
    let timeout = Duration::from_secs(limits.request_timeout_secs);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let span = tracing::info_span!(
                "http",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %request_id,
            );
            let parent = crate::telemetry::extract_http_headers(req.headers());
            let _ = span.set_parent(parent);
            span
        })
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        );
    router
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.body_limit_bytes))
        .layer(middleware::from_fn_with_state(timeout, timeout_requests))
        .layer(middleware::from_fn_with_state(limits.body_limit_bytes, envelope_errors))
        .layer(trace)
        .layer(middleware::from_fn(request_id))
}

/// Middleware: assigns the request id (see the module doc). Part of [`common_layers`].
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_valid_request_id(s))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // Valid ids are visible ASCII, so they are always valid header values.
    let value = HeaderValue::from_str(&id).ok();
    if let Some(value) = &value {
        req.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = REQUEST_ID.scope(id, next.run(req)).await;
    if let Some(value) = value {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// 1–128 characters, each visible ASCII (no spaces or control characters).
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

async fn timeout_requests(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!("the request did not complete within {}s", limit.as_secs_f64());
            ApiError::new(ErrorCode::Timeout, "http.timeout", message).into_response()
        }
    }
}

/// Rewrites error responses that are not JSON (axum rejections, tower-http's 413, empty 404/405) into the
/// envelope. JSON error bodies (an `ApiError`, or an upstream's envelope) pass through untouched.
async fn envelope_errors(State(body_limit): State<usize>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REWRITTEN_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let text_or = |fallback: &str| {
        if text.is_empty() {
            fallback.to_owned()
        } else {
            text.clone()
        }
    };
    let (status, code, message) = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
            (StatusCode::BAD_REQUEST, "http.bad_request", text_or("bad request"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            status,
            "http.payload_too_large",
            format!("the request body is larger than the limit of {body_limit} bytes"),
        ),
        StatusCode::NOT_FOUND => (status, "http.not_found", format!("nothing at {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => (
            status,
            "http.method_not_allowed",
            format!("{method} is not allowed on {path}"),
        ),
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => (
            StatusCode::GATEWAY_TIMEOUT,
            "http.timeout",
            text_or("the request timed out"),
        ),
        StatusCode::SERVICE_UNAVAILABLE => (status, "http.unavailable", text_or("service unavailable")),
        s if s.is_client_error() => (
            s,
            "http.client_error",
            text_or(s.canonical_reason().unwrap_or("client error")),
        ),
        s => {
            tracing::error!(status = %s, body = %text, "internal error");
            (s, "internal", "internal error".to_owned())
        }
    };
    let body = ErrorBody {
        code: code.to_owned(),
        message,
        request_id: current_request_id(),
        details: None,
    };
    let mut rewritten = (status, axum::Json(body)).into_response();
    for name in [ALLOW, RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting connections and
/// waits for in-flight requests to finish. Handlers may extract `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_validity() {
        assert!(is_valid_request_id("abc-123_XYZ.~"));
        assert!(is_valid_request_id(&"a".repeat(MAX_REQUEST_ID_LEN)));
        assert!(!is_valid_request_id(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("has space"));
        assert!(!is_valid_request_id("tab\there"));
        assert!(!is_valid_request_id("naïve"));
    }

    #[tokio::test]
    async fn request_id_is_task_local() {
        assert_eq!(current_request_id(), None);
        let seen = with_request_id("r-1".into(), async { current_request_id() }).await;
        assert_eq!(seen.as_deref(), Some("r-1"));
        assert_eq!(current_request_id(), None);
    }
}
