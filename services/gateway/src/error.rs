//! Errors of the forwarding path and their public codes (`gateway.*`).

use myelin_common::{ApiError, ErrorCode};

use crate::routes::Service;

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every replica of the service is down (or none is configured).
    #[error("no healthy {0} replica is available")]
    Unavailable(Service),
    /// The upstream did not send its response head in time.
    #[error("{0} did not answer within {1} s")]
    Timeout(Service, u64),
    /// The request body is larger than the limit.
    #[error("the request body is larger than the limit")]
    PayloadTooLarge,
    /// The connection broke after the request was (maybe) sent: not retried.
    #[error("{0} failed while answering: {1}")]
    Upstream(Service, String),
    /// The path belongs to no route of the table.
    #[error("no route for {0}")]
    NoRoute(String),
    /// An auth route on a server without access control.
    #[error("this server runs without access control (--no-auth): it has no accounts, orgs or tokens")]
    AuthDisabled,
    /// The path is known but not with this method.
    #[error("{0} is not allowed on {1}")]
    MethodNotAllowed(String, String),
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match error {
            Error::Unavailable(_) => ApiError::new(ErrorCode::Unavailable, "gateway.upstream_unavailable", message),
            Error::Timeout(..) => ApiError::new(ErrorCode::Timeout, "gateway.upstream_timeout", message),
            Error::PayloadTooLarge => ApiError::new(ErrorCode::PayloadTooLarge, "gateway.payload_too_large", message),
            Error::Upstream(service, cause) => {
                tracing::warn!(%service, %cause, "upstream failed mid-request");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "gateway.upstream_error",
                    format!("{service} failed while answering"),
                )
            }
            Error::NoRoute(_) => ApiError::not_found("gateway.route_not_found", message),
            Error::AuthDisabled => ApiError::not_found("gateway.auth_disabled", message),
            Error::MethodNotAllowed(..) => {
                ApiError::new(ErrorCode::MethodNotAllowed, "gateway.method_not_allowed", message)
            }
        }
    }
}

impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        ApiError::from(self).into_response()
    }
}
