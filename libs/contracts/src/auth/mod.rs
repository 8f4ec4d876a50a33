//! Auth on the wire: the [`Action`]s the permission matrix rules on, the [`OrgRole`] and
//! [`TeamRole`] names, the auth API's JSON shapes ([`dto`]), the gateway's decision request
//! ([`AuthorizeRequest`] → [`AuthorizeAnswer`]) and the decision-cache invalidations auth publishes
//! on [`INVALIDATION_CHANNEL`] ([`Invalidation`]).

pub mod actions;
pub mod dto;
pub mod roles;

use serde::{Deserialize, Serialize};

pub use actions::{Action, UnknownAction};
pub use dto::{AuthorizeAnswer, AuthorizeRequest, ResourceRef};
pub use roles::{OrgRole, TeamRole, UnknownRole};

/// The path of the decision endpoint the gateway asks (auth's internal API).
pub const AUTHORIZE_PATH: &str = "/internal/v1/authorize";

/// Where the gateway sends the audit records of the requests it forwarded ([`AuditRecord`]s).
pub const AUDIT_PATH: &str = "/internal/v1/audit";

/// Where the gateway says a user created a project ([`ProjectCreated`]), so the creator
/// administers it.
pub const PROJECT_CREATED_PATH: &str = "/internal/v1/projects/created";

/// Where the gateway says a project was deleted ([`ProjectRef`]), so the grants naming it go.
pub const PROJECT_DELETED_PATH: &str = "/internal/v1/projects/deleted";

/// The header that carries auth's `internal_token` on the internal paths.
pub const INTERNAL_TOKEN_HEADER: &str = "x-myelin-internal-token";

/// The coordination pub/sub channel of [`Invalidation`]s (the store adds its own prefix, `myelin:`
/// on Redis).
pub const INVALIDATION_CHANNEL: &str = "auth:invalidate";

/// One audited request: who did what to what, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// The org (`{owner}` of the path).
    pub org: String,
    /// A username, `sa:<name>`, `run:<uuid>` or `anonymous`.
    pub actor: String,
    /// The action name (`run.create`).
    pub action: String,
    /// The request: method and path (`POST /api/v1/acme/demo/runs`).
    pub resource: String,
    /// `ok`, or the error code of the answer.
    pub result: String,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// `POST` [`PROJECT_CREATED_PATH`]: `user` created `owner/project`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectCreated {
    pub owner: String,
    pub project: String,
    pub user: String,
}

/// `POST` [`PROJECT_DELETED_PATH`]: `owner/project` is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectRef {
    pub owner: String,
    pub project: String,
}

/// What changed, published by auth after a successful change, read by every decision cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Invalidation {
    /// Every decision about this org may have changed (members, roles, teams, grants, service
    /// accounts, the org itself).
    Org { org: String },
    /// Decisions for the token with this hash (SHA-256, lowercase hex) must not be served again.
    Token { token_hash: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_wire_shapes() {
        let org = serde_json::to_string(&Invalidation::Org { org: "acme".into() }).unwrap();
        assert_eq!(org, r#"{"org":"acme"}"#);
        let token = Invalidation::Token {
            token_hash: "ab".into(),
        };
        assert_eq!(serde_json::to_string(&token).unwrap(), r#"{"token_hash":"ab"}"#);
        let back: Invalidation = serde_json::from_str(r#"{"token_hash":"ab"}"#).unwrap();
        assert_eq!(back, token);
    }
}
