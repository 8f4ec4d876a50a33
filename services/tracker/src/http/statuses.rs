//! `GET|POST /api/v1/{owner}/{project}/runs/{uuid}/statuses`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use myelin_contracts::{RunStatus, StatusBody};

use super::{AppState, Body, ErrorBody, run_uuid};
use crate::context::RequestContext;
use crate::error::Error;
use crate::store::run_actions as store;

/// The run's status and its condition timeline.
#[utoipa::path(
    get, path = "/api/v1/{owner}/{project}/runs/{uuid}/statuses", tag = "statuses",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    responses((status = 200, body = RunStatus), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    _ctx: RequestContext,
    Path((owner, project, uuid)): Path<(String, String, String)>,
) -> Result<Json<RunStatus>, Error> {
    Ok(Json(
        store::statuses(&state.store, &owner, &project, run_uuid(&uuid)?).await?,
    ))
}

/// Applies a status condition through the lifecycle rules (`force` for resume). Answers 201 with
/// every field null, as Polyaxon does; a rejected transition is a 409 `tracker.invalid_transition`
/// naming the current status.
#[utoipa::path(
    post, path = "/api/v1/{owner}/{project}/runs/{uuid}/statuses", tag = "statuses",
    params(("owner" = String, Path), ("project" = String, Path), ("uuid" = String, Path)),
    request_body = StatusBody,
    responses(
        (status = 201, body = RunStatus), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((owner, project, uuid)): Path<(String, String, String)>,
    Body(body): Body<StatusBody>,
) -> Result<(StatusCode, Json<RunStatus>), Error> {
    store::add_status(&state.store, &ctx, &owner, &project, run_uuid(&uuid)?, body).await?;
    Ok((StatusCode::CREATED, Json(RunStatus::default())))
}
