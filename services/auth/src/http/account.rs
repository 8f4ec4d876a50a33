//! The caller's own account: `POST /api/v1/auth/signup`, `POST /api/v1/auth/token` (login),
//! `GET /api/v1/users` (whoami), personal tokens `GET|POST /api/v1/users/tokens`,
//! `DELETE /api/v1/users/tokens/{uuid}`.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Duration;
use http::StatusCode;
use myelin_common::ApiError;
use myelin_contracts::ListResponse;
use secrecy::{ExposeSecret, SecretString};

use super::dto::{self, AuthToken, Credentials, Signup, TokenCreate};
use super::guard::Audit;
use super::openapi::{ErrorBody, UNAUTHENTICATED};
use super::{AppState, Body, Caller, parse_uuid};
use crate::domain::names::{Email, Username};
use crate::domain::{password, token};
use crate::error::Error;
use crate::invalidation::{self, Invalidation};
use crate::store::entities::{token as token_row, user};
use crate::store::facts::{Subject, owner_of};
use crate::store::tokens::{self, TokenOwner};
use crate::store::{now, orgs, users};

/// Creates an account (when `allow_signup`) and answers a login token.
#[utoipa::path(
    post, path = "/api/v1/auth/signup", tag = "auth", operation_id = "Signup", request_body = Signup,
    responses(
        (status = 200, body = AuthToken, description = "The account exists; a login token"),
        (status = 400, body = ErrorBody,
            description = "`auth.invalid_body`, `auth.invalid_name` (`username`, `email`), `auth.weak_password`"),
        (status = 403, body = ErrorBody, description = "`auth.signup_disabled`"),
        (status = 409, body = ErrorBody, description = "`auth.user_exists`, `auth.email_exists`"),
    )
)]
pub async fn signup(State(state): State<AppState>, Body(body): Body<Signup>) -> Result<Json<AuthToken>, ApiError> {
    let audit = Audit::new(
        &state,
        body.username.clone(),
        None,
        "auth.signup",
        body.username.clone(),
    );
    let result = async {
        if !state.settings.allow_signup {
            return Err(Error::SignupDisabled);
        }
        let username: Username = body.username.parse().map_err(|e| Error::invalid_name("username", e))?;
        let email: Email = body.email.parse().map_err(|e| Error::invalid_name("email", e))?;
        password::validate(&body.password)?;
        let hash = hash_password(&state, body.password).await?;
        let user = users::create(&state.store, &username, &email, hash).await?;
        login_token(&state, &user).await
    }
    .await;
    audit.finish(result, StatusCode::OK).await.map(Json)
}

/// Checks a username (or email) and password and answers a new token that expires after
/// `login_token_ttl_hours`. A wrong user and a wrong password answer alike, in the same time;
/// too many failures for one username answer 429 `auth.too_many_attempts` (see `crate::limits`).
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "auth", operation_id = "Login", request_body = Credentials,
    responses(
        (status = 200, body = AuthToken, description = "A login token"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_body`"),
        (status = 401, body = ErrorBody, description = "`auth.invalid_credentials`: wrong username or password"),
        (status = 429, body = ErrorBody,
            description = "`auth.too_many_attempts`: too many failures for this username (`details.retry_after_secs`)"),
    )
)]
pub async fn login(State(state): State<AppState>, Body(body): Body<Credentials>) -> Result<Json<AuthToken>, ApiError> {
    let audit = Audit::new(&state, body.username.clone(), None, "auth.login", body.username.clone());
    let result = async {
        state.limiter.check(&body.username).await?;
        let user = match body.username.contains('@') {
            true => users::by_email(&state.store, &body.username).await?,
            false => users::by_username(&state.store, &body.username).await?,
        };
        let hasher = state.hasher.clone();
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let password = body.password;
        let valid = tokio::task::spawn_blocking(move || match stored {
            Some(stored) => hasher.verify(&password, &stored),
            None => hasher.verify_decoy(&password),
        })
        .await
        .map_err(|e| Error::Password(password::Error::Hashing(e.to_string())))?;
        match user {
            Some(user) if valid => {
                state.limiter.succeeded(&body.username).await;
                login_token(&state, &user).await
            }
            _ => {
                state.limiter.failed(&body.username).await;
                Err(Error::InvalidCredentials)
            }
        }
    }
    .await;
    audit.finish(result, StatusCode::OK).await.map(Json)
}

/// Who the token belongs to (what `polyaxon` calls on login and `whoami`).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "auth", operation_id = "GetUser", security(("token" = [])),
    responses(
        (status = 200, body = dto::User),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
    )
)]
pub async fn whoami(State(state): State<AppState>, Caller(subject): Caller) -> Result<Json<dto::User>, Error> {
    let user = match subject {
        Subject::User(user) => {
            let organization = orgs::of_user(&state.store, user.id).await?.into_iter().next();
            dto::User {
                username: user.username,
                email: Some(user.email),
                kind: "user".into(),
                organization: organization.map(|(org, _)| org.name),
            }
        }
        Subject::ServiceAccount(sa, _) => {
            let org = orgs::by_id(&state.store, sa.org_id).await?;
            dto::User {
                username: format!("sa:{}", sa.name),
                email: None,
                kind: "service_account".into(),
                organization: org.map(|org| org.name),
            }
        }
    };
    Ok(Json(user))
}

/// The caller's tokens, newest first (revoked ones too, with `revoked_at`).
#[utoipa::path(
    get, path = "/api/v1/users/tokens", tag = "auth", operation_id = "ListTokens", security(("token" = [])),
    responses(
        (status = 200, body = ListResponse<dto::Token>),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(subject): Caller,
) -> Result<Json<ListResponse<dto::Token>>, Error> {
    let rows = tokens::list(&state.store, owner_of(&subject)).await?;
    let results: Vec<_> = rows.into_iter().map(|row| token_dto(row, None)).collect();
    Ok(Json(ListResponse {
        count: results.len() as u64,
        results,
        previous: None,
        next: None,
    }))
}

/// Creates a personal token (users only); the answer holds the `key`, shown this once.
#[utoipa::path(
    post, path = "/api/v1/users/tokens", tag = "auth", operation_id = "CreateToken", security(("token" = [])),
    request_body = TokenCreate,
    responses(
        (status = 201, body = dto::Token, description = "The token, with its `key` (shown this once)"),
        (status = 400, body = ErrorBody,
            description = "`auth.invalid_body`, `auth.invalid_name` (`name`), `auth.invalid_expiration`"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 403, body = ErrorBody, description = "`auth.users_only`: a service account cannot"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Body(body): Body<TokenCreate>,
) -> Result<(StatusCode, Json<dto::Token>), ApiError> {
    let name = body.name.clone().unwrap_or_else(|| "token".into());
    let audit = Audit::new(&state, subject.name(), None, "user.token.create", name.clone());
    let result = async {
        let user = subject.user().ok_or(Error::UsersOnly("create personal tokens"))?;
        issue(&state, TokenOwner::User(user.id), &name, body.expiration).await
    }
    .await;
    audit
        .finish(result, StatusCode::CREATED)
        .await
        .map(|t| (StatusCode::CREATED, Json(t)))
}

/// Revokes one of the caller's tokens (204); it stops working at once.
#[utoipa::path(
    delete, path = "/api/v1/users/tokens/{uuid}", tag = "auth", operation_id = "DeleteToken",
    security(("token" = [])), params(("uuid" = String, Path, description = "The token's uuid")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = ErrorBody, description = "`auth.invalid_uuid`"),
        (status = 401, body = ErrorBody, description = UNAUTHENTICATED),
        (status = 404, body = ErrorBody, description = "`auth.token_not_found`: no such live token of the caller"),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(subject): Caller,
    Path(uuid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let audit = Audit::new(&state, subject.name(), None, "user.token.revoke", uuid.clone());
    let result = async {
        let uuid = parse_uuid(&uuid)?;
        let hash = tokens::revoke(&state.store, owner_of(&subject), uuid).await?;
        invalidation::publish(&state.coord, &Invalidation::Token { token_hash: hash.0 }).await;
        Ok(())
    }
    .await;
    audit
        .finish(result, StatusCode::NO_CONTENT)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Creates a token for `owner` living `days` days (none: no expiry) and answers it with its key.
pub async fn issue(state: &AppState, owner: TokenOwner, name: &str, days: Option<u32>) -> Result<dto::Token, Error> {
    if name.is_empty() || name.len() > 128 {
        return Err(Error::bad_field(
            "auth.invalid_name",
            "name",
            "a token name has 1 to 128 characters",
        ));
    }
    let expires_at = match days {
        Some(0) => {
            return Err(Error::bad_field(
                "auth.invalid_expiration",
                "expiration",
                "expiration is in days, at least 1",
            ));
        }
        Some(days) => Some(now() + Duration::days(i64::from(days))),
        None => None,
    };
    let (secret, hash) = token::generate();
    let row = tokens::create(&state.store, owner, name, &hash, expires_at).await?;
    Ok(token_dto(row, Some(secret)))
}

/// A stored token as answered; `key` only when just created.
pub fn token_dto(row: token_row::Model, key: Option<SecretString>) -> dto::Token {
    dto::Token {
        uuid: row.uuid,
        key: key.map(|k| k.expose_secret().to_owned()),
        name: row.name,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

async fn login_token(state: &AppState, user: &user::Model) -> Result<AuthToken, Error> {
    let (secret, hash) = token::generate();
    let expires_at = now() + Duration::hours(i64::from(state.settings.login_token_ttl_hours));
    tokens::create(
        &state.store,
        TokenOwner::User(user.id),
        "login",
        &hash,
        Some(expires_at),
    )
    .await?;
    Ok(AuthToken {
        token: secret.expose_secret().to_owned(),
    })
}

async fn hash_password(state: &AppState, password: SecretString) -> Result<String, Error> {
    let hasher = state.hasher.clone();
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(|e| Error::Password(password::Error::Hashing(e.to_string())))?
        .map_err(Error::from)
}
