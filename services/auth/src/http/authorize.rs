//! `POST /internal/v1/authorize {token, action, resource: {owner, project?, team?}}` →
//! `{allowed, subject, reason, status}`: the decision the gateway asks for on every request.
//!
//! The answer is always a 200 carrying the decision; `status` says what the gateway answers the
//! client: 200 allowed, 401 bad/expired/revoked token, 404 no relation to the org (or no such org),
//! 403 otherwise. This route is internal: only the gateway (or the embedding process) reaches it;
//! with `internal_token` set, callers must send it in `x-myelin-internal-token` (else 403).

use axum::Json;
use axum::extract::State;
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::dto::{AuthorizeAnswer, AuthorizeRequest, ResourceRef};
use super::openapi::ErrorBody;
use super::{AppState, Body};
use crate::domain::rbac::{Action, Decision, DenyStatus, authorize};
use crate::error::Error;
use crate::store::{Store, facts, orgs};

pub use myelin_contracts::auth::INTERNAL_TOKEN_HEADER;

/// The decision the gateway asks for on every request: always a 200 that carries it.
#[utoipa::path(
    post, path = "/internal/v1/authorize", tag = "internal", operation_id = "Authorize",
    security((), ("internal_token" = [])), request_body = AuthorizeRequest,
    responses(
        (status = 200, body = AuthorizeAnswer,
            description = "The decision; `status` is what the gateway answers the client (200, 401, 403 or 404)"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body` (an unknown `action` too)"),
        (status = 403, body = ErrorBody,
            description = "`auth.forbidden`: `x-myelin-internal-token` is missing or wrong (when configured)"),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(request): Body<AuthorizeRequest>,
) -> Result<Json<AuthorizeAnswer>, Error> {
    check_internal(&state, &headers)?;
    evaluate(&state.store, &request.token, request.action, &request.resource)
        .await
        .map(Json)
}

/// With `internal_token` configured, the caller must send it in [`INTERNAL_TOKEN_HEADER`] (else
/// 403): only the gateway reaches the internal routes.
pub fn check_internal(state: &AppState, headers: &HeaderMap) -> Result<(), Error> {
    if let Some(expected) = &state.settings.internal_token {
        let given = headers
            .get(INTERNAL_TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(given.ct_eq(expected.expose_secret().as_bytes())) {
            return Err(Error::Forbidden(format!(
                "`{INTERNAL_TOKEN_HEADER}` is missing or wrong"
            )));
        }
    }
    Ok(())
}

fn deny(subject: Option<String>, status: u16, reason: String) -> AuthorizeAnswer {
    AuthorizeAnswer {
        allowed: false,
        subject,
        reason: Some(reason),
        status,
    }
}

/// May the holder of `token` do `action` on `resource`? Errors only when the database fails.
pub async fn evaluate(
    store: &Store,
    token: &SecretString,
    action: Action,
    resource: &ResourceRef,
) -> Result<AuthorizeAnswer, Error> {
    let subject = match facts::authenticate(store, token).await {
        Ok(subject) => subject,
        Err(err @ (Error::Unauthenticated | Error::TokenExpired | Error::TokenRevoked)) => {
            return Ok(deny(None, 401, err.to_string()));
        }
        Err(err) => return Err(err),
    };
    let name = subject.name();
    let Some(org) = orgs::by_name(store, &resource.owner).await? else {
        return Ok(deny(Some(name), 404, "no such organization".into()));
    };
    let subject_facts = facts::subject_facts(store, &org, &subject).await?;
    let resource_facts =
        facts::resource_facts(store, &org, resource.team.as_deref(), resource.project.as_deref()).await?;
    Ok(match authorize(&subject_facts, action, &resource_facts) {
        Decision::Allow => AuthorizeAnswer {
            allowed: true,
            subject: Some(name),
            reason: None,
            status: 200,
        },
        Decision::Deny {
            status: DenyStatus::NotFound,
            reason,
        } => deny(Some(name), 404, reason),
        Decision::Deny {
            status: DenyStatus::Forbidden,
            reason,
        } => deny(Some(name), 403, reason),
    })
}
