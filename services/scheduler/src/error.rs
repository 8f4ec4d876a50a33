//! The scheduler's error type, and how the few HTTP routes answer with it.

use axum::response::{IntoResponse, Response};
use myelin_common::ApiError;
use sea_orm::DbErr;

/// Everything a scheduler operation can fail with. Handlers of bus messages retry the transient
/// ones ([`Error::is_transient`]) and drop the rest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The broker failed (publishing a report, declaring a queue).
    #[error("bus error: {0}")]
    Bus(#[from] myelin_common::bus::Error),
    /// Publishing a Celery task or a remote-control command failed.
    #[error("celery error: {0}")]
    Celery(#[from] myelin_celery::Error),
    /// A value could not be encoded or decoded as JSON.
    #[error("JSON encoding error: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored row holds a value this version does not understand.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl Error {
    /// Whether trying again later may succeed (database or broker unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Db(_) | Error::Bus(_) | Error::Celery(myelin_celery::Error::Bus(_))
        )
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::internal(self.to_string()).into_response()
    }
}
