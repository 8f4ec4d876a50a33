//! The JSON shapes of the auth API, after Polyaxon's `v1User`, `v1Auth`, `v1Token`,
//! `v1Organization`, `v1OrganizationMember`, `v1Team`, `v1TeamMember`, `v1ServiceAccount`, plus the
//! internal decision endpoint.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{Action, OrgRole, TeamRole};

/// `POST /api/v1/auth/signup` (`v1UserSingup`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Signup {
    pub username: String,
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// `POST /api/v1/auth/token` (`v1Credentials`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// A new token, shown once (`v1Auth`). No `Debug`: it holds a secret.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthToken {
    pub token: String,
}

/// `GET /api/v1/users`: who the token belongs to (`v1User`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub username: String,
    pub email: Option<String>,
    /// `user` or `service_account`.
    pub kind: String,
    /// The first org the subject belongs to, by name.
    pub organization: Option<String>,
}

/// `POST /api/v1/users/tokens` and service-account tokens.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TokenCreate {
    pub name: Option<String>,
    /// Lifetime in days (Polyaxon's write-only `expiration`); none: no expiry.
    pub expiration: Option<u32>,
}

/// A token as listed (`v1Token`); `key` only in the answer that created it. No `Debug`: `key` is a
/// secret.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Token {
    pub uuid: uuid::Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/orgs/create`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrgCreate {
    pub name: String,
}

/// An organization (`v1Organization`); `role` is the caller's.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Organization {
    pub name: String,
    pub user: String,
    pub role: Option<OrgRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/orgs/{owner}/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MemberCreate {
    pub user: String,
    pub role: OrgRole,
}

/// `PATCH /api/v1/orgs/{owner}/members/{user}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MemberPatch {
    pub role: OrgRole,
}

/// A member (`v1OrganizationMember`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    pub user: String,
    pub user_email: String,
    pub role: OrgRole,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/orgs/{owner}/teams` and `PATCH .../teams/{team}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TeamWrite {
    pub name: String,
}

/// A team (`v1Team`); `role` is the caller's effective team role.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub uuid: uuid::Uuid,
    pub owner: String,
    pub name: String,
    pub user: String,
    pub projects: Vec<String>,
    pub role: Option<TeamRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/orgs/{owner}/teams/{team}/members` and `.../projects/{project}/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TeamMemberCreate {
    pub user: String,
    /// `member` when left out.
    #[serde(default = "team_member_role")]
    pub role: TeamRole,
}

fn team_member_role() -> TeamRole {
    TeamRole::Member
}

/// A team member (`v1TeamMember`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamMember {
    pub user: String,
    pub user_email: String,
    pub role: TeamRole,
    pub org_role: Option<OrgRole>,
}

/// A user granted a project directly, with their project role (same shape as a team member).
pub type ProjectMember = TeamMember;

/// `POST /api/v1/orgs/{owner}/teams/{team}/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GrantCreate {
    pub project: String,
}

/// `POST /api/v1/orgs/{owner}/sa`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ServiceAccountCreate {
    pub name: String,
    pub role: OrgRole,
    pub description: Option<String>,
}

/// A service account (`v1ServiceAccount`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceAccount {
    pub uuid: uuid::Uuid,
    pub name: String,
    pub description: Option<String>,
    pub role: OrgRole,
    pub user: String,
    pub created_at: DateTime<Utc>,
}

/// One audit-log entry.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub result: String,
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// What a decision is about.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceRef {
    /// The org (`{owner}` of the path).
    pub owner: String,
    pub project: Option<String>,
    pub team: Option<String>,
}

/// `POST /internal/v1/authorize`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AuthorizeRequest {
    #[schema(value_type = String, format = Password)]
    pub token: SecretString,
    pub action: Action,
    pub resource: ResourceRef,
}

/// The decision: `status` is 200 when allowed, else the status the gateway answers with (401 bad,
/// expired or revoked token; 404 no relation to the org; 403 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorizeAnswer {
    pub allowed: bool,
    /// The subject's name (forwarded as `x-myelin-subject`), when the token is valid.
    pub subject: Option<String>,
    pub reason: Option<String>,
    pub status: u16,
}
