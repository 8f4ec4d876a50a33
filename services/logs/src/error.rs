//! The logs service's error type and how each variant answers over HTTP (`myelin_common::ApiError`,
//! stable `logs.*` codes).

use axum::response::{IntoResponse, Response};
use myelin_common::ApiError;
use serde_json::json;

/// Everything a logs operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `{uuid}` path segment is not a run uuid.
    #[error("`{0}` is not a valid run uuid")]
    InvalidUuid(String),
    /// The `last_time` query parameter is not a timestamp.
    #[error("`last_time` must be an ISO 8601 timestamp, got `{0}`")]
    InvalidLastTime(String),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blob(#[from] myelin_common::blob::Error),
    /// The coordination store (live streams, leases, states) failed.
    #[error("coordination store: {0}")]
    Coord(#[from] myelin_common::coord::Error),
    /// The bus failed.
    #[error("bus: {0}")]
    Bus(#[from] myelin_common::bus::Error),
    /// A chunk or a state could not be encoded.
    #[error("JSON encoding error: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidUuid(uuid) => ApiError::bad_request("logs.invalid_uuid", message)
                .with_details(json!({ "field": "uuid", "value": uuid })),
            Error::InvalidLastTime(_) => {
                ApiError::bad_request("logs.invalid_last_time", message).with_details(json!({ "field": "last_time" }))
            }
            Error::Blob(_) | Error::Coord(_) | Error::Bus(_) | Error::Json(_) => ApiError::internal(message),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
