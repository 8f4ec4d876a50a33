//! The OpenAPI document of the auth service ([`ApiDoc`], served at `GET /internal/openapi.json` and
//! merged by the gateway into the public document) and [`ROUTES`], the list of every
//! `(method, path)` the router answers. Tests keep the three in step: the document holds exactly
//! [`ROUTES`], and every entry of [`ROUTES`] reaches a handler of [`super::router`].

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, audit, authorize, grants, health, internal, orgs, projects, service_accounts, teams};

/// Every `(method, path)` of [`super::router`], methods in capitals, paths as axum spells them.
/// The single list the document, the router and the gateway's permission tests are checked against.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/users/tokens"),
    ("POST", "/api/v1/users/tokens"),
    ("DELETE", "/api/v1/users/tokens/{uuid}"),
    ("POST", "/api/v1/orgs/create"),
    ("GET", "/api/v1/orgs/list"),
    ("GET", "/api/v1/orgs/{owner}"),
    ("DELETE", "/api/v1/orgs/{owner}"),
    ("GET", "/api/v1/orgs/{owner}/members"),
    ("POST", "/api/v1/orgs/{owner}/members"),
    ("PATCH", "/api/v1/orgs/{owner}/members/{user}"),
    ("PUT", "/api/v1/orgs/{owner}/members/{user}"),
    ("DELETE", "/api/v1/orgs/{owner}/members/{user}"),
    ("GET", "/api/v1/orgs/{owner}/teams"),
    ("POST", "/api/v1/orgs/{owner}/teams"),
    ("GET", "/api/v1/orgs/{owner}/teams/{team}"),
    ("PATCH", "/api/v1/orgs/{owner}/teams/{team}"),
    ("PUT", "/api/v1/orgs/{owner}/teams/{team}"),
    ("DELETE", "/api/v1/orgs/{owner}/teams/{team}"),
    ("GET", "/api/v1/orgs/{owner}/teams/{team}/members"),
    ("POST", "/api/v1/orgs/{owner}/teams/{team}/members"),
    ("DELETE", "/api/v1/orgs/{owner}/teams/{team}/members/{user}"),
    ("GET", "/api/v1/orgs/{owner}/teams/{team}/projects"),
    ("POST", "/api/v1/orgs/{owner}/teams/{team}/projects"),
    ("DELETE", "/api/v1/orgs/{owner}/teams/{team}/projects/{project}"),
    ("GET", "/api/v1/orgs/{owner}/projects/{project}/members"),
    ("POST", "/api/v1/orgs/{owner}/projects/{project}/members"),
    ("DELETE", "/api/v1/orgs/{owner}/projects/{project}/members/{user}"),
    ("GET", "/api/v1/orgs/{owner}/sa"),
    ("POST", "/api/v1/orgs/{owner}/sa"),
    ("DELETE", "/api/v1/orgs/{owner}/sa/{name}"),
    ("GET", "/api/v1/orgs/{owner}/sa/{name}/tokens"),
    ("POST", "/api/v1/orgs/{owner}/sa/{name}/tokens"),
    ("DELETE", "/api/v1/orgs/{owner}/sa/{name}/tokens/{uuid}"),
    ("GET", "/api/v1/orgs/{owner}/audit"),
    ("POST", "/internal/v1/authorize"),
    ("POST", "/internal/v1/audit"),
    ("POST", "/internal/v1/projects/created"),
    ("POST", "/internal/v1/projects/deleted"),
    ("GET", "/internal/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
];

/// The 401 answers of every route that needs a token.
pub const UNAUTHENTICATED: &str =
    "`auth.unauthenticated` (no token, or an unknown one), `auth.token_expired`, `auth.token_revoked`";
/// The 403 answer of a route the permission matrix guards.
pub const FORBIDDEN: &str = "`auth.forbidden`: the caller's role does not allow it";
/// The 404 answer of a route under `/api/v1/orgs/{owner}`.
pub const ORG_NOT_FOUND: &str = "`auth.org_not_found`: no such org, or the caller has no relation to it";
/// The 400 answer of a route whose only body check is the JSON shape.
pub const INVALID_BODY: &str = "`auth.invalid_body`: malformed JSON or a missing field";

/// The OpenAPI document of the auth service's routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Myelin auth",
        description = "Users, organizations, teams, roles, API tokens, service accounts and the audit log \
                       (Polyaxon API v1 paths), and the gateway's decision endpoint."
    ),
    paths(
        account::signup,
        account::login,
        account::whoami,
        account::list_tokens,
        account::create_token,
        account::revoke_token,
        orgs::create,
        orgs::list,
        orgs::get,
        orgs::delete,
        orgs::members,
        orgs::add_member,
        orgs::change_role,
        orgs::replace_role,
        orgs::remove_member,
        teams::list,
        teams::create,
        teams::get,
        teams::rename,
        teams::replace,
        teams::delete,
        teams::members,
        teams::add_member,
        teams::remove_member,
        grants::projects,
        grants::grant,
        grants::revoke,
        projects::members,
        projects::add_member,
        projects::remove_member,
        service_accounts::list,
        service_accounts::create,
        service_accounts::delete,
        service_accounts::list_tokens,
        service_accounts::create_token,
        service_accounts::revoke_token,
        audit::list,
        authorize::decide,
        internal::record_audit,
        internal::project_created,
        internal::project_deleted,
        openapi,
        health::healthz,
        health::readyz,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Schemes),
    tags(
        (name = "auth", description = "Sign-up, login, whoami and personal tokens"),
        (name = "orgs", description = "Organizations, their members and direct project members"),
        (name = "teams", description = "Teams, their members and the projects granted to them"),
        (name = "service_accounts", description = "Service accounts and their tokens"),
        (name = "audit", description = "The audit log"),
        (name = "internal", description = "Reached by the gateway only, never routed publicly"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// The error envelope every 4xx/5xx answer carries (documentation mirror of
/// `myelin_common::error::ErrorBody`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// Stable dotted code, e.g. `auth.team_not_found`.
    code: String,
    message: String,
    request_id: Option<String>,
    /// Machine-readable extras: `field` (400), `name` (404, 409), `retry_after_secs` (429).
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
}

/// Adds the security schemes the paths name: `token` (the `Authorization` header) and
/// `internal_token` (the decision endpoint's shared secret).
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <key>` or `Bearer <key>`: a login, personal or service-account token",
            ))),
        );
        components.add_security_scheme(
            "internal_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                myelin_contracts::auth::INTERNAL_TOKEN_HEADER,
                "auth's `internal_token`, when one is configured",
            ))),
        );
    }
}

/// `GET /internal/openapi.json`: this document.
#[utoipa::path(
    get, path = "/internal/openapi.json", tag = "internal", operation_id = "AuthOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document of the auth service"))
)]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
