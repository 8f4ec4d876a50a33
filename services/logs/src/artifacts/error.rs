//! What an artifact operation can fail with, and the HTTP answer of each (`logs.*` codes).

use axum::response::{IntoResponse, Response};
use myelin_common::{ApiError, ErrorCode};
use serde_json::json;

/// Everything an artifact route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `{uuid}` path segment is not a run uuid.
    #[error("`{0}` is not a valid run uuid")]
    InvalidUuid(String),
    /// A path (query, upload file name, archive entry) breaks the rules of [`super::path`].
    #[error("invalid artifact path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    /// Nothing is stored at that path.
    #[error("no artifact at {0:?}")]
    NotFound(String),
    /// The upload (or the request body) is larger than the limit; nothing was stored.
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The request body went over a body size limit on its way (this route's or the gateway's).
    #[error("the request body is larger than a body size limit on its way")]
    BodyLimit,
    /// The uploaded archive unpacks to more than the limit; nothing was stored.
    #[error("the archive unpacks to more than the limit of {limit} bytes")]
    UnpackedTooLarge { limit: u64 },
    /// The multipart body has no `upload_file` field.
    #[error("the multipart body has no `upload_file` field")]
    MissingFile,
    /// The multipart body or its `json` field cannot be read.
    #[error("invalid upload: {0}")]
    InvalidUpload(String),
    /// The uploaded archive is not a readable `.tar.gz`.
    #[error("invalid archive: {0}")]
    InvalidArchive(String),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blob(#[from] myelin_common::blob::Error),
    /// The bus failed (publishing collected series).
    #[error("bus: {0}")]
    Bus(#[from] myelin_common::bus::Error),
    /// An event could not be encoded.
    #[error("JSON encoding error: {0}")]
    Json(#[from] serde_json::Error),
    /// A background task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::InvalidPath`] for `path` (cut to 300 characters).
    pub fn invalid_path(path: &str, reason: &'static str) -> Self {
        Error::InvalidPath {
            path: path.chars().take(300).collect(),
            reason,
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidUuid(uuid) => ApiError::bad_request("logs.invalid_uuid", message)
                .with_details(json!({ "field": "uuid", "value": uuid })),
            Error::InvalidPath { path, reason } => ApiError::bad_request("logs.invalid_artifact_path", message)
                .with_details(json!({ "path": path, "reason": reason })),
            Error::NotFound(path) => {
                ApiError::not_found("logs.artifact_not_found", message).with_details(json!({ "path": path }))
            }
            Error::TooLarge { limit } | Error::UnpackedTooLarge { limit } => {
                ApiError::new(ErrorCode::PayloadTooLarge, "logs.artifact_too_large", message)
                    .with_details(json!({ "limit_bytes": limit }))
            }
            Error::BodyLimit => ApiError::new(ErrorCode::PayloadTooLarge, "logs.artifact_too_large", message),
            Error::MissingFile | Error::InvalidUpload(_) => ApiError::bad_request("logs.invalid_upload", message),
            Error::InvalidArchive(_) => ApiError::bad_request("logs.invalid_archive", message),
            Error::Blob(_) | Error::Bus(_) | Error::Json(_) | Error::Internal(_) => ApiError::internal(message),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
