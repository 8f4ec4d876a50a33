//! Access control on every forwarded request: who is calling (the token of `Authorization: Token
//! <t>` or `Bearer <t>`) and whether the route's [`Rule`] lets them.
//!
//! - [`Rule::Public`]: nothing is checked.
//! - [`Rule::AuthService`]: the auth service checks the token itself (its own API).
//! - [`Rule::Require`]: a run token (`myr_...`, [`myelin_common::run_token`]) is checked here: it
//!   may view and update the runs of its own project, nothing else. Any other token is decided by
//!   the auth service (`POST /internal/v1/authorize`), through the decision [`cache`].
//!
//! Answers: no or bad token 401, no relation to the org 404 (its existence is not revealed),
//! otherwise not allowed 403. When auth cannot be asked the request fails closed (503).
//! [`Access::open`] (`myelin server --no-auth`) lets everything through as `anonymous`.

pub mod audit;
pub mod cache;
pub mod ownership;

use std::time::Duration;

use axum::body::Body;
use chrono::Utc;
use http::{HeaderMap, HeaderValue, Request, header};
use http_body_util::{BodyExt, Limited};
use myelin_common::run_token::{self, RunTokenKey};
use myelin_common::{ApiError, ErrorCode};
use myelin_contracts::auth::{AUTHORIZE_PATH, Action, AuthorizeAnswer, INTERNAL_TOKEN_HEADER, ResourceRef};
use secrecy::{ExposeSecret, SecretString};

use crate::context::Subject;
use crate::routes::{Resolved, Rule};
use crate::upstream::Backend;

pub use audit::AuditSink;
pub use cache::DecisionCache;
pub use ownership::RunOwnership;

/// The largest decision answer read from auth.
const MAX_ANSWER: usize = 64 * 1024;

/// What a run token may do, on its own project only.
const RUN_TOKEN_ACTIONS: &[Action] = &[Action::RunView, Action::RunUpdate, Action::ProjectView];

/// A refused request: the answer, and who asked when the token said (for the audit log).
#[derive(Debug)]
pub struct Refused {
    pub error: ApiError,
    pub subject: Option<String>,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self { error, subject: None }
    }
}

/// How requests are authorized.
pub struct Access {
    enforced: Option<Enforced>,
}

struct Enforced {
    cache: DecisionCache,
    run_tokens: Option<RunTokenKey>,
    internal_token: Option<SecretString>,
    timeout: Duration,
}

impl Access {
    /// No checks at all: every request is `anonymous` (`--no-auth`).
    pub fn open() -> Self {
        Self { enforced: None }
    }

    /// Every [`Rule::Require`] route is decided by auth (through `cache`) or by a run token signed
    /// with `run_tokens`.
    pub fn enforced(
        cache: DecisionCache,
        run_tokens: Option<RunTokenKey>,
        internal_token: Option<SecretString>,
        timeout: Duration,
    ) -> Self {
        Self {
            enforced: Some(Enforced {
                cache,
                run_tokens,
                internal_token,
                timeout,
            }),
        }
    }

    /// Whether requests are checked (false with `--no-auth`).
    pub fn is_enforced(&self) -> bool {
        self.enforced.is_some()
    }

    /// Who the caller of `resolved` is, or why they may not call it. `auth` is the auth service's
    /// backend (present whenever access is enforced).
    pub async fn check(
        &self,
        auth: Option<&Backend>,
        headers: &HeaderMap,
        resolved: &Resolved<'_>,
    ) -> Result<Subject, Refused> {
        let (Some(enforced), Rule::Require(action)) = (&self.enforced, resolved.route.rule) else {
            return Ok(Subject::Anonymous);
        };
        let owner = resolved.owner.ok_or_else(|| denied(404, "no such organization"))?;
        let token = bearer(headers).ok_or_else(|| denied(401, "this route needs a token: Authorization: Token <t>"))?;
        if run_token::is_run_token(token) {
            return enforced
                .check_run_token(token, action, owner, resolved.project)
                .map_err(Refused::from);
        }
        let resource = ResourceRef {
            owner: owner.to_owned(),
            project: resolved.project.map(str::to_owned),
            team: None,
        };
        let auth = auth.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unavailable,
                "gateway.auth_unavailable",
                "auth is not configured",
            )
        })?;
        let answer = enforced
            .cache
            .decide(token, action, &resource, || {
                enforced.ask(auth, token, action, &resource)
            })
            .await?;
        if answer.allowed {
            return Ok(Subject::User(answer.subject.unwrap_or_default()));
        }
        Err(Refused {
            error: denied(answer.status, answer.reason.as_deref().unwrap_or("not allowed")),
            subject: answer.subject,
        })
    }
}

impl Enforced {
    fn check_run_token(
        &self,
        token: &str,
        action: Action,
        owner: &str,
        project: Option<&str>,
    ) -> Result<Subject, ApiError> {
        let key = self
            .run_tokens
            .as_ref()
            .ok_or_else(|| denied(401, "run tokens are not accepted here"))?;
        let claims = key.verify(token, Utc::now()).map_err(|e| denied(401, &e.to_string()))?;
        if claims.owner != owner || project.is_some_and(|p| p != claims.project) {
            return Err(denied(404, "a run token only reaches its own project"));
        }
        if project.is_none() || !RUN_TOKEN_ACTIONS.contains(&action) {
            return Err(denied(403, &format!("a run token may not {action}")));
        }
        Ok(Subject::Run(format!("run:{}", claims.run)))
    }

    /// Asks auth for the decision.
    async fn ask(
        &self,
        auth: &Backend,
        token: &str,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<AuthorizeAnswer, ApiError> {
        let body = serde_json::json!({ "token": token, "action": action, "resource": resource });
        let request = internal_post(
            AUTHORIZE_PATH,
            body.to_string().into_bytes(),
            self.internal_token.as_ref(),
        )
        .map_err(|e| unavailable(&e.to_string()))?;
        let response = auth.send(request, self.timeout).await?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| unavailable(&e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            tracing::error!(%status, body = %String::from_utf8_lossy(&bytes), "auth refused a decision request");
            return Err(unavailable(&format!("auth answered {status}")));
        }
        serde_json::from_slice(&bytes).map_err(|e| unavailable(&format!("auth's answer is malformed: {e}")))
    }
}

/// A `POST` of `json` to one of auth's internal routes, with `x-myelin-internal-token` (when
/// configured) and the trace context.
pub fn internal_post(
    path: &str,
    json: Vec<u8>,
    internal_token: Option<&SecretString>,
) -> Result<Request<Body>, http::Error> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json))?;
    if let Some(secret) = internal_token
        && let Ok(value) = HeaderValue::from_str(secret.expose_secret())
    {
        request.headers_mut().insert(INTERNAL_TOKEN_HEADER, value);
    }
    myelin_common::telemetry::inject_http_headers(request.headers_mut());
    Ok(request)
}

/// The token of `Authorization: Token <t>` or `Bearer <t>` (scheme case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (["token", "bearer"].contains(&scheme.to_ascii_lowercase().as_str()) && !token.is_empty()).then_some(token)
}

/// The error of a denied decision: 401 `auth.unauthenticated`, 404 `auth.not_found` or 403
/// `auth.forbidden`.
fn denied(status: u16, reason: &str) -> ApiError {
    match status {
        401 => ApiError::new(ErrorCode::Unauthenticated, "auth.unauthenticated", reason),
        404 => ApiError::not_found("auth.not_found", reason),
        _ => ApiError::new(ErrorCode::Forbidden, "auth.forbidden", reason),
    }
}

fn unavailable(message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "gateway.auth_unavailable",
        format!("cannot decide access: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_token_and_bearer_schemes() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        for (value, want) in [
            ("Token abc", Some("abc")),
            ("token  abc ", Some("abc")),
            ("Bearer myl_x", Some("myl_x")),
            ("Basic abc", None),
            ("Token ", None),
            ("abc", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer(&headers), want, "{value}");
        }
    }
}
