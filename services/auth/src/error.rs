//! The auth service's error type and how each variant answers over HTTP (`myelin_common::ApiError`,
//! stable `auth.*` codes).

use axum::response::{IntoResponse, Response};
use myelin_common::{ApiError, ErrorCode};
use sea_orm::DbErr;
use serde_json::json;

use crate::domain::names::InvalidName;
use crate::domain::password;

/// Everything an auth operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token, or a token that matches nothing (`auth.unauthenticated`).
    #[error("authentication required: send `Authorization: Token <token>`")]
    Unauthenticated,
    /// The token has expired (`auth.token_expired`).
    #[error("the token has expired")]
    TokenExpired,
    /// The token was revoked (`auth.token_revoked`).
    #[error("the token was revoked")]
    TokenRevoked,
    /// Wrong username or password (`auth.invalid_credentials`); which one is not said.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Sign-up is turned off (`allow_signup = false`).
    #[error("sign-up is disabled on this server; ask an administrator for an account")]
    SignupDisabled,
    /// The matrix refuses the action (`auth.forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// Only user accounts may do this (not service accounts).
    #[error("only users can {0}")]
    UsersOnly(&'static str),
    /// Something named in the path or body does not exist; `what` is `org`, `user`, `member`,
    /// `team`, `team_member`, `grant`, `token` or `service_account` (code `auth.<what>_not_found`).
    #[error("{what} `{name}` does not exist")]
    NotFound { what: &'static str, name: String },
    /// A name that must be unique is taken (code `auth.<what>_exists`).
    #[error("{what} `{name}` already exists")]
    Exists { what: &'static str, name: String },
    /// Too many failed logins for this username; retry after the window.
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The change would leave the org without an owner.
    #[error("an organization must keep at least one owner")]
    LastOwner,
    /// A field is invalid; `field` names it.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        field: Option<&'static str>,
        message: String,
    },
    /// Hashing failed or the argon2 settings are out of range.
    #[error("{0}")]
    Password(password::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// A stored row holds a value this version does not understand.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl Error {
    /// A 404 for `what` named `name`.
    pub fn not_found(what: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            name: name.into(),
        }
    }

    /// A 400 naming `field`.
    pub fn bad_field(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            field: Some(field),
            message: message.into(),
        }
    }

    /// A 400 for an invalid name in `field`.
    pub fn invalid_name(field: &'static str, err: InvalidName) -> Self {
        Error::bad_field("auth.invalid_name", field, err.to_string())
    }
}

impl From<password::Error> for Error {
    fn from(err: password::Error) -> Self {
        match err {
            password::Error::Weak(_) => Error::bad_field("auth.weak_password", "password", err.to_string()),
            password::Error::Hashing(_) => Error::Password(err),
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        let unauthenticated = |code: &'static str| ApiError::new(ErrorCode::Unauthenticated, code, message.clone());
        match err {
            Error::Unauthenticated => unauthenticated("auth.unauthenticated"),
            Error::TokenExpired => unauthenticated("auth.token_expired"),
            Error::TokenRevoked => unauthenticated("auth.token_revoked"),
            Error::InvalidCredentials => unauthenticated("auth.invalid_credentials"),
            Error::SignupDisabled => ApiError::new(ErrorCode::Forbidden, "auth.signup_disabled", message),
            Error::Forbidden(_) => ApiError::new(ErrorCode::Forbidden, "auth.forbidden", message),
            Error::UsersOnly(_) => ApiError::new(ErrorCode::Forbidden, "auth.users_only", message),
            Error::NotFound { what, name } => {
                ApiError::not_found(format!("auth.{what}_not_found"), message).with_details(json!({ "name": name }))
            }
            Error::Exists { what, name } => {
                ApiError::conflict(format!("auth.{what}_exists"), message).with_details(json!({ "name": name }))
            }
            Error::LastOwner => ApiError::conflict("auth.last_owner", message),
            Error::TooManyAttempts { retry_after_secs } => {
                ApiError::new(ErrorCode::RateLimited, "auth.too_many_attempts", message)
                    .with_details(json!({ "retry_after_secs": retry_after_secs }))
            }
            Error::BadRequest { code, field, .. } => {
                let api = ApiError::bad_request(code, message);
                match field {
                    Some(field) => api.with_details(json!({ "field": field })),
                    None => api,
                }
            }
            Error::Password(_) | Error::Db(_) | Error::Corrupt(_) => ApiError::internal(message),
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
    fn codes_are_stable() {
        let api = ApiError::from(Error::not_found("team", "a"));
        assert_eq!((api.status().as_u16(), api.code.as_ref()), (404, "auth.team_not_found"));
        let api = ApiError::from(Error::TokenRevoked);
        assert_eq!((api.status().as_u16(), api.code.as_ref()), (401, "auth.token_revoked"));
        let api = ApiError::from(Error::Exists {
            what: "org",
            name: "acme".into(),
        });
        assert_eq!((api.status().as_u16(), api.code.as_ref()), (409, "auth.org_exists"));
    }
}
