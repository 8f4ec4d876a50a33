//! Projects granted to teams: `GET|POST /api/v1/orgs/{owner}/teams/{team}/projects`,
//! `DELETE .../teams/{team}/projects/{project}`. Granting needs `project.grant` on the project and,
//! below manager, administering both the project (through a team) and the target team.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_common::ApiError;
use myelin_contracts::ListResponse;

use super::dto::GrantCreate;
use super::guard::{Audit, check};
use super::openapi::{ErrorBody, FORBIDDEN, UNAUTHENTICATED};
use super::teams::{on_team, page};
use super::{AppState, Body, Caller};
use crate::domain::rbac::{Action, ResourceFacts};
use crate::error::Error;
use crate::store::teams;

/// The projects granted to the team.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/teams/{team}/projects", tag = "teams", operation_id = "ListTeamProjects",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)),
    responses(
        (status = 200, body = ListResponse<String>, description = "The names of the projects granted to the team"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
    )
)]
pub async fn projects(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
) -> Result<Json<ListResponse<String>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::TeamView, on_team(&team)).await?;
    let row = teams::get(&state.store, guarded.org.id, &team).await?;
    Ok(Json(page(teams::projects(&state.store, row.id).await?)))
}

/// Grants a project to the team (201, idempotent).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/teams/{team}/projects", tag = "teams", operation_id = "CreateTeamProject",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)), request_body = GrantCreate,
    responses(
        (status = 201, description = "Granted (or already granted)"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`, `auth.invalid_name` (`project`)"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
    Body(body): Body<GrantCreate>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/{}@teams/{team}", body.project);
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::ProjectGrant, resource);
    let result = async {
        let facts = ResourceFacts {
            project: Some(body.project.clone()),
            ..on_team(&team)
        };
        let guarded = check(&state, &subject, &owner, Action::ProjectGrant, facts).await?;
        let row = teams::get(&state.store, guarded.org.id, &team).await?;
        if body.project.is_empty() || body.project.contains('/') {
            return Err(Error::bad_field(
                "auth.invalid_name",
                "project",
                "a project name, without `/`",
            ));
        }
        teams::grant(&state.store, row.id, &body.project, &subject.name()).await
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|()| StatusCode::CREATED)
}

/// Withdraws a project's grant from the team (204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/teams/{team}/projects/{project}", tag = "teams",
    operation_id = "DeleteTeamProject", security(("token" = [])),
    params(("owner" = String, Path), ("team" = String, Path), ("project" = String, Path)),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`, `auth.grant_not_found`"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team, project)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/{project}@teams/{team}");
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::ProjectGrant, resource);
    let result = async {
        let facts = ResourceFacts {
            project: Some(project.clone()),
            ..on_team(&team)
        };
        let guarded = check(&state, &subject, &owner, Action::ProjectGrant, facts).await?;
        let row = teams::get(&state.store, guarded.org.id, &team).await?;
        teams::revoke(&state.store, row.id, &project).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}
