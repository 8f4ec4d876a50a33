//! What the gateway tells auth after forwarding a request: the audit records of mutating requests
//! (`POST /internal/v1/audit`) and that a user created a project (`POST
//! /internal/v1/projects/created`: the creator administers it, as an org admin administers the
//! projects they create) or deleted one (`POST /internal/v1/projects/deleted`: the grants naming
//! it go). Internal routes: `x-myelin-internal-token` when configured.

use axum::extract::State;
use http::{HeaderMap, StatusCode};
use myelin_contracts::auth::{AuditRecord, ProjectCreated, ProjectRef};

use super::authorize::check_internal;
use super::openapi::ErrorBody;
use super::{AppState, Body};
use crate::domain::rbac::{OrgRole, TeamRole};
use crate::error::Error;
use crate::store::{audit, orgs, projects, users};

/// Records every entry, in order.
#[utoipa::path(
    post, path = "/internal/v1/audit", tag = "internal", operation_id = "RecordAudit",
    security((), ("internal_token" = [])), request_body = Vec<AuditRecord>,
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`"),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: wrong `x-myelin-internal-token`"),
    )
)]
pub async fn record_audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(records): Body<Vec<AuditRecord>>,
) -> Result<StatusCode, Error> {
    check_internal(&state, &headers)?;
    for record in records {
        let entry = audit::Entry {
            org: Some(record.org),
            actor: record.actor,
            action: record.action,
            resource: record.resource,
            result: record.result,
            status: record.status,
        };
        audit::record(&state.store, entry).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The creator of a project becomes its admin (unless their org role already covers every
/// project: manager, owner).
#[utoipa::path(
    post, path = "/internal/v1/projects/created", tag = "internal", operation_id = "ProjectCreated",
    security((), ("internal_token" = [])), request_body = ProjectCreated,
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`"),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: wrong `x-myelin-internal-token`"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.user_not_found`"),
    )
)]
pub async fn project_created(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(created): Body<ProjectCreated>,
) -> Result<StatusCode, Error> {
    check_internal(&state, &headers)?;
    let store = &state.store;
    let org = orgs::by_name(store, &created.owner)
        .await?
        .ok_or_else(|| Error::not_found("org", &created.owner))?;
    let user = users::by_username(store, &created.user)
        .await?
        .ok_or_else(|| Error::not_found("user", &created.user))?;
    let role = orgs::member_role(store, org.id, user.id).await?;
    if role.is_some_and(|role| role >= OrgRole::Manager) {
        return Ok(StatusCode::NO_CONTENT);
    }
    projects::set_member(store, org.id, &created.project, &user, TeamRole::Admin, &created.user).await?;
    crate::invalidation::publish(
        &state.coord,
        &crate::invalidation::Invalidation::Org { org: created.owner },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Forgets the grants naming a deleted project.
#[utoipa::path(
    post, path = "/internal/v1/projects/deleted", tag = "internal", operation_id = "ProjectDeleted",
    security((), ("internal_token" = [])), request_body = ProjectRef,
    responses(
        (status = 204, description = "Forgotten"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`"),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: wrong `x-myelin-internal-token`"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`"),
    )
)]
pub async fn project_deleted(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(deleted): Body<ProjectRef>,
) -> Result<StatusCode, Error> {
    check_internal(&state, &headers)?;
    let org = orgs::by_name(&state.store, &deleted.owner)
        .await?
        .ok_or_else(|| Error::not_found("org", &deleted.owner))?;
    projects::forget(&state.store, org.id, &deleted.project).await?;
    crate::invalidation::publish(
        &state.coord,
        &crate::invalidation::Invalidation::Org { org: deleted.owner },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
