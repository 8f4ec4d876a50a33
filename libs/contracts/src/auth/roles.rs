//! Roles: [`OrgRole`] (viewer < member < admin < manager < owner; an outsider has none) and
//! [`TeamRole`] (member < admin), with their stable names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role in an organization, lowest first (the order is the rank). An outsider has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// Views runs and most org data.
    Viewer,
    /// Views, and acts on runs (create, stop, restart, delete, update).
    Member,
    /// A member who administers the teams they belong to and the projects granted to them; creates
    /// teams and projects.
    Admin,
    /// Admin on every team and project; adds and removes members.
    Manager,
    /// Everything, including deleting the organization.
    Owner,
}

/// A role in a team, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// Member rights on the projects granted to the team.
    Member,
    /// Administers the team and the projects granted to it.
    Admin,
}

/// A role name that is not one of the known roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, lowest (or first) first.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(OrgRole { Viewer => "viewer", Member => "member", Admin => "admin", Manager => "manager", Owner => "owner" });
named_enum!(TeamRole { Member => "member", Admin => "admin" });

impl FromStr for OrgRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl FromStr for TeamRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}
