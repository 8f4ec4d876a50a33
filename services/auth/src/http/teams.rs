//! Teams, their members and their project grants: `GET|POST /api/v1/orgs/{owner}/teams`,
//! `GET|PATCH|PUT|DELETE .../teams/{team}`, `GET|POST .../teams/{team}/members`,
//! `DELETE .../teams/{team}/members/{user}` (grants: [`super::grants`]).

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_common::ApiError;
use myelin_contracts::ListResponse;

use super::dto::{self, TeamMemberCreate, TeamWrite};
use super::guard::{Audit, check};
use super::openapi::{ErrorBody, FORBIDDEN, UNAUTHENTICATED};
use super::{AppState, Body, Caller};
use crate::domain::names::TeamName;
use crate::domain::rbac::{Action, ResourceFacts, SubjectFacts, TeamMembership, TeamRole};
use crate::error::Error;
use crate::store::entities::team;
use crate::store::{orgs, teams, users};

pub(super) fn on_team(team: &str) -> ResourceFacts {
    ResourceFacts {
        team: Some(team.to_owned()),
        ..ResourceFacts::default()
    }
}

pub(super) fn page<T>(results: Vec<T>) -> ListResponse<T> {
    ListResponse {
        count: results.len() as u64,
        results,
        previous: None,
        next: None,
    }
}

/// The org's teams.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/teams", tag = "teams", operation_id = "ListTeams", security(("token" = [])),
    params(("owner" = String, Path)),
    responses(
        (status = 200, body = ListResponse<dto::Team>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`: no such org, or the caller has no relation to it"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
) -> Result<Json<ListResponse<dto::Team>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::TeamList, ResourceFacts::default()).await?;
    let mut results = Vec::new();
    for team in teams::list(&state.store, guarded.org.id).await? {
        results.push(team_dto(&state, &owner, team, &guarded.facts).await?);
    }
    Ok(Json(page(results)))
}

/// Creates a team; a creating user becomes its admin (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/teams", tag = "teams", operation_id = "CreateTeam", security(("token" = [])),
    params(("owner" = String, Path)), request_body = TeamWrite,
    responses(
        (status = 201, body = dto::Team),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`, `auth.invalid_name` (`name`)"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`: no such org, or the caller has no relation to it"),
        (status = 409, body = ErrorBody, description = "`auth.team_exists`"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
    Body(body): Body<TeamWrite>,
) -> Result<(StatusCode, Json<dto::Team>), ApiError> {
    let resource = format!("{owner}/teams/{}", body.name);
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::TeamCreate, resource);
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::TeamCreate, ResourceFacts::default()).await?;
        let name: TeamName = body.name.parse().map_err(|e| Error::invalid_name("name", e))?;
        let team = teams::create(&state.store, guarded.org.id, &name, &subject.name(), subject.user()).await?;
        let mut facts = guarded.facts;
        if subject.user().is_some() {
            facts.teams.push(TeamMembership {
                team: team.name.clone(),
                role: TeamRole::Admin,
            });
        }
        team_dto(&state, &owner, team, &facts).await
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|t| (StatusCode::CREATED, Json(t)))
}

/// One team, with its projects and the caller's role in it.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/teams/{team}", tag = "teams", operation_id = "GetTeam", security(("token" = [])),
    params(("owner" = String, Path), ("team" = String, Path)),
    responses(
        (status = 200, body = dto::Team),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
) -> Result<Json<dto::Team>, Error> {
    let guarded = check(&state, &subject, &owner, Action::TeamView, on_team(&team)).await?;
    let row = teams::get(&state.store, guarded.org.id, &team).await?;
    Ok(Json(team_dto(&state, &owner, row, &guarded.facts).await?))
}

/// Renames a team.
#[utoipa::path(
    patch, path = "/api/v1/orgs/{owner}/teams/{team}", tag = "teams", operation_id = "PatchTeam",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)), request_body = TeamWrite,
    responses(
        (status = 200, body = dto::Team),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`, `auth.invalid_name` (`name`)"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
        (status = 409, body = ErrorBody, description = "`auth.team_exists`: the new name is taken"),
    )
)]
pub async fn rename(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
    Body(body): Body<TeamWrite>,
) -> Result<Json<dto::Team>, ApiError> {
    let audit = Audit::new(
        &state,
        subject.name(),
        Some(&owner),
        Action::TeamUpdate,
        format!("{owner}/teams/{team}"),
    );
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::TeamUpdate, on_team(&team)).await?;
        let name: TeamName = body.name.parse().map_err(|e| Error::invalid_name("name", e))?;
        let row = teams::get(&state.store, guarded.org.id, &team).await?;
        let row = teams::rename(&state.store, &row, &name).await?;
        team_dto(&state, &owner, row, &guarded.facts).await
    }
    .await;
    audit.finish(result, StatusCode::OK).await.map(Json)
}

/// Renames a team, as `PATCH` does (Polyaxon routes both; its `UpdateTeam`).
#[utoipa::path(
    put, path = "/api/v1/orgs/{owner}/teams/{team}", tag = "teams", operation_id = "UpdateTeam",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)), request_body = TeamWrite,
    responses(
        (status = 200, body = dto::Team),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`, `auth.invalid_name` (`name`)"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
        (status = 409, body = ErrorBody, description = "`auth.team_exists`: the new name is taken"),
    )
)]
pub async fn replace(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    body: Body<TeamWrite>,
) -> Result<Json<dto::Team>, ApiError> {
    rename(state, caller, path, body).await
}

/// Deletes a team, its memberships and grants (204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/teams/{team}", tag = "teams", operation_id = "DeleteTeam",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let audit = Audit::new(
        &state,
        subject.name(),
        Some(&owner),
        Action::TeamDelete,
        format!("{owner}/teams/{team}"),
    );
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::TeamDelete, on_team(&team)).await?;
        let row = teams::get(&state.store, guarded.org.id, &team).await?;
        teams::delete(&state.store, row.id).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// The team's members, with their team and org roles.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/teams/{team}/members", tag = "teams", operation_id = "ListTeamMembers",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)),
    responses(
        (status = 200, body = ListResponse<dto::TeamMember>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`"),
    )
)]
pub async fn members(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
) -> Result<Json<ListResponse<dto::TeamMember>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::TeamView, on_team(&team)).await?;
    let row = teams::get(&state.store, guarded.org.id, &team).await?;
    let mut results = Vec::new();
    for (role, user) in teams::members(&state.store, row.id).await? {
        let org_role = orgs::member_role(&state.store, guarded.org.id, user.id).await?;
        results.push(dto::TeamMember {
            user: user.username,
            user_email: user.email,
            role,
            org_role,
        });
    }
    Ok(Json(page(results)))
}

/// Adds a user to the team, or changes their team role (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/teams/{team}/members", tag = "teams", operation_id = "CreateTeamMember",
    security(("token" = [])), params(("owner" = String, Path), ("team" = String, Path)),
    request_body = TeamMemberCreate,
    responses(
        (status = 201, description = "Added, or the team role changed"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.team_not_found`, `auth.user_not_found`"),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team)): Path<(String, String)>,
    Body(body): Body<TeamMemberCreate>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/teams/{team}/members/{}", body.user);
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::TeamMemberAdd, resource);
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::TeamMemberAdd, on_team(&team)).await?;
        let row = teams::get(&state.store, guarded.org.id, &team).await?;
        let user = users::get(&state.store, &body.user).await?;
        teams::set_member(&state.store, row.id, &user, body.role).await
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|()| StatusCode::CREATED)
}

/// Removes a user from the team (204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/teams/{team}/members/{user}", tag = "teams",
    operation_id = "DeleteTeamMember", security(("token" = [])),
    params(("owner" = String, Path), ("team" = String, Path), ("user" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody,
            description = "`auth.org_not_found`, `auth.team_not_found`, `auth.user_not_found`, `auth.team_member_not_found`"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, team, member)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/teams/{team}/members/{member}");
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::TeamMemberRemove, resource);
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::TeamMemberRemove, on_team(&team)).await?;
        let row = teams::get(&state.store, guarded.org.id, &team).await?;
        let user = users::get(&state.store, &member).await?;
        teams::remove_member(&state.store, row.id, &user).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn team_dto(state: &AppState, owner: &str, team: team::Model, facts: &SubjectFacts) -> Result<dto::Team, Error> {
    Ok(dto::Team {
        projects: teams::projects(&state.store, team.id).await?,
        role: facts.team_role(&team.name),
        uuid: team.uuid,
        owner: owner.to_owned(),
        name: team.name,
        user: team.created_by,
        created_at: team.created_at,
        updated_at: team.updated_at,
    })
}
