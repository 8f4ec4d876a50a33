//! `POST .../runs/{uuid}/stop|skip|approve|archive|restore` (200 `{}`, as Polyaxon) and
//! `POST .../runs/{uuid}/restart|copy|resume` (201 with the run).

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_contracts::run::CloneRun;
use myelin_contracts::{CloningKind, Run};
use serde_json::{Value, json};

use super::{AppState, ErrorBody, OptionalBody, run_uuid};
use crate::context::RequestContext;
use crate::error::Error;
use crate::store::run_actions::{self as store, Flag};

type RunPath = Path<(String, String, String)>;

/// Stops a run: `stopped` at once if it is not executing yet, else `stopping` plus a
/// `run.stop.requested` event. A done run is left as it is.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/stop", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, description = "`{}`"), (status = 404, body = ErrorBody))
)]
pub async fn stop(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project, uuid)): RunPath,
) -> Result<Json<Value>, Error> {
    store::stop(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?).await?;
    Ok(Json(json!({})))
}

/// Marks a run `skipped` (409 once done).
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/skip", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, description = "`{}`"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn skip(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project, uuid)): RunPath,
) -> Result<Json<Value>, Error> {
    store::skip(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?).await?;
    Ok(Json(json!({})))
}

async fn flag(
    state: AppState,
    ctx: RequestContext,
    path: (String, String, String),
    flag: Flag,
) -> Result<Json<Value>, Error> {
    let (owner, project, uuid) = path;
    store::set_flag(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?, flag).await?;
    Ok(Json(json!({})))
}

/// Approves a run (`is_approved`, no longer pending approval).
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/approve", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, description = "`{}`"), (status = 404, body = ErrorBody))
)]
pub async fn approve(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(path): RunPath,
) -> Result<Json<Value>, Error> {
    flag(state, ctx, path, Flag::Approve).await
}

/// Archives a run: hidden from lists unless the query names `archived`.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/archive", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, description = "`{}`"), (status = 404, body = ErrorBody))
)]
pub async fn archive(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(path): RunPath,
) -> Result<Json<Value>, Error> {
    flag(state, ctx, path, Flag::Archive).await
}

/// Restores an archived run.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/restore", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, description = "`{}`"), (status = 404, body = ErrorBody))
)]
pub async fn restore(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(path): RunPath,
) -> Result<Json<Value>, Error> {
    flag(state, ctx, path, Flag::Restore).await
}

async fn clone(
    state: AppState,
    ctx: RequestContext,
    path: (String, String, String),
    kind: CloningKind,
    body: CloneRun,
) -> Result<(StatusCode, Json<Run>), Error> {
    let (owner, project, uuid) = path;
    let run = store::clone(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?, kind, body).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Creates a new run from this one (`original.kind = restart`); 201 with the new run.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/restart", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = CloneRun,
    responses((status = 201, body = Run), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn restart(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(path): RunPath,
    OptionalBody(body): OptionalBody<CloneRun>,
) -> Result<(StatusCode, Json<Run>), Error> {
    clone(state, ctx, path, CloningKind::Restart, body).await
}

/// Creates a copy of this run (`original.kind = copy`); 201 with the new run.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/copy", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = CloneRun,
    responses((status = 201, body = Run), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn copy(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(path): RunPath,
    OptionalBody(body): OptionalBody<CloneRun>,
) -> Result<(StatusCode, Json<Run>), Error> {
    clone(state, ctx, path, CloningKind::Copy, body).await
}

/// Resumes a done run: back to `resuming` (forced through the lifecycle); 201 with the run.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/resume", tag = "actions",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = CloneRun,
    responses(
        (status = 201, body = Run), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project, uuid)): RunPath,
    OptionalBody(body): OptionalBody<CloneRun>,
) -> Result<(StatusCode, Json<Run>), Error> {
    let run = store::resume(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?, body).await?;
    Ok((StatusCode::CREATED, Json(run)))
}
