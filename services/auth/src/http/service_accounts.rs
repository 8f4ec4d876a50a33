//! Service accounts and their tokens: `GET|POST /api/v1/orgs/{owner}/sa`,
//! `DELETE /api/v1/orgs/{owner}/sa/{name}`, `GET|POST .../sa/{name}/tokens`,
//! `DELETE .../sa/{name}/tokens/{uuid}`. Nobody creates, or manages the tokens of, a service
//! account whose role is above their own.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_common::ApiError;
use myelin_contracts::ListResponse;

use super::account::{issue, token_dto};
use super::dto::{self, ServiceAccountCreate, TokenCreate};
use super::guard::{Audit, check};
use super::openapi::{ErrorBody, FORBIDDEN, ORG_NOT_FOUND, UNAUTHENTICATED};
use super::{AppState, Body, Caller, parse_uuid};
use crate::domain::names::ServiceAccountName;
use crate::domain::rbac::{Action, ResourceFacts};
use crate::error::Error;
use crate::invalidation::{self, Invalidation};
use crate::store::entities::service_account;
use crate::store::facts::Subject;
use crate::store::service_accounts as store;
use crate::store::tokens::{self, TokenOwner};

/// The org's service accounts.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/sa", tag = "service_accounts", operation_id = "ListServiceAccounts",
    security(("token" = [])), params(("owner" = String, Path)),
    responses(
        (status = 200, body = ListResponse<dto::ServiceAccount>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
) -> Result<Json<ListResponse<dto::ServiceAccount>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::SaList, ResourceFacts::default()).await?;
    let results = store::list(&state.store, guarded.org.id)
        .await?
        .into_iter()
        .map(sa_dto)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ListResponse {
        count: results.len() as u64,
        results,
        previous: None,
        next: None,
    }))
}

/// Creates a service account with a role no higher than the caller's (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/sa", tag = "service_accounts", operation_id = "CreateServiceAccount",
    security(("token" = [])), params(("owner" = String, Path)), request_body = ServiceAccountCreate,
    responses(
        (status = 201, body = dto::ServiceAccount),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`, `auth.invalid_name` (`name`)"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: not allowed, or a role above the caller's"),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
        (status = 409, body = ErrorBody, description = "`auth.service_account_exists`"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
    Body(body): Body<ServiceAccountCreate>,
) -> Result<(StatusCode, Json<dto::ServiceAccount>), ApiError> {
    let resource = format!("{owner}/sa/{}", body.name);
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::SaCreate, resource);
    let result = async {
        let facts = ResourceFacts {
            target_role: Some(body.role),
            ..ResourceFacts::default()
        };
        let guarded = check(&state, &subject, &owner, Action::SaCreate, facts).await?;
        let name: ServiceAccountName = body.name.parse().map_err(|e| Error::invalid_name("name", e))?;
        let sa = store::create(
            &state.store,
            guarded.org.id,
            &name,
            body.role,
            body.description,
            &subject.name(),
        )
        .await?;
        sa_dto(sa)
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|sa| (StatusCode::CREATED, Json(sa)))
}

/// Deletes a service account and its tokens (204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/sa/{name}", tag = "service_accounts", operation_id = "DeleteServiceAccount",
    security(("token" = [])), params(("owner" = String, Path), ("name" = String, Path)),
    responses(
        (status = 204, description = "Deleted, with its tokens"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: not allowed, or the service account's role is above the caller's"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.service_account_not_found`"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let audit = Audit::new(
        &state,
        subject.name(),
        Some(&owner),
        Action::SaDelete,
        format!("{owner}/sa/{name}"),
    );
    let result = async {
        let sa = target(&state, &subject, &owner, &name, Action::SaDelete).await?;
        store::delete(&state.store, sa.id).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// The service account's tokens.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/sa/{name}/tokens", tag = "service_accounts",
    operation_id = "ListServiceAccountTokens", security(("token" = [])),
    params(("owner" = String, Path), ("name" = String, Path)),
    responses(
        (status = 200, body = ListResponse<dto::Token>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.service_account_not_found`"),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<ListResponse<dto::Token>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::SaList, ResourceFacts::default()).await?;
    let sa = store::get(&state.store, guarded.org.id, &name).await?;
    let results: Vec<_> = tokens::list(&state.store, TokenOwner::ServiceAccount(sa.id))
        .await?
        .into_iter()
        .map(|row| token_dto(row, None))
        .collect();
    Ok(Json(ListResponse {
        count: results.len() as u64,
        results,
        previous: None,
        next: None,
    }))
}

/// Creates a token for the service account; the answer holds the `key`, shown this once (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/sa/{name}/tokens", tag = "service_accounts",
    operation_id = "CreateServiceAccountToken", security(("token" = [])),
    params(("owner" = String, Path), ("name" = String, Path)), request_body = TokenCreate,
    responses(
        (status = 201, body = dto::Token, description = "The token, with its `key` (shown this once)"),
        (status = 400, body = ErrorBody,
            description = "`auth.invalid_body`, `auth.invalid_name` (`name`), `auth.invalid_expiration`"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: not allowed, or the service account's role is above the caller's"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.service_account_not_found`"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, name)): Path<(String, String)>,
    Body(body): Body<TokenCreate>,
) -> Result<(StatusCode, Json<dto::Token>), ApiError> {
    let resource = format!("{owner}/sa/{name}/tokens");
    let audit = Audit::new(&state, subject.name(), Some(&owner), "sa.token.create", resource);
    let result = async {
        let sa = target(&state, &subject, &owner, &name, Action::SaCreate).await?;
        let token_name = body.name.unwrap_or_else(|| name.clone());
        issue(&state, TokenOwner::ServiceAccount(sa.id), &token_name, body.expiration).await
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|t| (StatusCode::CREATED, Json(t)))
}

/// Revokes one of the service account's tokens (204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/sa/{name}/tokens/{uuid}", tag = "service_accounts",
    operation_id = "DeleteServiceAccountToken", security(("token" = [])),
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = String, Path, description = "The token's uuid")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_uuid`"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: not allowed, or the service account's role is above the caller's"),
        (status = 404, body = ErrorBody,
            description = "`auth.org_not_found`, `auth.service_account_not_found`, `auth.token_not_found`"),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, name, uuid)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/sa/{name}/tokens/{uuid}");
    let audit = Audit::new(&state, subject.name(), Some(&owner), "sa.token.revoke", resource);
    let result = async {
        let sa = target(&state, &subject, &owner, &name, Action::SaDelete).await?;
        let hash = tokens::revoke(&state.store, TokenOwner::ServiceAccount(sa.id), parse_uuid(&uuid)?).await?;
        invalidation::publish(&state.coord, &Invalidation::Token { token_hash: hash.0 }).await;
        Ok(())
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Checks `action` on the org, finds the service account, then checks again with its role as the
/// target's (so nobody manages a service account above their own role).
async fn target(
    state: &AppState,
    subject: &Subject,
    owner: &str,
    name: &str,
    action: Action,
) -> Result<service_account::Model, Error> {
    let guarded = check(state, subject, owner, action, ResourceFacts::default()).await?;
    let sa = store::get(&state.store, guarded.org.id, name).await?;
    let facts = ResourceFacts {
        target_current_role: Some(store::role(&sa)?),
        ..ResourceFacts::default()
    };
    check(state, subject, owner, action, facts).await?;
    Ok(sa)
}

fn sa_dto(sa: service_account::Model) -> Result<dto::ServiceAccount, Error> {
    Ok(dto::ServiceAccount {
        role: store::role(&sa)?,
        uuid: sa.uuid,
        name: sa.name,
        description: sa.description,
        user: sa.created_by,
        created_at: sa.created_at,
    })
}
