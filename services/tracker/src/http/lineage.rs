//! Artifact lineage routes under `/api/v1/{owner}/{project}/runs/{uuid}/lineage`: `artifacts`
//! (`GET` a page, `POST` Polyaxon's `V1RunArtifacts`), `artifacts/names`, `DELETE artifacts/{name}`,
//! and the linked runs `upstream`, `downstream` and `clones`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_contracts::tracking::{RunArtifact, RunArtifactName, RunArtifacts, RunEdge};
use myelin_contracts::{ListQuery, ListResponse, Run};

use super::{AppState, Body, ErrorBody, ListParams, run_uuid};
use crate::context::RequestContext;
use crate::error::Error;
use crate::store::lineage::{self as store, Direction};

type RunPath = Path<(String, String, String)>;

/// Records artifacts the run consumed (`is_input`) or produced (201, no body); one with the same
/// `name` and `is_input` is replaced.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/artifacts", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = RunArtifacts,
    responses((status = 201), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn create(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): RunPath,
    Body(body): Body<RunArtifacts>,
) -> Result<StatusCode, Error> {
    store::upsert(&state.store, &owner, &project, run_uuid(&uuid)?, body.artifacts).await?;
    Ok(StatusCode::CREATED)
}

/// The run's artifacts (`{count, results, next, previous}`), by `created_at` unless `sort` says
/// otherwise (`name`, `kind`, `path`, `created_at`, `updated_at`).
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/artifacts", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<RunArtifact>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    Path((owner, project, uuid)): RunPath,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<RunArtifact>>, Error> {
    Ok(Json(
        store::list(&state.store, &owner, &project, run_uuid(&uuid)?, &query).await?,
    ))
}

/// The distinct names of the run's artifacts, sorted.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/artifacts/names", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<RunArtifactName>), (status = 404, body = ErrorBody))
)]
pub async fn names(
    State(state): State<AppState>,
    Path((owner, project, uuid)): RunPath,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<RunArtifactName>>, Error> {
    Ok(Json(
        store::names(&state.store, &owner, &project, run_uuid(&uuid)?, &query).await?,
    ))
}

/// Removes the artifact `name` (as input and as output) from the run (204); 404
/// `tracker.artifact_not_found` when the run has none.
#[utoipa::path(
    delete, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/artifacts/{name}", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))
)]
pub async fn delete(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid, name)): Path<(String, String, String, String)>,
) -> Result<StatusCode, Error> {
    store::delete(&state.store, &owner, &project, run_uuid(&uuid)?, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs of the project whose output artifacts this run consumed (same path), as Polyaxon's
/// `V1RunEdge`s `{upstream, downstream, values: {paths}}`, runs given as `{uuid, name, status, kind}`.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/upstream", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<RunEdge>), (status = 404, body = ErrorBody))
)]
pub async fn upstream(
    State(state): State<AppState>,
    Path((owner, project, uuid)): RunPath,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<RunEdge>>, Error> {
    let uuid = run_uuid(&uuid)?;
    Ok(Json(
        store::edges(&state.store, &owner, &project, uuid, Direction::Upstream, &query).await?,
    ))
}

/// Runs of the project that consumed this run's output artifacts (same path), as
/// [`upstream`] answers them.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/downstream", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<RunEdge>), (status = 404, body = ErrorBody))
)]
pub async fn downstream(
    State(state): State<AppState>,
    Path((owner, project, uuid)): RunPath,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<RunEdge>>, Error> {
    let uuid = run_uuid(&uuid)?;
    Ok(Json(
        store::edges(&state.store, &owner, &project, uuid, Direction::Downstream, &query).await?,
    ))
}

/// Runs cloned from this one (copies, restarts, resumes), as full `V1Run`s, newest first.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/lineage/clones", tag = "lineage",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path), ListQuery),
    responses((status = 200, body = ListResponse<Run>), (status = 404, body = ErrorBody))
)]
pub async fn clones(
    State(state): State<AppState>,
    Path((owner, project, uuid)): RunPath,
    ListParams(query): ListParams,
) -> Result<Json<ListResponse<Run>>, Error> {
    Ok(Json(
        store::clones(&state.store, &owner, &project, run_uuid(&uuid)?, &query).await?,
    ))
}
