//! [`RequestContext`]: who is asking, in which org, under which request id. Every handler extracts
//! it; created entities record its `subject` as their `user`, and events carry its `request_id` as
//! their correlation id. Authentication (a later issue) only changes how the gateway fills the
//! headers, not this type.

use axum::extract::FromRequestParts;
use http::request::Parts;
use myelin_common::http::RequestId;
use myelin_contracts::headers;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The user name (`x-myelin-subject`), `anonymous` when absent.
    pub subject: String,
    /// The organization (`x-myelin-org`), when given.
    pub org: Option<String>,
    /// The request id (`x-request-id`), when known.
    pub request_id: Option<String>,
}

impl RequestContext {
    /// A context for work that does not come from a request (tests, background tasks).
    pub fn system(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            org: None,
            request_id: None,
        }
    }
}

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .or_else(|| header(parts, headers::REQUEST_ID));
        Ok(Self {
            subject: header(parts, headers::SUBJECT).unwrap_or_else(|| headers::ANONYMOUS.to_owned()),
            org: header(parts, headers::ORG),
            request_id,
        })
    }
}
