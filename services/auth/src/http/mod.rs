//! The HTTP API: sign-up, login, whoami and personal tokens; orgs, members, teams, grants, service
//! accounts and the audit log under Polyaxon's `/api/v1/orgs/{owner}/...` paths; the internal
//! decision endpoint `POST /internal/v1/authorize`; `/healthz`, `/readyz`; the OpenAPI document at
//! `GET /internal/openapi.json` ([`openapi`], with [`ROUTES`], the list of every route).
//!
//! Handlers are thin: extract → [`guard::check`] (the matrix) → store → answer; mutating handlers
//! go through [`guard::Audit`], which writes the result to the audit log.

pub mod account;
pub mod audit;
pub mod authorize;
pub mod grants;
pub mod guard;
pub mod health;
pub mod internal;
pub mod openapi;
pub mod orgs;
pub mod projects;
pub mod service_accounts;
pub mod teams;

pub use myelin_contracts::auth::dto;
pub use openapi::{ApiDoc, ROUTES};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use myelin_common::coord::SharedCoord;

use crate::config::Settings;
use crate::domain::password::Hasher;
use crate::domain::token;
use crate::error::Error;
use crate::limits::LoginLimiter;
use crate::store::Store;
use crate::store::facts::{self, Subject};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Where cache invalidations are published.
    pub coord: SharedCoord,
    pub limiter: LoginLimiter,
    pub hasher: Arc<Hasher>,
    pub settings: Arc<Settings>,
    /// False once shutdown has begun (readiness).
    pub ready: Arc<AtomicBool>,
}

/// Every route, with `state`; [`ROUTES`] lists them (tests keep the two in step).
pub fn router(state: AppState) -> Router {
    let org = "/api/v1/orgs/{owner}";
    let team = "/api/v1/orgs/{owner}/teams/{team}";
    Router::new()
        .route("/api/v1/auth/signup", post(account::signup))
        .route("/api/v1/auth/token", post(account::login))
        .route("/api/v1/users", get(account::whoami))
        .route(
            "/api/v1/users/tokens",
            get(account::list_tokens).post(account::create_token),
        )
        .route("/api/v1/users/tokens/{uuid}", delete(account::revoke_token))
        .route("/api/v1/orgs/create", post(orgs::create))
        .route("/api/v1/orgs/list", get(orgs::list))
        .route(org, get(orgs::get).delete(orgs::delete))
        .route(&format!("{org}/members"), get(orgs::members).post(orgs::add_member))
        .route(
            &format!("{org}/members/{{user}}"),
            axum::routing::patch(orgs::change_role)
                .put(orgs::replace_role)
                .delete(orgs::remove_member),
        )
        .route(&format!("{org}/teams"), get(teams::list).post(teams::create))
        .route(
            team,
            get(teams::get)
                .patch(teams::rename)
                .put(teams::replace)
                .delete(teams::delete),
        )
        .route(&format!("{team}/members"), get(teams::members).post(teams::add_member))
        .route(&format!("{team}/members/{{user}}"), delete(teams::remove_member))
        .route(&format!("{team}/projects"), get(grants::projects).post(grants::grant))
        .route(&format!("{team}/projects/{{project}}"), delete(grants::revoke))
        .route(
            &format!("{org}/projects/{{project}}/members"),
            get(projects::members).post(projects::add_member),
        )
        .route(
            &format!("{org}/projects/{{project}}/members/{{user}}"),
            delete(projects::remove_member),
        )
        .route(
            &format!("{org}/sa"),
            get(service_accounts::list).post(service_accounts::create),
        )
        .route(&format!("{org}/sa/{{name}}"), delete(service_accounts::delete))
        .route(
            &format!("{org}/sa/{{name}}/tokens"),
            get(service_accounts::list_tokens).post(service_accounts::create_token),
        )
        .route(
            &format!("{org}/sa/{{name}}/tokens/{{uuid}}"),
            delete(service_accounts::revoke_token),
        )
        .route(&format!("{org}/audit"), get(audit::list))
        .route("/internal/v1/authorize", post(authorize::decide))
        .route("/internal/v1/audit", post(internal::record_audit))
        .route("/internal/v1/projects/created", post(internal::project_created))
        .route("/internal/v1/projects/deleted", post(internal::project_deleted))
        .route("/internal/openapi.json", get(openapi::openapi))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}

/// A JSON body; a malformed or missing one is a 400 `auth.invalid_body` whose message names the field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = |message: String| Error::BadRequest {
            code: "auth.invalid_body",
            field: None,
            message,
        };
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| invalid(e.body_text()))?;
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(value)| Body(value))
            .map_err(|rejection| invalid(rejection.body_text()))
    }
}

/// The authenticated caller (`Authorization: Token <t>` or `Bearer <t>`), else a 401.
pub struct Caller(pub Subject);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthenticated)?;
        let token = token::from_authorization(header).ok_or(Error::Unauthenticated)?;
        facts::authenticate(&state.store, &token).await.map(Caller)
    }
}

/// `?offset=&limit=` of the audit log (limit ≤ 1000, default 100).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Entries to skip (default 0).
    pub offset: Option<u64>,
    /// Entries to answer (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// Parses a `{uuid}` path segment, else 400 `auth.invalid_uuid`.
pub fn parse_uuid(text: &str) -> Result<uuid::Uuid, Error> {
    text.parse()
        .map_err(|_| Error::bad_field("auth.invalid_uuid", "uuid", format!("`{text}` is not a valid uuid")))
}
