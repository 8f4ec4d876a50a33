//! Organizations and their members: `POST /api/v1/orgs/create`, `GET /api/v1/orgs/list`, `GET|DELETE /api/v1/orgs/{owner}`,
//! `GET|POST /api/v1/orgs/{owner}/members`, `PATCH|PUT|DELETE /api/v1/orgs/{owner}/members/{user}`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_common::ApiError;
use myelin_contracts::ListResponse;

use super::dto::{self, MemberCreate, MemberPatch, OrgCreate};
use super::guard::{Audit, check};
use super::openapi::{ErrorBody, FORBIDDEN, INVALID_BODY, ORG_NOT_FOUND, UNAUTHENTICATED};
use super::{AppState, Body, Caller};
use crate::domain::names::OrgName;
use crate::domain::rbac::{Action, OrgRole, ResourceFacts};
use crate::error::Error;
use crate::store::entities::{org, org_member, user};
use crate::store::facts::Subject;
use crate::store::{orgs, users};

/// Org names that would collide with the fixed segments of `/api/v1/orgs/...`.
pub const RESERVED: [&str; 3] = ["create", "list", "names"];

/// The orgs the caller belongs to, with their role (a service account: its own org).
#[utoipa::path(
    get, path = "/api/v1/orgs/list", tag = "orgs", operation_id = "ListOrganizations", security(("token" = [])),
    responses(
        (status = 200, body = ListResponse<dto::Organization>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(subject): Caller,
) -> Result<Json<ListResponse<dto::Organization>>, Error> {
    let results: Vec<_> = match &subject {
        Subject::User(user) => orgs::of_user(&state.store, user.id)
            .await?
            .into_iter()
            .map(|(org, role)| org_dto(org, Some(role)))
            .collect(),
        Subject::ServiceAccount(sa, role) => orgs::by_id(&state.store, sa.org_id)
            .await?
            .map(|org| org_dto(org, Some(*role)))
            .into_iter()
            .collect(),
    };
    Ok(Json(ListResponse {
        count: results.len() as u64,
        results,
        previous: None,
        next: None,
    }))
}

/// Creates an org; the calling user becomes its owner (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/create", tag = "orgs", operation_id = "CreateOrganization",
    security(("token" = [])), request_body = OrgCreate,
    responses(
        (status = 201, body = dto::Organization),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`, `auth.invalid_name` (`name`; or reserved)"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.users_only`: a service account cannot"),
        (status = 409, body = ErrorBody, description = "`auth.org_exists`"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Body(body): Body<OrgCreate>,
) -> Result<(StatusCode, Json<dto::Organization>), ApiError> {
    let audit = Audit::new(
        &state,
        subject.name(),
        Some(&body.name),
        "org.create",
        body.name.clone(),
    )
    .org_only_if_ok();
    let result = async {
        let user = subject.user().ok_or(Error::UsersOnly("create organizations"))?;
        let name: OrgName = body.name.parse().map_err(|e| Error::invalid_name("name", e))?;
        if RESERVED.contains(&name.as_str()) {
            return Err(Error::bad_field(
                "auth.invalid_name",
                "name",
                format!("`{name}` is reserved"),
            ));
        }
        let org = orgs::create(&state.store, &name, user).await?;
        Ok(org_dto(org, Some(OrgRole::Owner)))
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|o| (StatusCode::CREATED, Json(o)))
}

/// The org, with the caller's role.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}", tag = "orgs", operation_id = "GetOrganization", security(("token" = [])),
    params(("owner" = String, Path)),
    responses(
        (status = 200, body = dto::Organization),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
) -> Result<Json<dto::Organization>, Error> {
    let guarded = check(&state, &subject, &owner, Action::OrgView, ResourceFacts::default()).await?;
    Ok(Json(org_dto(guarded.org, guarded.facts.org_role)))
}

/// Deletes the org and everything it holds (owners only; 204).
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}", tag = "orgs", operation_id = "DeleteOrganization",
    security(("token" = [])), params(("owner" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
) -> Result<StatusCode, ApiError> {
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::OrgDelete, owner.clone());
    let result = async {
        let guarded = check(&state, &subject, &owner, Action::OrgDelete, ResourceFacts::default()).await?;
        orgs::delete(&state.store, guarded.org.id).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// The members and their roles.
#[utoipa::path(
    get, path = "/api/v1/orgs/{owner}/members", tag = "orgs", operation_id = "ListOrganizationMembers",
    security(("token" = [])), params(("owner" = String, Path)),
    responses(
        (status = 200, body = ListResponse<dto::Member>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = FORBIDDEN),
        (status = 404, body = ErrorBody, description = ORG_NOT_FOUND),
    )
)]
pub async fn members(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
) -> Result<Json<ListResponse<dto::Member>>, Error> {
    let guarded = check(&state, &subject, &owner, Action::MemberList, ResourceFacts::default()).await?;
    let mut results = Vec::new();
    for (row, user) in orgs::members(&state.store, guarded.org.id).await? {
        results.push(member_dto(row, user)?);
    }
    Ok(Json(ListResponse {
        count: results.len() as u64,
        results,
        previous: None,
        next: None,
    }))
}

/// Adds an existing user with a role no higher than the caller's (201).
#[utoipa::path(
    post, path = "/api/v1/orgs/{owner}/members", tag = "orgs", operation_id = "CreateOrganizationMember",
    security(("token" = [])), params(("owner" = String, Path)), request_body = MemberCreate,
    responses(
        (status = 201, body = dto::Member),
        (status = 400, body = ErrorBody, description = INVALID_BODY),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: not allowed, or a role above the caller's"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.user_not_found`"),
        (status = 409, body = ErrorBody, description = "`auth.member_exists`"),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(owner): Path<String>,
    Body(body): Body<MemberCreate>,
) -> Result<(StatusCode, Json<dto::Member>), ApiError> {
    let resource = format!("{owner}/members/{}", body.user);
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::MemberAdd, resource);
    let result = async {
        let facts = ResourceFacts {
            target_role: Some(body.role),
            ..ResourceFacts::default()
        };
        let guarded = check(&state, &subject, &owner, Action::MemberAdd, facts).await?;
        let user = users::get(&state.store, &body.user).await?;
        let row = orgs::add_member(&state.store, guarded.org.id, &user, body.role).await?;
        member_dto(row, user)
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|m| (StatusCode::CREATED, Json(m)))
}

/// Changes a member's role; neither the new nor the current role may be above the caller's.
#[utoipa::path(
    patch, path = "/api/v1/orgs/{owner}/members/{user}", tag = "orgs", operation_id = "PatchOrganizationMember",
    security(("token" = [])), params(("owner" = String, Path), ("user" = String, Path)), request_body = MemberPatch,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, body = ErrorBody, description = INVALID_BODY),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody,
            description = "`auth.forbidden`: not allowed, or the new or current role is above the caller's"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.member_not_found`"),
        (status = 409, body = ErrorBody, description = "`auth.last_owner`: the org would have no owner left"),
    )
)]
pub async fn change_role(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, member)): Path<(String, String)>,
    Body(body): Body<MemberPatch>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/members/{member}");
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::MemberChangeRole, resource);
    let result = async {
        let mut facts = ResourceFacts {
            target_role: Some(body.role),
            ..ResourceFacts::default()
        };
        let org = check(&state, &subject, &owner, Action::MemberChangeRole, facts.clone())
            .await?
            .org;
        let (user, current) = target_member(&state, &org, &member).await?;
        facts.target_current_role = Some(current);
        check(&state, &subject, &owner, Action::MemberChangeRole, facts).await?;
        orgs::set_role(&state.store, org.id, &user, body.role).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Changes a member's role, as `PATCH` does (Polyaxon routes both; its `UpdateOrganizationMember`).
#[utoipa::path(
    put, path = "/api/v1/orgs/{owner}/members/{user}", tag = "orgs", operation_id = "UpdateOrganizationMember",
    security(("token" = [])), params(("owner" = String, Path), ("user" = String, Path)), request_body = MemberPatch,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, body = ErrorBody, description = INVALID_BODY),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody,
            description = "`auth.forbidden`: not allowed, or the new or current role is above the caller's"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.member_not_found`"),
        (status = 409, body = ErrorBody, description = "`auth.last_owner`: the org would have no owner left"),
    )
)]
pub async fn replace_role(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    body: Body<MemberPatch>,
) -> Result<StatusCode, ApiError> {
    change_role(state, caller, path, body).await
}

/// Removes a member (and their team memberships in the org); 204.
#[utoipa::path(
    delete, path = "/api/v1/orgs/{owner}/members/{user}", tag = "orgs", operation_id = "DeleteOrganizationMember",
    security(("token" = [])), params(("owner" = String, Path), ("user" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.forbidden`: not allowed, or the member's role is above the caller's"),
        (status = 404, body = ErrorBody, description = "`auth.org_not_found`, `auth.member_not_found`"),
        (status = 409, body = ErrorBody, description = "`auth.last_owner`: the org would have no owner left"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path((owner, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("{owner}/members/{member}");
    let audit = Audit::new(&state, subject.name(), Some(&owner), Action::MemberRemove, resource);
    let result = async {
        let org = check(&state, &subject, &owner, Action::MemberRemove, ResourceFacts::default())
            .await?
            .org;
        let (user, current) = target_member(&state, &org, &member).await?;
        let facts = ResourceFacts {
            target_current_role: Some(current),
            ..ResourceFacts::default()
        };
        check(&state, &subject, &owner, Action::MemberRemove, facts).await?;
        orgs::remove_member(&state.store, org.id, &user).await
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// The member's user row and current role, else 404 `auth.member_not_found`. Called after a first
/// check, so only callers allowed to manage members learn whether someone is a member.
async fn target_member(state: &AppState, org: &org::Model, member: &str) -> Result<(user::Model, OrgRole), Error> {
    let user = users::by_username(&state.store, member).await?;
    let role = match &user {
        Some(user) => orgs::member_role(&state.store, org.id, user.id).await?,
        None => None,
    };
    match (user, role) {
        (Some(user), Some(role)) => Ok((user, role)),
        _ => Err(Error::not_found("member", member)),
    }
}

fn org_dto(org: org::Model, role: Option<OrgRole>) -> dto::Organization {
    dto::Organization {
        name: org.name,
        user: org.created_by,
        role,
        created_at: org.created_at,
        updated_at: org.updated_at,
    }
}

fn member_dto(row: org_member::Model, user: user::Model) -> Result<dto::Member, Error> {
    Ok(dto::Member {
        user: user.username,
        user_email: user.email,
        role: orgs::parse_role(&row.role)?,
        kind: "user".into(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
