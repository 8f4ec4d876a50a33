//! Projects granted to users directly: `GET|POST /api/v1/orgs/{owner}/projects/{project}/members`,
//! `DELETE .../projects/{project}/members/{user}`. A direct `member` or `admin` role on a project
//! works like the same role in a team the project is granted to.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_common::ApiError;
use myelin_contracts::ListResponse;

use super::dto::{self, TeamMemberCreate};
use super::guard::{Audit, check};
use super::openapi::{ErrorBody, FORBIDDEN, ORG_NOT_FOUND, UNAUTHENTICATED};
use super::teams::page;
use super::{AppState, Body, Caller};
use crate::domain::rbac::{Action, ResourceFacts};
use crate::error::Error;
use crate::store::{orgs, projects, users};

fn on_project(project: &str) -> ResourceFacts {
    ResourceFacts {
        project: Some(project.to_owned()),
        ..ResourceFacts::default()
    }
}

/// The users granted the project directly, with their project and org roles.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/projects/{project}/members", tag = "orgs", operation_id = "ListProjectMembers",
    security(("token" = [])), params(("owner" = String, Path), ("project" = String, Path)),
    responses(
        (status = 200, body = ListResponse<dto::ProjectMember>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
    )
)]
pub async fn members(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, project)): Path<(String, String)>,
) -> Result<Json<ListResponse<dto::ProjectMember>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::ProjectView, on_project(&project)).await?;
    let mut results = Vec::new();
    for (role, user) in projects::members(&state.store, guarded.org.id, &project).await? {
        let org_role = orgs::member_role(&state.store, guarded.org.id, user.id).await?;
        results.push(dto::ProjectMember {
            user: user.username,
            user_email: user.email,
            role,
            org_role,
        });
    }
    Ok(Json(page(results)))
}

/// Gives a user a role on the project, or changes it (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/projects/{project}/members", tag = "orgs",
    operation_id = "CreateProjectMember", security(("token" = [])),
    params(("owner" = String, Path), ("project" = String, Path)), request_body = TeamMemberCreate,
    responses(
        (status = 201, description = "Given, or the project role changed"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.user_not_found`"),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, project)): Path<(String, String)>,
    Body(body): Body<TeamMemberCreate>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/{project}/members/{}", body.user);
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::ProjectMemberAdd, resource);
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::ProjectMemberAdd, on_project(&project)).await?;
        let user = users::get(&state.store, &body.user).await?;
        projects::set_member(
            &state.store,
            guarded.org.id,
            &project,
            &user,
            body.role,
            &subject.name(),
        )
        .await
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|()| StatusCode::CREATED)
}

/// Takes a user's role on the project away (204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/projects/{project}/members/{user}", tag = "orgs",
    operation_id = "DeleteProjectMember", security(("token" = [])),
    params(("owner" = String, Path), ("project" = String, Path), ("user" = String, Path)),
    responses(
        (status = 204, description = "Taken away"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody,
            description = "`auth.org_not_found`, `auth.user_not_found`, `auth.project_member_not_found`"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, project, member)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/{project}/members/{member}");
    let audit = Audit::new(
        &state,
        subject.name(),
        Some(&owner),
        Action::ProjectMemberRemove,
        resource,
    );
    let result = async {
        let guarded = check(
            &state,
            &subject,
            &owner,
            Action::ProjectMemberRemove,
            on_project(&project),
        )
        .await?;
        let user = users::get(&state.store, &member).await?;
        projects::remove_member(&state.store, guarded.org.id, &project, &user).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}
