//! `GET /api/v1/orgs/{owner}/audit?offset=&limit=`: the org's audit log, newest first (owners and
//! managers: `audit.view`).

use axum::Json;
use axum::extract::{Path, Query, State};
use myelin_contracts::ListResponse;

use super::dto::AuditEntry;
use super::guard::check;
use super::openapi::{ErrorBody, FORBIDDEN, ORG_NOT_FOUND, UNAUTHENTICATED};
use super::{AppState, Caller, Page};
use crate::domain::rbac::{Action, ResourceFacts};
use crate::error::Error;
use crate::store::audit;

/// Most entries per page.
pub const MAX_LIMIT: u64 = 1000;

/// One page of the org's audit log.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/audit", tag = "audit", operation_id = "ListAuditEntries",
    security(("token" = [])), params(("owner" = String, Path), Page),
    responses(
        (status = 200, body = ListResponse<AuditEntry>, description = "Newest first; `count` over all pages"),
        (status = 400, body = ErrorBody, description = "The query string is malformed"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<ListResponse<AuditEntry>>, Error> {
    check(&state, &subject, &owner, Action::AuditView, ResourceFacts::default()).await?;
    let limit = page.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let (count, rows) = audit::list(&state.store, &owner, page.offset.unwrap_or(0), limit).await?;
    let results = rows
        .into_iter()
        .map(|row| AuditEntry {
            actor: row.actor,
            action: row.action,
            resource: row.resource,
            result: row.result,
            status: u16::try_from(row.status).unwrap_or(0),
            at: row.at,
        })
        .collect();
    Ok(Json(ListResponse {
        count,
        results,
        previous: None,
        next: None,
    }))
}
