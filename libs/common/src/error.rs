//! The public error vocabulary: a small set of [`ErrorCode`]s mapped to HTTP statuses, and
//! [`ApiError`], which renders as `{"code": "tracker.run_not_found", "message": "...", "request_id": "..."}`.
//!
//! 5xx bodies are opaque ("internal error"); the cause is logged once, here.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// What the caller can do about an error. Each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or fails validation: fix it and retry.
    BadRequest,
    /// No or invalid credentials.
    Unauthenticated,
    /// Authenticated but not allowed.
    Forbidden,
    /// The resource does not exist (or is not visible to the caller).
    NotFound,
    /// The path exists, not with this method.
    MethodNotAllowed,
    /// The request conflicts with the current state (duplicate name, rejected transition).
    Conflict,
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// Too many requests; retry later.
    RateLimited,
    /// A dependency is down or the service is shutting down; retry later.
    Unavailable,
    /// The upstream did not answer in time.
    Timeout,
    /// A bug or an unexpected failure; the body says nothing more.
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, dotted, lower-case: `<service>.<what>` (`tracker.project_not_found`).
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub request_id: Option<String>,
    /// Machine-readable extras (field path, line, current status...). Omitted when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// An error on its way to an HTTP answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub kind: ErrorCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(kind: ErrorCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
            details: None,
        }
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, code, message)
    }
    pub fn not_found(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, code, message)
    }
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, code, message)
    }
    /// A 500 whose cause is logged here, once, and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal", "internal error")
    }
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
            request_id: crate::http::current_request_id(),
            details: self.details.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
