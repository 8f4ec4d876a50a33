//! The tracker's error type and how each variant answers over HTTP (`myelin_common::ApiError`,
//! stable `tracker.*` codes).

use axum::response::{IntoResponse, Response};
use myelin_common::{ApiError, ErrorCode};
use myelin_contracts::Statuses;
use sea_orm::DbErr;
use serde_json::json;

/// Everything a tracker operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The owner in the path does not exist.
    #[error("owner `{0}` does not exist")]
    OwnerNotFound(String),
    /// The project in the path does not exist under its owner.
    #[error("project `{owner}/{project}` does not exist")]
    ProjectNotFound { owner: String, project: String },
    /// No run with this uuid in this project.
    #[error("run `{0}` does not exist in this project")]
    RunNotFound(String),
    /// A project with this name already exists under the owner.
    #[error("project `{owner}/{name}` already exists")]
    ProjectExists { owner: String, name: String },
    /// The lifecycle rules refuse this status change.
    #[error("cannot move a `{current}` run to `{requested}`: {reason}")]
    InvalidTransition {
        current: Statuses,
        requested: Statuses,
        reason: &'static str,
    },
    /// The Polyaxonfile in `content` is invalid.
    #[error("invalid Polyaxonfile in `content`: {0}")]
    InvalidPolyaxonfile(myelin_spec::Error),
    /// Some other input is wrong; `field` names it when there is one.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// The request body is larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The `query` (or `sort`) parameter of a list is not valid PQL.
    #[error("invalid `{param}`: {error}")]
    InvalidQuery {
        param: &'static str,
        error: myelin_pql::PqlError,
    },
    /// A metric value is not a finite number (NaN, ±inf, a string...).
    #[error("{field}[{index}] (`{name}`): the value must be a finite number")]
    InvalidMetric {
        field: &'static str,
        index: usize,
        name: String,
    },
    /// A metric or event name breaks the name rules.
    #[error("{field}[{index}]: invalid name `{name}`: {reason}")]
    InvalidEventName {
        field: &'static str,
        index: usize,
        name: String,
        reason: String,
    },
    /// A batch holds more points than `tracking.max_batch_points`.
    #[error("the batch holds {points} points; at most {max_points} are accepted at once")]
    BatchTooLarge { points: usize, max_points: usize },
    /// An `Idempotency-Key` header that is empty, too long or not visible ASCII.
    #[error("the Idempotency-Key header must be 1 to 128 visible ASCII characters")]
    InvalidIdempotencyKey,
    /// No saved view with this uuid in this project.
    #[error("view `{0}` does not exist in this project")]
    ViewNotFound(String),
    /// No lineage artifact with this name on the run.
    #[error("the run has no lineage artifact named `{0}`")]
    ArtifactNotFound(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// An event or a JSON column could not be encoded or decoded.
    #[error("JSON encoding error: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored row holds a value this version does not understand.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl Error {
    /// A 400 with `code`, naming `field`.
    pub fn bad_field(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::OwnerNotFound(owner) => {
                ApiError::not_found("tracker.owner_not_found", message).with_details(json!({ "owner": owner }))
            }
            Error::ProjectNotFound { owner, project } => ApiError::not_found("tracker.project_not_found", message)
                .with_details(json!({ "owner": owner, "project": project })),
            Error::RunNotFound(uuid) => {
                ApiError::not_found("tracker.run_not_found", message).with_details(json!({ "uuid": uuid }))
            }
            Error::ProjectExists { owner, name } => ApiError::conflict("tracker.project_exists", message)
                .with_details(json!({ "owner": owner, "name": name })),
            Error::InvalidTransition { current, requested, .. } => {
                ApiError::conflict("tracker.invalid_transition", message)
                    .with_details(json!({ "current_status": current, "requested": requested }))
            }
            Error::InvalidPolyaxonfile(spec) => ApiError::bad_request("tracker.invalid_polyaxonfile", message)
                .with_details(json!({
                    "field": "content",
                    "spec_code": spec.code,
                    "path": spec.path,
                    "line": spec.line,
                    "column": spec.column,
                })),
            Error::BadRequest { code, field, .. } => {
                let err = ApiError::new(ErrorCode::BadRequest, code, message);
                match field {
                    Some(field) => err.with_details(json!({ "field": field })),
                    None => err,
                }
            }
            Error::PayloadTooLarge(_) => ApiError::new(ErrorCode::PayloadTooLarge, "http.payload_too_large", message),
            Error::InvalidQuery { param, error } => {
                let code = if param == "sort" {
                    "tracker.invalid_sort"
                } else {
                    "tracker.invalid_query"
                };
                ApiError::bad_request(code, message).with_details(json!({
                    "field": param,
                    "pql_code": error.code,
                    "position": error.position,
                    "term": error.field,
                }))
            }
            Error::InvalidMetric { field, index, name } => ApiError::bad_request("tracker.invalid_metric", message)
                .with_details(json!({ "field": field, "index": index, "name": name })),
            Error::InvalidEventName { field, index, name, .. } => {
                ApiError::bad_request("tracker.invalid_event_name", message)
                    .with_details(json!({ "field": field, "index": index, "name": name }))
            }
            Error::BatchTooLarge { points, max_points } => {
                ApiError::new(ErrorCode::PayloadTooLarge, "tracker.batch_too_large", message)
                    .with_details(json!({ "points": points, "max_points": max_points }))
            }
            Error::InvalidIdempotencyKey => ApiError::bad_request("tracker.invalid_idempotency_key", message)
                .with_details(json!({ "field": "Idempotency-Key" })),
            Error::ViewNotFound(uuid) => {
                ApiError::not_found("tracker.view_not_found", message).with_details(json!({ "uuid": uuid }))
            }
            Error::ArtifactNotFound(name) => {
                ApiError::not_found("tracker.artifact_not_found", message).with_details(json!({ "name": name }))
            }
            Error::Db(_) | Error::Json(_) | Error::Corrupt(_) => ApiError::internal(message),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_answer_409_with_the_current_status() {
        let err = Error::InvalidTransition {
            current: Statuses::Succeeded,
            requested: Statuses::Running,
            reason: "the run is done",
        };
        let api = ApiError::from(err);
        assert_eq!(api.status(), http::StatusCode::CONFLICT);
        assert_eq!(api.code, "tracker.invalid_transition");
        assert_eq!(api.details.unwrap()["current_status"], "succeeded");
    }
}
