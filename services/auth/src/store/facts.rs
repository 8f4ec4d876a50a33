//! From the database to the matrix: who a token is ([`authenticate`] → [`Subject`]) and the plain
//! facts [`crate::domain::rbac::authorize`] needs about them and about a resource.

use secrecy::{ExposeSecret, SecretString};

use super::entities::{org, service_account, user};
use super::tokens::{self, TokenOwner};
use super::{Store, orgs, projects, service_accounts, teams};
use crate::domain::rbac::{OrgRole, ResourceFacts, SubjectFacts};
use crate::domain::token::{self, TokenHash, TokenState};
use crate::error::Error;

/// How stale `last_used_at` may get: a token used continuously is written at most once a minute,
/// not on every request.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(user::Model),
    /// A service account, with the org role it acts with in its own org.
    ServiceAccount(service_account::Model, OrgRole),
}

impl Subject {
    /// The name shown in the audit log and forwarded as `x-myelin-subject`: the username, or
    /// `sa:<name>` for a service account.
    pub fn name(&self) -> String {
        match self {
            Subject::User(user) => user.username.clone(),
            Subject::ServiceAccount(sa, _) => format!("sa:{}", sa.name),
        }
    }

    /// The user, unless the subject is a service account.
    pub fn user(&self) -> Option<&user::Model> {
        match self {
            Subject::User(user) => Some(user),
            Subject::ServiceAccount(..) => None,
        }
    }
}

/// The subject of `token`: 401 `auth.unauthenticated` when it matches nothing,
/// `auth.token_expired` / `auth.token_revoked` when it is no longer usable. Records its use (at
/// most once a minute per token).
pub async fn authenticate(store: &Store, token: &SecretString) -> Result<Subject, Error> {
    if !token::is_well_formed(token) {
        return Err(Error::Unauthenticated);
    }
    let hash = TokenHash::of(token.expose_secret());
    let row = tokens::by_hash(store, &hash).await?.ok_or(Error::Unauthenticated)?;
    match token::state(super::now(), row.expires_at, row.revoked_at) {
        TokenState::Active => {}
        TokenState::Expired => return Err(Error::TokenExpired),
        TokenState::Revoked => return Err(Error::TokenRevoked),
    }
    let subject = match (row.user_id, row.service_account_id) {
        (Some(id), _) => super::users::by_ids(store, vec![id]).await?.pop().map(Subject::User),
        (None, Some(id)) => match service_accounts::by_id(store, id).await? {
            Some(sa) => {
                let role = service_accounts::role(&sa)?;
                Some(Subject::ServiceAccount(sa, role))
            }
            None => None,
        },
        (None, None) => None,
    };
    let subject = subject.ok_or(Error::Unauthenticated)?;
    let now = super::now();
    if row.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
        tokens::touch(store, row.id).await?;
    }
    Ok(subject)
}

/// The token owner of a subject (for its own tokens).
pub fn owner_of(subject: &Subject) -> TokenOwner {
    match subject {
        Subject::User(user) => TokenOwner::User(user.id),
        Subject::ServiceAccount(sa, _) => TokenOwner::ServiceAccount(sa.id),
    }
}

/// The subject's org role, teams and directly granted projects in `org`.
pub async fn subject_facts(store: &Store, org: &org::Model, subject: &Subject) -> Result<SubjectFacts, Error> {
    match subject {
        Subject::User(user) => Ok(SubjectFacts {
            org_role: orgs::member_role(store, org.id, user.id).await?,
            teams: teams::memberships(store, org.id, user.id).await?,
            projects: projects::memberships(store, org.id, user.id).await?,
        }),
        Subject::ServiceAccount(sa, role) if sa.org_id == org.id => Ok(SubjectFacts {
            org_role: Some(*role),
            ..SubjectFacts::default()
        }),
        Subject::ServiceAccount(..) => Ok(SubjectFacts::default()),
    }
}

/// The facts about team `team` and project `project` of `org` (the teams the project is granted to).
pub async fn resource_facts(
    store: &Store,
    org: &org::Model,
    team: Option<&str>,
    project: Option<&str>,
) -> Result<ResourceFacts, Error> {
    let project_teams = match project {
        Some(project) => teams::project_teams(store, org.id, project).await?,
        None => Vec::new(),
    };
    Ok(ResourceFacts {
        team: team.map(str::to_owned),
        project: project.map(str::to_owned),
        project_teams,
        ..ResourceFacts::default()
    })
}
