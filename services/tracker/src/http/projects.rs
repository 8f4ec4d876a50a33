//! Project routes: `POST /api/v1/{owner}/projects/create`, `GET /api/v1/{owner}/projects/list`,
//! `GET|PATCH|PUT|DELETE /api/v1/{owner}/{project}`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;

use myelin_contracts::{CreateProject, ListQuery, ListResponse, PatchProject, Project};

use super::{AppState, Body, ErrorBody, ListParams};
use crate::context::RequestContext;
use crate::error::Error;
use crate::store::projects as store;

/// Creates a project (201). Duplicate name → 409 `tracker.project_exists`.
#[utoipa::path(
    post, path = "/api/v1/{owner}/projects/create", tag = "projects",
    params(("owner" = String, Path)), request_body = CreateProject,
    responses(
        (status = 201, body = Project),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(owner): Path<String>,
    Body(body): Body<CreateProject>,
) -> Result<(StatusCode, Json<Project>), Error> {
    let project = store::create(&state.store, &ctx, &owner, body).await?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// Lists an owner's projects (`offset`, `limit`, `sort` on created_at/updated_at/name, `query` on name).
#[utoipa::path(
    get, path = "/api/v1/{owner}/projects/list", tag = "projects",
    params(("owner" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<Project>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path(owner): Path<String>,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<Project>>, Error> {
    Ok(Json(store::list(&state.store, &owner, &query).await?))
}

/// Gets a project.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}", tag = "projects",
    params(("owner" = String, Path), ("project" = String, Path)),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody))
)]
pub async fn get(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
) -> Result<Json<Project>, Error> {
    Ok(Json(store::get(&state.store, &owner, &project).await?))
}

/// Updates the fields present in the body (PUT behaves the same).
#[utoipa::path(
    patch, path = "/api/v1/{owner}/{project}", tag = "projects",
    params(("owner" = String, Path), ("project" = String, Path)), request_body = PatchProject,
    responses(
        (status = 200, body = Project), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
    Body(body): Body<PatchProject>,
) -> Result<Json<Project>, Error> {
    Ok(Json(store::patch(&state.store, &ctx, &owner, &project, body).await?))
}

/// Deletes a project and its runs (204).
#[utoipa::path(
    delete, path = "/api/v1/{owner}/{project}", tag = "projects",
    params(("owner" = String, Path), ("project" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))
)]
pub async fn delete(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    store::delete(&state.store, &ctx, &owner, &project).await?;
    Ok(StatusCode::NO_CONTENT)
}
