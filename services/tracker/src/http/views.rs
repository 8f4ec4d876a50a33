//! Saved view routes (Polyaxon's project searches): `GET|POST /api/v1/{owner}/{project}/searches`,
//! `GET|PATCH|PUT|DELETE /api/v1/{owner}/{project}/searches/{uuid}`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_contracts::{ListQuery, ListResponse};

use super::{AppState, Body, ErrorBody, ListParams};
use crate::context::RequestContext;
use crate::domain::views::{CreateView, PatchView, View};
use crate::error::Error;
use crate::store::views as store;

type ViewPath = Path<(String, String, String)>;

/// Saves a view of the project (201); `user` is the caller. A blank name → 400
/// `tracker.invalid_view`; a `spec.query`/`spec.sort` that is not valid PQL → 400
/// `tracker.invalid_query`/`tracker.invalid_sort`.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/searches", tag = "views",
    params(("owner" = String, Path), ("project" = String, Path)), request_body = CreateView,
    responses((status = 201, body = View), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
    Body(body): Body<CreateView>,
) -> Result<(StatusCode, Json<View>), Error> {
    let view = store::create(&state.store, &ctx, &owner, &project, body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The project's saved views (`offset`, `limit`, `sort` on created_at/updated_at/name, `query` on name).
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/searches", tag = "views",
    params(("owner" = String, Path), ("project" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<View>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<View>>, Error> {
    Ok(Json(store::list(&state.store, &owner, &project, &query).await?))
}

/// One saved view; one of another project → 404 `tracker.view_not_found`.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/searches/{uuid}", tag = "views",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, body = View), (status = 404, body = ErrorBody))
)]
pub async fn get(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): ViewPath,
) -> Result<Json<View>, Error> {
    Ok(Json(store::get(&state.store, &owner, &project, &uuid).await?))
}

/// Replaces the fields present in the body (PUT behaves the same).
#[utoipa::path(
    patch, path = "/api/v1/{owner}/{project}/searches/{uuid}", tag = "views",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = PatchView,
    responses((status = 200, body = View), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn patch(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): ViewPath,
    Body(body): Body<PatchView>,
) -> Result<Json<View>, Error> {
    Ok(Json(store::patch(&state.store, &owner, &project, &uuid, body).await?))
}

/// Deletes a saved view (204).
#[utoipa::path(
    delete, path = "/api/v1/{owner}/{project}/searches/{uuid}", tag = "views",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))
)]
pub async fn delete(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): ViewPath,
) -> Result<StatusCode, Error> {
    store::delete(&state.store, &owner, &project, &uuid).await?;
    Ok(StatusCode::NO_CONTENT)
}
