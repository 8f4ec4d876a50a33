//! Authorization and auditing of the service's own endpoints.
//!
//! [`check`] loads the org, gathers the facts and applies the matrix: an org that does not exist and
//! an org the caller has no relation to both answer 404 `auth.org_not_found`; a refusal otherwise is
//! 403 `auth.forbidden`. [`Audit::finish`] writes one audit-log row per mutating request, with the
//! answer's code and status, whatever the outcome.

use std::fmt::Display;

use http::StatusCode;
use myelin_common::ApiError;

use super::AppState;
use crate::domain::rbac::{Action, Decision, DenyStatus, ResourceFacts, SubjectFacts, authorize};
use crate::error::Error;
use crate::invalidation::{self, Invalidation};
use crate::store::entities::org;
use crate::store::facts::{self, Subject};
use crate::store::{audit, orgs, teams};

/// An allowed request: the org and what the matrix knew about the caller.
#[derive(Debug)]
pub struct Guarded {
    pub org: org::Model,
    pub facts: SubjectFacts,
}

/// May `subject` do `action` in org `owner` on `resource`? `resource.project_teams` is filled here
/// from `resource.project`.
pub async fn check(
    state: &AppState,
    subject: &Subject,
    owner: &str,
    action: Action,
    mut resource: ResourceFacts,
) -> Result<Guarded, Error> {
    let org = orgs::by_name(&state.store, owner)
        .await?
        .ok_or_else(|| Error::not_found("org", owner))?;
    let facts = facts::subject_facts(&state.store, &org, subject).await?;
    if let Some(project) = &resource.project {
        resource.project_teams = teams::project_teams(&state.store, org.id, project).await?;
    }
    match authorize(&facts, action, &resource) {
        Decision::Allow => Ok(Guarded { org, facts }),
        Decision::Deny {
            status: DenyStatus::NotFound,
            ..
        } => Err(Error::not_found("org", owner)),
        Decision::Deny {
            status: DenyStatus::Forbidden,
            reason,
        } => Err(Error::Forbidden(reason)),
    }
}

/// Longest actor, org or resource text written to the audit log (they may come from request bodies).
pub const MAX_AUDIT_TEXT: usize = 200;

/// `text`, cut to [`MAX_AUDIT_TEXT`] characters.
fn clip(text: &str) -> String {
    text.chars().take(MAX_AUDIT_TEXT).collect()
}

/// One mutating request on its way to the audit log.
pub struct Audit<'a> {
    state: &'a AppState,
    org: Option<String>,
    actor: String,
    action: String,
    resource: String,
    org_only_if_ok: bool,
}

impl<'a> Audit<'a> {
    /// Starts the record of `action` by `actor` on `resource` (in `org`, when about one).
    pub fn new(
        state: &'a AppState,
        actor: impl Into<String>,
        org: Option<&str>,
        action: impl Display,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            state,
            org: org.map(clip),
            actor: clip(&actor.into()),
            action: action.to_string(),
            resource: clip(&resource.into()),
            org_only_if_ok: false,
        }
    }

    /// Records the org only when the request succeeds (`org.create`: a failed attempt to create a
    /// taken name must not show in the log of the org that holds it).
    pub fn org_only_if_ok(mut self) -> Self {
        self.org_only_if_ok = true;
        self
    }

    /// Writes the outcome (`ok` with `ok_status`, or the error's code and status), publishes an
    /// org invalidation after a success in an org, and passes the result on. Probes of orgs that do not exist (or are hidden) are recorded without an org, so
    /// they never show in an org's log. A failure to write is logged, not answered.
    pub async fn finish<T>(self, result: Result<T, Error>, ok_status: StatusCode) -> Result<T, ApiError> {
        let hidden_org =
            matches!(&result, Err(Error::NotFound { what: "org", .. })) || (self.org_only_if_ok && result.is_err());
        let result = result.map_err(ApiError::from);
        let (outcome, status) = match &result {
            Ok(_) => ("ok".to_owned(), ok_status.as_u16()),
            Err(err) => (err.code.to_string(), err.status().as_u16()),
        };
        let entry = audit::Entry {
            org: if hidden_org { None } else { self.org },
            actor: self.actor,
            action: self.action,
            resource: self.resource,
            result: outcome,
            status,
        };
        let changed_org = entry.org.clone().filter(|_| result.is_ok());
        if let Err(err) = audit::record(&self.state.store, entry).await {
            tracing::error!(error = %err, "cannot write the audit log");
        }
        if let Some(org) = changed_org {
            invalidation::publish(&self.state.coord, &Invalidation::Org { org }).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn audit_texts_are_clipped_on_char_boundaries() {
        let long = "é".repeat(300);
        assert_eq!(super::clip(&long).chars().count(), super::MAX_AUDIT_TEXT);
        assert_eq!(super::clip("alice"), "alice");
    }
}
