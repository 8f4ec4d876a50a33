//! The request context the gateway builds for every forwarded request, and the headers that carry
//! it to services (`x-request-id`, `x-myelin-subject`, `x-myelin-org`).
//!
//! The subject is decided by [`crate::access`] before the context is built.

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};
use myelin_contracts::headers;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// No credentials were checked (public routes, the auth service's own routes, `--no-auth`).
    Anonymous,
    /// An authenticated user (or service account) name.
    User(String),
    /// The code of a run, calling with its run token: `run:<uuid>`.
    Run(String),
}

impl Subject {
    /// The value of the `x-myelin-subject` header.
    pub fn as_header(&self) -> &str {
        match self {
            Subject::Anonymous => headers::ANONYMOUS,
            Subject::User(name) => name,
            Subject::Run(name) => name,
        }
    }
}

/// Everything a service learns about the caller, forwarded as headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The id set by the common request-id middleware.
    pub request_id: Option<String>,
    pub subject: Subject,
    /// The `{owner}` path segment when the path has one.
    pub org: Option<String>,
}

impl RequestContext {
    /// The context of a request made by `subject`: its request id and org.
    pub fn build(parts: &Parts, org: Option<&str>, subject: Subject) -> Self {
        let request_id = parts
            .headers
            .get(headers::REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(myelin_common::http::current_request_id);
        Self {
            request_id,
            subject,
            org: org.map(str::to_owned),
        }
    }

    /// Replaces any context headers the client sent with the gateway's own (clients cannot pick
    /// their subject or org by sending the headers themselves).
    pub fn apply(&self, map: &mut HeaderMap) {
        map.remove(headers::SUBJECT);
        map.remove(headers::ORG);
        if let Some(id) = self.request_id.as_deref() {
            insert(map, headers::REQUEST_ID, id);
        }
        insert(map, headers::SUBJECT, self.subject.as_header());
        if let Some(org) = self.org.as_deref() {
            insert(map, headers::ORG, org);
        }
    }
}

fn insert(map: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        map.insert(HeaderName::from_static(name), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_spoofed_context_headers() {
        let request = http::Request::builder()
            .uri("/api/v1/acme/demo")
            .header(headers::SUBJECT, "admin")
            .header(headers::ORG, "other")
            .header(headers::REQUEST_ID, "rid-1")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let context = RequestContext::build(&parts, Some("acme"), Subject::Anonymous);
        let mut map = parts.headers.clone();
        context.apply(&mut map);
        assert_eq!(map.get(headers::SUBJECT).unwrap(), "anonymous");
        assert_eq!(map.get(headers::ORG).unwrap(), "acme");
        assert_eq!(map.get(headers::REQUEST_ID).unwrap(), "rid-1");

        let context = RequestContext::build(&parts, None, Subject::User("ann".into()));
        let mut map = parts.headers.clone();
        context.apply(&mut map);
        assert!(map.get(headers::ORG).is_none());
        assert_eq!(map.get(headers::SUBJECT).unwrap(), "ann");
    }
}
