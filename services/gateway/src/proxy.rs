//! The forwarding handler: every path the gateway does not answer itself goes through here to the
//! service the route table names, with the request context attached.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Extensions, Request};
use http_body_util::{BodyExt, Limited};
use myelin_common::ApiError;
use myelin_contracts::auth::{Action, AuditRecord};
use myelin_contracts::headers;

use crate::State as Shared;
use crate::context::{RequestContext, Subject};
use crate::error::Error;
use crate::routes::{self, Rule, Service};

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

/// The largest project-create body the gateway reads (to learn the new project's name).
const MAX_PROJECT_BODY: usize = 1024 * 1024;

/// What the audit record of a mutating request says, filled in as the request goes.
struct Audited {
    org: String,
    action: Action,
    actor: String,
}

/// The axum fallback: resolve the route, check access, forward, stream the answer back; audit
/// mutating requests.
pub async fn forward(State(state): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let resource = format!("{} {}", request.method(), request.uri().path());
    let mut audited = None;
    let (response, result) = match forward_inner(&state, request, &mut audited).await {
        Ok(response) => {
            let result = if response.status().is_success() || response.status().is_redirection() {
                "ok".to_owned()
            } else {
                format!("http.{}", response.status().as_u16())
            };
            (response, result)
        }
        Err(error) => {
            let code = error.code.to_string();
            (error.into_response(), code)
        }
    };
    if let (Some(sink), Some(audited)) = (state.audit(), audited) {
        sink.record(AuditRecord {
            org: audited.org,
            actor: audited.actor,
            action: audited.action.name().to_owned(),
            resource,
            result,
            status: response.status().as_u16(),
        });
    }
    response
}

async fn forward_inner(
    state: &Shared,
    request: Request<Body>,
    audited: &mut Option<Audited>,
) -> Result<Response, ApiError> {
    let path = request.uri().path().to_owned();
    let method = request.method().as_str().to_owned();
    let resolved = routes::resolve(&method, &path).ok_or_else(|| {
        if routes::path_known(&path) {
            Error::MethodNotAllowed(method.clone(), path.clone())
        } else {
            Error::NoRoute(path.clone())
        }
    })?;
    // Gateway routes are matched by axum before this fallback; one seen here is a bad method.
    let service = resolved.service().ok_or_else(|| Error::NoRoute(path.clone()))?;
    let backend = match state.backend(service) {
        Some(backend) => backend,
        None if service == Service::Auth => return Err(Error::AuthDisabled.into()),
        None => return Err(Error::Unavailable(service).into()),
    };

    let (mut parts, body) = request.into_parts();
    if let (Rule::Require(action), Some(org)) = (resolved.route.rule, resolved.owner)
        && action.is_mutating()
        && state.audit().is_some()
    {
        *audited = Some(Audited {
            org: org.to_owned(),
            action,
            actor: headers::ANONYMOUS.to_owned(),
        });
    }
    let checked = state
        .access
        .check(state.backend(Service::Auth), &parts.headers, &resolved)
        .await;
    let subject = match checked {
        Ok(subject) => subject,
        Err(refused) => {
            if let (Some(audited), Some(who)) = (audited.as_mut(), refused.subject) {
                audited.actor = who;
            }
            return Err(refused.error);
        }
    };
    if let Some(audited) = audited.as_mut() {
        subject.as_header().clone_into(&mut audited.actor);
    }
    // A user creating a project administers it: learn its name (a small JSON body) to tell auth.
    let (body, created_project) = match (&subject, resolved.route.rule) {
        (Subject::User(_), Rule::Require(Action::ProjectCreate)) if state.audit().is_some() => {
            let bytes = Limited::new(body, MAX_PROJECT_BODY)
                .collect()
                .await
                .map_err(|_| Error::PayloadTooLarge)?
                .to_bytes();
            let name = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_owned));
            (Body::from(bytes), name)
        }
        _ => (body, None),
    };
    // The logs service keys runs by uuid alone: the run must be in the path's project.
    if let (Service::Logs, Some(owner), Some(project), Some(uuid)) =
        (service, resolved.owner, resolved.project, resolved.uuid)
    {
        let tracker = state
            .backend(Service::Tracker)
            .ok_or(Error::Unavailable(Service::Tracker))?;
        state
            .ownership
            .check(tracker, owner, project, uuid, state.upstream_timeout)
            .await?;
    }
    if resolved.route.rule != Rule::AuthService {
        // Services never see credentials; the auth service checks its own.
        parts.headers.remove(header::AUTHORIZATION);
    }
    let context = RequestContext::build(&parts, resolved.owner, subject.clone());
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
    if let (Some(sink), Subject::User(user), Some(owner), Some(project)) =
        (state.audit(), &subject, resolved.owner, created_project)
        && response.status() == http::StatusCode::CREATED
    {
        sink.project_created(owner, &project, user).await;
    }
    if let (Some(sink), Rule::Require(Action::ProjectDelete), Some(owner), Some(project)) =
        (state.audit(), resolved.route.rule, resolved.owner, resolved.project)
        && response.status().is_success()
    {
        sink.project_deleted(owner, project).await;
    }
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
