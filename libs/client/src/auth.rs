//! Auth: sign-up, login, whoami and personal tokens (`/api/v1/auth/*`, `/api/v1/users*`), and the
//! org API under `/api/v1/orgs/...`: organizations, members and roles, teams with their members and
//! granted projects, project members, service accounts with their tokens, and the audit log.
//!
//! Request bodies are sent as the auth service reads them (`myelin_contracts::auth::dto`); answers
//! decode into the same types.

use myelin_contracts::ListResponse;
use myelin_contracts::auth::dto::{
    AuditEntry, AuthToken, Member, Organization, ProjectMember, ServiceAccount, Team, TeamMember, Token, User,
};
use myelin_contracts::auth::{OrgRole, TeamRole};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use uuid::Uuid;

use crate::{Client, Error};

#[derive(Serialize)]
struct Credentials<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct Signup<'a> {
    username: &'a str,
    email: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct TokenCreate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u32>,
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct UserRole<'a, R> {
    user: &'a str,
    role: R,
}

#[derive(Serialize)]
struct RoleOnly {
    role: OrgRole,
}

#[derive(Serialize)]
struct Grant<'a> {
    project: &'a str,
}

#[derive(Serialize)]
struct ServiceAccountCreate<'a> {
    name: &'a str,
    role: OrgRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

#[derive(Serialize)]
struct AuditPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u64>,
}

impl Client {
    /// A request to `/api/v1/orgs/{owner}/<segments...>`.
    fn org_request(&self, method: Method, owner: &str, segments: &[&str]) -> RequestBuilder {
        let mut all = vec!["orgs", owner];
        all.extend_from_slice(segments);
        self.request(method, &all)
    }

    /// `POST /api/v1/auth/token`: a login token for `username` (or an email) and `password`.
    pub async fn login(&self, username: &str, password: &str) -> Result<AuthToken, Error> {
        let body = Credentials { username, password };
        self.json(self.request(Method::POST, &["auth", "token"]).json(&body))
            .await
    }

    /// `POST /api/v1/auth/signup`: creates a user and answers a login token.
    pub async fn signup(&self, username: &str, email: &str, password: &str) -> Result<AuthToken, Error> {
        let body = Signup {
            username,
            email,
            password,
        };
        self.json(self.request(Method::POST, &["auth", "signup"]).json(&body))
            .await
    }

    /// `GET /api/v1/users`: who the client's token belongs to.
    pub async fn whoami(&self) -> Result<User, Error> {
        self.json(self.request(Method::GET, &["users"])).await
    }

    /// `POST /api/v1/users/tokens` (201): a personal token, `days` long (none: no expiry); its
    /// `key` is only in this answer.
    pub async fn create_token(&self, name: Option<&str>, days: Option<u32>) -> Result<Token, Error> {
        let body = TokenCreate { name, expiration: days };
        self.json(self.request(Method::POST, &["users", "tokens"]).json(&body))
            .await
    }

    /// `GET /api/v1/users/tokens`: the caller's tokens (without their keys).
    pub async fn list_tokens(&self) -> Result<ListResponse<Token>, Error> {
        self.json(self.request(Method::GET, &["users", "tokens"])).await
    }

    /// `DELETE /api/v1/users/tokens/{uuid}` (204).
    pub async fn revoke_token(&self, uuid: Uuid) -> Result<(), Error> {
        let uuid = uuid.to_string();
        self.empty(self.request(Method::DELETE, &["users", "tokens", &uuid]))
            .await
    }

    /// `POST /api/v1/orgs/create` (201): the caller becomes its owner.
    pub async fn create_org(&self, name: &str) -> Result<Organization, Error> {
        self.json(self.request(Method::POST, &["orgs", "create"]).json(&Named { name }))
            .await
    }

    /// `GET /api/v1/orgs/list`: the caller's organizations, with the caller's role in each.
    pub async fn list_orgs(&self) -> Result<ListResponse<Organization>, Error> {
        self.json(self.request(Method::GET, &["orgs", "list"])).await
    }

    /// `GET /api/v1/orgs/{owner}`.
    pub async fn get_org(&self, owner: &str) -> Result<Organization, Error> {
        self.json(self.org_request(Method::GET, owner, &[])).await
    }

    /// `DELETE /api/v1/orgs/{owner}` (204; owners only).
    pub async fn delete_org(&self, owner: &str) -> Result<(), Error> {
        self.empty(self.org_request(Method::DELETE, owner, &[])).await
    }

    /// `GET /api/v1/orgs/{owner}/members`.
    pub async fn list_members(&self, owner: &str) -> Result<ListResponse<Member>, Error> {
        self.json(self.org_request(Method::GET, owner, &["members"])).await
    }

    /// `POST /api/v1/orgs/{owner}/members` (201): adds an existing user with `role`.
    pub async fn add_member(&self, owner: &str, user: &str, role: OrgRole) -> Result<Member, Error> {
        let body = UserRole { user, role };
        self.json(self.org_request(Method::POST, owner, &["members"]).json(&body))
            .await
    }

    /// `PATCH /api/v1/orgs/{owner}/members/{user}` (204).
    pub async fn change_member_role(&self, owner: &str, user: &str, role: OrgRole) -> Result<(), Error> {
        let request = self.org_request(Method::PATCH, owner, &["members", user]);
        self.empty(request.json(&RoleOnly { role })).await
    }

    /// `DELETE /api/v1/orgs/{owner}/members/{user}` (204).
    pub async fn remove_member(&self, owner: &str, user: &str) -> Result<(), Error> {
        self.empty(self.org_request(Method::DELETE, owner, &["members", user]))
            .await
    }

    /// `GET /api/v1/orgs/{owner}/teams`.
    pub async fn list_teams(&self, owner: &str) -> Result<ListResponse<Team>, Error> {
        self.json(self.org_request(Method::GET, owner, &["teams"])).await
    }

    /// `POST /api/v1/orgs/{owner}/teams` (201).
    pub async fn create_team(&self, owner: &str, name: &str) -> Result<Team, Error> {
        self.json(self.org_request(Method::POST, owner, &["teams"]).json(&Named { name }))
            .await
    }

    /// `GET /api/v1/orgs/{owner}/teams/{team}`.
    pub async fn get_team(&self, owner: &str, team: &str) -> Result<Team, Error> {
        self.json(self.org_request(Method::GET, owner, &["teams", team])).await
    }

    /// `PATCH /api/v1/orgs/{owner}/teams/{team}`: renames the team to `name`.
    pub async fn rename_team(&self, owner: &str, team: &str, name: &str) -> Result<Team, Error> {
        let request = self.org_request(Method::PATCH, owner, &["teams", team]);
        self.json(request.json(&Named { name })).await
    }

    /// `DELETE /api/v1/orgs/{owner}/teams/{team}` (204).
    pub async fn delete_team(&self, owner: &str, team: &str) -> Result<(), Error> {
        self.empty(self.org_request(Method::DELETE, owner, &["teams", team]))
            .await
    }

    /// `GET /api/v1/orgs/{owner}/teams/{team}/members`.
    pub async fn list_team_members(&self, owner: &str, team: &str) -> Result<ListResponse<TeamMember>, Error> {
        self.json(self.org_request(Method::GET, owner, &["teams", team, "members"]))
            .await
    }

    /// `POST /api/v1/orgs/{owner}/teams/{team}/members` (201): adds an org user with a team role.
    pub async fn add_team_member(&self, owner: &str, team: &str, user: &str, role: TeamRole) -> Result<(), Error> {
        let request = self.org_request(Method::POST, owner, &["teams", team, "members"]);
        self.empty(request.json(&UserRole { user, role })).await
    }

    /// `DELETE /api/v1/orgs/{owner}/teams/{team}/members/{user}` (204).
    pub async fn remove_team_member(&self, owner: &str, team: &str, user: &str) -> Result<(), Error> {
        self.empty(self.org_request(Method::DELETE, owner, &["teams", team, "members", user]))
            .await
    }

    /// `GET /api/v1/orgs/{owner}/teams/{team}/projects`: the names of the projects granted to it.
    pub async fn list_team_projects(&self, owner: &str, team: &str) -> Result<ListResponse<String>, Error> {
        self.json(self.org_request(Method::GET, owner, &["teams", team, "projects"]))
            .await
    }

    /// `POST /api/v1/orgs/{owner}/teams/{team}/projects` (201, idempotent): grants `project`.
    pub async fn grant_project(&self, owner: &str, team: &str, project: &str) -> Result<(), Error> {
        let request = self.org_request(Method::POST, owner, &["teams", team, "projects"]);
        self.empty(request.json(&Grant { project })).await
    }

    /// `DELETE /api/v1/orgs/{owner}/teams/{team}/projects/{project}` (204): withdraws the grant.
    pub async fn revoke_project(&self, owner: &str, team: &str, project: &str) -> Result<(), Error> {
        self.empty(self.org_request(Method::DELETE, owner, &["teams", team, "projects", project]))
            .await
    }

    /// `GET /api/v1/orgs/{owner}/projects/{project}/members`: users granted the project directly.
    pub async fn list_project_members(&self, owner: &str, project: &str) -> Result<ListResponse<ProjectMember>, Error> {
        self.json(self.org_request(Method::GET, owner, &["projects", project, "members"]))
            .await
    }

    /// `POST /api/v1/orgs/{owner}/projects/{project}/members` (201): gives `user` `role` on it.
    pub async fn add_project_member(
        &self,
        owner: &str,
        project: &str,
        user: &str,
        role: TeamRole,
    ) -> Result<(), Error> {
        let request = self.org_request(Method::POST, owner, &["projects", project, "members"]);
        self.empty(request.json(&UserRole { user, role })).await
    }

    /// `DELETE /api/v1/orgs/{owner}/projects/{project}/members/{user}` (204).
    pub async fn remove_project_member(&self, owner: &str, project: &str, user: &str) -> Result<(), Error> {
        let segments = ["projects", project, "members", user];
        self.empty(self.org_request(Method::DELETE, owner, &segments)).await
    }

    /// `GET /api/v1/orgs/{owner}/sa`.
    pub async fn list_service_accounts(&self, owner: &str) -> Result<ListResponse<ServiceAccount>, Error> {
        self.json(self.org_request(Method::GET, owner, &["sa"])).await
    }

    /// `POST /api/v1/orgs/{owner}/sa` (201): a service account acting with org `role`.
    pub async fn create_service_account(
        &self,
        owner: &str,
        name: &str,
        role: OrgRole,
        description: Option<&str>,
    ) -> Result<ServiceAccount, Error> {
        let body = ServiceAccountCreate {
            name,
            role,
            description,
        };
        self.json(self.org_request(Method::POST, owner, &["sa"]).json(&body))
            .await
    }

    /// `DELETE /api/v1/orgs/{owner}/sa/{name}` (204; its tokens stop working).
    pub async fn delete_service_account(&self, owner: &str, name: &str) -> Result<(), Error> {
        self.empty(self.org_request(Method::DELETE, owner, &["sa", name])).await
    }

    /// `GET /api/v1/orgs/{owner}/sa/{name}/tokens`.
    pub async fn list_sa_tokens(&self, owner: &str, sa: &str) -> Result<ListResponse<Token>, Error> {
        self.json(self.org_request(Method::GET, owner, &["sa", sa, "tokens"]))
            .await
    }

    /// `POST /api/v1/orgs/{owner}/sa/{name}/tokens` (201): its `key` is only in this answer.
    pub async fn create_sa_token(
        &self,
        owner: &str,
        sa: &str,
        name: Option<&str>,
        days: Option<u32>,
    ) -> Result<Token, Error> {
        let body = TokenCreate { name, expiration: days };
        self.json(self.org_request(Method::POST, owner, &["sa", sa, "tokens"]).json(&body))
            .await
    }

    /// `DELETE /api/v1/orgs/{owner}/sa/{name}/tokens/{uuid}` (204).
    pub async fn revoke_sa_token(&self, owner: &str, sa: &str, uuid: Uuid) -> Result<(), Error> {
        let uuid = uuid.to_string();
        self.empty(self.org_request(Method::DELETE, owner, &["sa", sa, "tokens", &uuid]))
            .await
    }

    /// `GET /api/v1/orgs/{owner}/audit?offset=&limit=`: the org's audit log, newest first.
    pub async fn audit_log(
        &self,
        owner: &str,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> Result<ListResponse<AuditEntry>, Error> {
        let page = AuditPage { offset, limit };
        self.json(self.org_request(Method::GET, owner, &["audit"]).query(&page))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_paths_and_bodies() {
        let client = Client::new("http://127.0.0.1:8000", Some("t0k".into())).unwrap();
        let request = client
            .org_request(Method::DELETE, "acme", &["teams", "a b", "members", "ann"])
            .build()
            .unwrap();
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:8000/api/v1/orgs/acme/teams/a%20b/members/ann"
        );
        let body = serde_json::to_value(UserRole {
            user: "ann",
            role: OrgRole::Manager,
        })
        .unwrap();
        assert_eq!(body, serde_json::json!({"user": "ann", "role": "manager"}));
        let body = serde_json::to_value(TokenCreate {
            name: None,
            expiration: Some(3),
        })
        .unwrap();
        assert_eq!(body, serde_json::json!({"expiration": 3}));
        let request = client
            .org_request(Method::GET, "acme", &["audit"])
            .query(&AuditPage {
                offset: None,
                limit: Some(5),
            })
            .build()
            .unwrap();
        assert_eq!(request.url().query(), Some("limit=5"));
    }
}
