//! [`Action`]: everything the permission matrix rules on, each with a stable dotted name
//! (`run.create`, `team.member.add`) used on the wire, in the audit log and in `docs/rbac.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An action name that is not one of the known actions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action `{0}`")]
pub struct UnknownAction(pub String);

macro_rules! actions {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Something a subject may (or may not) do in an organization.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $(#[doc = $doc] $variant,)*
        }

        impl Action {
            /// Every action, in the order of `docs/rbac.md`.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The stable dotted name.
            pub const fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            /// What the action does, in a few words.
            pub const fn summary(self) -> &'static str {
                match self { $(Action::$variant => $doc),* }
            }
        }
    };
}

actions! {
    OrgView => "org.view": "See the organization.",
    OrgUpdate => "org.update": "Change the organization's settings.",
    OrgDelete => "org.delete": "Delete the organization and everything it holds.",
    MemberList => "member.list": "List the members and their roles.",
    MemberAdd => "member.add": "Add a member with a role.",
    MemberRemove => "member.remove": "Remove a member.",
    MemberChangeRole => "member.change_role": "Change a member's role.",
    TeamList => "team.list": "List the teams.",
    TeamView => "team.view": "See a team, its members and its projects.",
    TeamCreate => "team.create": "Create a team.",
    TeamUpdate => "team.update": "Rename a team.",
    TeamDelete => "team.delete": "Delete a team.",
    TeamMemberAdd => "team.member.add": "Add a user to a team, with a team role.",
    TeamMemberRemove => "team.member.remove": "Remove a user from a team.",
    ProjectList => "project.list": "List the org's projects.",
    ProjectView => "project.view": "See a project.",
    ProjectCreate => "project.create": "Create a project.",
    ProjectUpdate => "project.update": "Change a project.",
    ProjectDelete => "project.delete": "Delete a project and its runs.",
    ProjectGrant => "project.grant": "Grant a project to a team, or withdraw the grant.",
    ProjectMemberAdd => "project.member.add": "Give a user a role (member or admin) on the project.",
    ProjectMemberRemove => "project.member.remove": "Take a user's role on the project away.",
    RunView => "run.view": "See runs, their logs, metrics and artifacts.",
    RunCreate => "run.create": "Submit a run.",
    RunStop => "run.stop": "Stop a run.",
    RunRestart => "run.restart": "Restart, resume or copy a run.",
    RunDelete => "run.delete": "Delete a run.",
    RunUpdate => "run.update": "Change a run (name, tags, statuses, tracking data).",
    SaList => "sa.list": "List service accounts and their tokens.",
    SaCreate => "sa.create": "Create a service account (with a role) or one of its tokens.",
    SaDelete => "sa.delete": "Delete a service account or revoke one of its tokens.",
    AuditView => "audit.view": "Read the audit log.",
}

impl Action {
    /// Whether the action changes something (and so is written to the audit log).
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Action::OrgView
                | Action::MemberList
                | Action::TeamList
                | Action::TeamView
                | Action::ProjectList
                | Action::ProjectView
                | Action::RunView
                | Action::SaList
                | Action::AuditView
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// On the wire an action is its dotted name: a string, one of [`Action::ALL`]'s names.
impl utoipa::PartialSchema for Action {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("An action of the permission matrix, by its stable dotted name."))
            .enum_values(Some(Action::ALL.iter().map(|action| action.name())))
            .into()
    }
}

impl utoipa::ToSchema for Action {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for action in Action::ALL {
            assert!(seen.insert(action.name()), "duplicate name {action}");
            assert_eq!(action.name().parse::<Action>().unwrap(), *action);
            let json = serde_json::to_string(action).unwrap();
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), *action);
        }
        assert_eq!(Action::TeamMemberAdd.to_string(), "team.member.add");
        assert!("run.fly".parse::<Action>().is_err());
    }

    #[test]
    fn schema_lists_every_name() {
        use utoipa::{PartialSchema, ToSchema};
        let schema = serde_json::to_value(Action::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(schema["enum"], serde_json::json!(names));
        assert_eq!(<Action as ToSchema>::name(), "Action");
    }
}
