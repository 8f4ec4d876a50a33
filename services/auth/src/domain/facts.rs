//! The plain facts [`super::rbac::authorize`] decides on: who the subject is in one org
//! ([`SubjectFacts`]) and what the resource is ([`ResourceFacts`]).

use serde::{Deserialize, Serialize};

use super::roles::{OrgRole, TeamRole};

/// One team the subject belongs to, in the org at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMembership {
    pub team: String,
    pub role: TeamRole,
}

/// One project granted to the subject directly, with a role (`member` or `admin`, as in teams).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMembership {
    pub project: String,
    pub role: TeamRole,
}

/// Everything [`super::rbac::authorize`] needs to know about the subject, in one org.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    /// The subject's org role; `None` for an outsider.
    pub org_role: Option<OrgRole>,
    /// The org's teams the subject belongs to.
    pub teams: Vec<TeamMembership>,
    /// The org's projects granted to the subject directly.
    pub projects: Vec<ProjectMembership>,
}

impl SubjectFacts {
    /// Whether the subject has any relation to the org (member, in one of its teams, or on one of
    /// its projects).
    pub fn is_related(&self) -> bool {
        self.org_role.is_some() || !self.teams.is_empty() || !self.projects.is_empty()
    }

    /// The subject's effective role in `team`: an org admin (or above) who belongs to a team
    /// administers it, whatever their team role.
    pub fn team_role(&self, team: &str) -> Option<TeamRole> {
        let role = self.teams.iter().find(|m| m.team == team)?.role;
        Some(self.promoted(role))
    }

    /// The subject's effective role on `project` from a direct grant; like teams, an org admin (or
    /// above) administers the projects granted to them.
    pub fn project_role(&self, project: &str) -> Option<TeamRole> {
        let role = self.projects.iter().find(|m| m.project == project)?.role;
        Some(self.promoted(role))
    }

    fn promoted(&self, role: TeamRole) -> TeamRole {
        if self.org_role >= Some(OrgRole::Admin) {
            TeamRole::Admin
        } else {
            role
        }
    }
}

/// Everything [`super::rbac::authorize`] needs to know about the resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFacts {
    /// The team acted on (team actions), or the team a project is granted to (`project.grant`).
    pub team: Option<String>,
    /// The project acted on (project and run actions).
    pub project: Option<String>,
    /// The teams the project is granted to.
    pub project_teams: Vec<String>,
    /// The org role being given (`member.add`, `member.change_role`, `sa.create`).
    pub target_role: Option<OrgRole>,
    /// The current org role of the member or service account acted on.
    pub target_current_role: Option<OrgRole>,
}
