//! The forwarding handler: every path the gateway does not answer itself goes through here to the
//! service the route table names, with the request context attached.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Extensions, Request};
use myelin_common::ApiError;

use crate::State as Shared;
use crate::context::RequestContext;
use crate::error::Error;
use crate::routes;

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The axum fallback: resolve the route, build the context, forward, stream the answer back.
pub async fn forward(State(state): State<Arc<Shared>>, request: Request<Body>) -> Response {
    match forward_inner(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn forward_inner(state: &Shared, request: Request<Body>) -> Result<Response, ApiError> {
    let path = request.uri().path().to_owned();
    let route = routes::resolve(&path).ok_or_else(|| Error::NoRoute(path.clone()))?;
    let backend = state.backend(route.service).ok_or(Error::Unavailable(route.service))?;

    let (mut parts, body) = request.into_parts();
    let context = RequestContext::build(&parts, route.owner(&path)).await?;
    strip_hop_by_hop(&mut parts.headers);
    if let Some(host) = parts.headers.remove(header::HOST) {
        parts.headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    parts.headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    context.apply(&mut parts.headers);
    myelin_common::telemetry::inject_http_headers(&mut parts.headers);
    // The upstream sees what it would see over HTTP: no gateway-side extensions.
    parts.extensions = Extensions::new();

    // An upload is answered once the whole body is stored: it gets the upload timeout.
    let timeout = if parts.method == http::Method::POST && is_upload(&path) {
        state.upload_timeout()
    } else {
        state.upstream_timeout
    };
    let response = backend.send(Request::from_parts(parts, body), timeout).await?;
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, body))
}

/// Whether `path` is one of [`crate::http::UPLOAD_PATHS`].
fn is_upload(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        ["", "streams", "v1", _, _, _, "runs", _, "artifact" | "artifacts"]
            | ["", "streams", "v1", _, _, _, "runs", _, "artifacts", "upload"]
    )
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    for name in named {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_paths_are_recognised() {
        assert!(is_upload("/streams/v1/polyaxon/default/demo/runs/abc/artifact"));
        assert!(is_upload("/streams/v1/polyaxon/default/demo/runs/abc/artifacts"));
        assert!(is_upload("/streams/v1/polyaxon/default/demo/runs/abc/artifacts/upload"));
        assert!(!is_upload("/streams/v1/polyaxon/default/demo/runs/abc/artifacts/tree"));
        assert!(!is_upload("/streams/v1/polyaxon/default/demo/runs/abc/logs"));
    }

    #[test]
    fn strips_hop_by_hop_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::CONTENT_TYPE));
    }
}
