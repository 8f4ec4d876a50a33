//! Run routes: `POST|GET /api/v1/{owner}/{project}/runs`,
//! `GET|PATCH|PUT|DELETE /api/v1/{owner}/{project}/runs/{uuid}`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_contracts::{CreateRun, ListQuery, ListResponse, PatchRun, Run};

use super::{AppState, Body, ErrorBody, ListParams, run_uuid};
use crate::context::RequestContext;
use crate::error::Error;
use crate::store::runs as store;

/// Creates a run (201) from a Polyaxonfile in `content` (invalid → 400 `tracker.invalid_polyaxonfile`
/// with the field's path and line), or an unmanaged run without content (SDK).
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs", tag = "runs",
    params(("owner" = String, Path), ("project" = String, Path)), request_body = CreateRun,
    responses((status = 201, body = Run), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
    Body(body): Body<CreateRun>,
) -> Result<(StatusCode, Json<Run>), Error> {
    let run = store::create(&state.store, &ctx, &owner, &project, body).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Lists a project's runs, newest first by default. Archived runs are hidden unless the query
/// names `archived`.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs", tag = "runs",
    params(("owner" = String, Path), ("project" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<Run>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project)): Path<(String, String)>,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<Run>>, Error> {
    Ok(Json(store::list(&state.store, &owner, &project, &query).await?))
}

/// Gets a run.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}", tag = "runs",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, body = Run), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): Path<(String, String, String)>,
) -> Result<Json<Run>, Error> {
    Ok(Json(
        store::get(&state.store, &owner, &project, run_uuid(&uuid)?).await?,
    ))
}

/// Updates a run; with `merge: true`, merges `inputs`/`outputs`/`meta_info` and adds `tags`.
#[utoipa::path(
    patch, path = "/api/v1/{owner}/{project}/runs/{uuid}", tag = "runs",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = PatchRun,
    responses((status = 200, body = Run), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn patch(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project, uuid)): Path<(String, String, String)>,
    Body(body): Body<PatchRun>,
) -> Result<Json<Run>, Error> {
    Ok(Json(
        store::patch(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?, body).await?,
    ))
}

/// Deletes a run (204).
#[utoipa::path(
    delete, path = "/api/v1/{owner}/{project}/runs/{uuid}", tag = "runs",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project, uuid)): Path<(String, String, String)>,
) -> Result<StatusCode, Error> {
    store::delete(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
