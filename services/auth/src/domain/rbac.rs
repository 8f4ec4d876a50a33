//! The permission matrix, as data: who may do what in an organization.
//!
//! Every [`Action`] has one [`Rule`] ([`rule`]): the lowest org role allowed on every resource of
//! the org, and — for team and project actions — the lowest team role that allows it on the teams
//! the subject belongs to (team actions), or on the projects granted to those teams or to the
//! subject directly (project and run actions). [`authorize`] applies a rule to plain facts ([`SubjectFacts`], [`ResourceFacts`]), so
//! the whole matrix is tested without a database, and `docs/rbac.md` is rendered from it.
//!
//! Two rules hold everywhere:
//! - a subject with no relation to the org (not a member, in none of its teams, on none of its
//!   projects) gets
//!   [`DenyStatus::NotFound`], never `Forbidden`: the org's existence is not revealed;
//! - nobody grants more than they hold: a role given, or the current role of the member (or service
//!   account) acted upon, may not be above the actor's own role (so only owners make or touch owners).

use serde::{Deserialize, Serialize};

pub use super::actions::{Action, UnknownAction};
pub use super::facts::{ProjectMembership, ResourceFacts, SubjectFacts, TeamMembership};
pub use super::roles::{OrgRole, TeamRole, UnknownRole};

/// What an action is about: the org itself, one team, or one project (and its runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Org,
    Team,
    Project,
}

/// The row of the matrix for one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    /// The lowest org role allowed on every resource of the org.
    pub org_wide: OrgRole,
    /// Team/project scope: the lowest (effective) team role that allows the action on that team or
    /// on a project granted to that team.
    pub via_team: Option<TeamRole>,
    /// The lowest org role the team path also requires (`None`: outsiders in a team qualify).
    pub via_team_min_org: Option<OrgRole>,
    /// Escalation guard: the role given and the target's current role must not exceed the actor's.
    pub bounded_by_own_role: bool,
    /// `project.grant`: the target team ([`ResourceFacts::team`]) must be administered too.
    pub target_team_administered: bool,
}

impl Rule {
    const fn new(scope: Scope, org_wide: OrgRole, via_team: Option<TeamRole>) -> Self {
        Self {
            scope,
            org_wide,
            via_team,
            via_team_min_org: None,
            bounded_by_own_role: false,
            target_team_administered: false,
        }
    }
    const fn org(org_wide: OrgRole) -> Self {
        Self::new(Scope::Org, org_wide, None)
    }
    const fn team(org_wide: OrgRole, via: TeamRole) -> Self {
        Self::new(Scope::Team, org_wide, Some(via))
    }
    const fn project(org_wide: OrgRole, via: TeamRole) -> Self {
        Self::new(Scope::Project, org_wide, Some(via))
    }
    const fn bounded(mut self) -> Self {
        self.bounded_by_own_role = true;
        self
    }
    const fn via_min(mut self, role: OrgRole) -> Self {
        self.via_team_min_org = Some(role);
        self
    }
    const fn target_team(mut self) -> Self {
        self.target_team_administered = true;
        self
    }
}

/// The matrix: the rule of each action.
pub const fn rule(action: Action) -> Rule {
    use Action::*;
    use OrgRole::{Admin, Manager, Member, Owner, Viewer};
    match action {
        OrgView | MemberList | TeamList | ProjectList => Rule::org(Viewer),
        OrgUpdate | AuditView => Rule::org(Manager),
        OrgDelete => Rule::org(Owner),
        MemberAdd | MemberRemove | MemberChangeRole | SaCreate | SaDelete => Rule::org(Manager).bounded(),
        TeamCreate | ProjectCreate | SaList => Rule::org(Admin),
        TeamView => Rule::team(Viewer, TeamRole::Member),
        TeamUpdate | TeamMemberAdd | TeamMemberRemove => Rule::team(Manager, TeamRole::Admin),
        TeamDelete => Rule::team(Manager, TeamRole::Admin).via_min(Admin),
        ProjectView | RunView => Rule::project(Viewer, TeamRole::Member),
        ProjectUpdate => Rule::project(Manager, TeamRole::Admin),
        ProjectDelete => Rule::project(Manager, TeamRole::Admin).via_min(Admin),
        ProjectGrant => Rule::project(Manager, TeamRole::Admin).target_team(),
        ProjectMemberAdd | ProjectMemberRemove => Rule::project(Manager, TeamRole::Admin),
        RunCreate | RunStop | RunRestart | RunDelete | RunUpdate => Rule::project(Member, TeamRole::Member),
    }
}

/// Why a request is refused: `NotFound` hides the org from subjects with no relation to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyStatus {
    NotFound,
    Forbidden,
}

/// The answer of [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { status: DenyStatus, reason: String },
}

impl Decision {
    fn forbidden(reason: String) -> Self {
        Decision::Deny {
            status: DenyStatus::Forbidden,
            reason,
        }
    }

    /// Whether the action is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Applies the matrix: may `subject` do `action` on `resource`?
pub fn authorize(subject: &SubjectFacts, action: Action, resource: &ResourceFacts) -> Decision {
    if !subject.is_related() {
        return Decision::Deny {
            status: DenyStatus::NotFound,
            reason: "no such organization".into(),
        };
    }
    let rule = rule(action);
    if !allowed_by_rule(&rule, subject, resource) {
        return Decision::forbidden(format!("`{action}` is not allowed: {}", describe(&rule)));
    }
    if rule.bounded_by_own_role {
        let own = subject.org_role;
        if resource.target_role.is_some_and(|r| Some(r) > own) {
            return Decision::forbidden("nobody can grant a role above their own".into());
        }
        if resource.target_current_role.is_some_and(|r| Some(r) > own) {
            return Decision::forbidden("nobody can act on a member whose role is above their own".into());
        }
    }
    Decision::Allow
}

fn allowed_by_rule(rule: &Rule, subject: &SubjectFacts, resource: &ResourceFacts) -> bool {
    if subject.org_role.is_some_and(|r| r >= rule.org_wide) {
        return true;
    }
    let Some(needed) = rule.via_team else {
        return false;
    };
    if rule.via_team_min_org.is_some_and(|min| subject.org_role < Some(min)) {
        return false;
    }
    let held = match rule.scope {
        Scope::Org => None,
        Scope::Team => resource.team.as_deref().and_then(|t| subject.team_role(t)),
        Scope::Project => {
            let direct = resource.project.as_deref().and_then(|p| subject.project_role(p));
            let through_teams = resource.project_teams.iter().filter_map(|t| subject.team_role(t));
            through_teams.chain(direct).max()
        }
    };
    let target_ok = !rule.target_team_administered
        || resource.team.as_deref().and_then(|t| subject.team_role(t)) == Some(TeamRole::Admin);
    held.is_some_and(|h| h >= needed) && target_ok
}

/// A sentence saying who may do what a rule allows (error messages and `docs/rbac.md`).
pub fn describe(rule: &Rule) -> String {
    let mut text = format!("needs the org role `{}` or above", rule.org_wide);
    if let Some(via) = rule.via_team {
        let place = match rule.scope {
            Scope::Team => "of the team",
            _ => "of the project or of a team it is granted to",
        };
        text.push_str(&format!(", or to be a team `{via}` {place}"));
        if let Some(min) = rule.via_team_min_org {
            text.push_str(&format!(" with the org role `{min}` or above"));
        }
        if rule.target_team_administered {
            text.push_str(" and of the target team");
        }
    }
    text
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
