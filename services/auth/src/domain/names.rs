//! Validated names: [`Username`], [`OrgName`], [`TeamName`], [`ServiceAccountName`], [`Email`].
//! Each is a newtype with `FromStr`/`Display`/serde; parsing says what is wrong in words a user can act on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name or an email is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct InvalidName {
    /// `username`, `organization name`, `team name`, `service account name` or `email`.
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

/// The rule shared by user, org, team and service-account names: 2–64 characters, ASCII letters,
/// digits, `-`, `_` and `.`, starting with a letter or a digit (so a name is safe in a URL path).
fn check_slug(what: &'static str, value: &str) -> Result<(), InvalidName> {
    let fail = |reason| {
        Err(InvalidName {
            what,
            value: value.to_owned(),
            reason,
        })
    };
    if value.len() < 2 || value.len() > 64 {
        return fail("must be 2 to 64 characters long");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return fail("may only hold ASCII letters, digits, `-`, `_` and `.`");
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail("must start with a letter or a digit");
    }
    Ok(())
}

/// Path segments under `/api/v1/` that are routes, not owners: no org may be named so.
pub const RESERVED_ORG_NAMES: &[&str] = &[
    "auth",
    "compatibility",
    "installation",
    "log_handler",
    "openapi.json",
    "orgs",
    "sso",
    "users",
    "ui",
];

/// A slug that is not one of [`RESERVED_ORG_NAMES`].
fn check_org(what: &'static str, value: &str) -> Result<(), InvalidName> {
    check_slug(what, value)?;
    if RESERVED_ORG_NAMES.contains(&value.to_ascii_lowercase().as_str()) {
        return Err(InvalidName {
            what,
            value: value.to_owned(),
            reason: "is reserved (an API path segment)",
        });
    }
    Ok(())
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces, ≤ 254 bytes.
fn check_email(what: &'static str, value: &str) -> Result<(), InvalidName> {
    let reason = match value.split_once('@') {
        _ if value.len() > 254 => Some("must be at most 254 characters long"),
        _ if value.chars().any(|c| c.is_whitespace() || c.is_control()) => Some("must not contain spaces"),
        None => Some("must contain `@`"),
        Some((local, domain)) if local.is_empty() || domain.contains('@') => Some("must be `name@domain`"),
        Some((_, domain)) if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') => {
            Some("the domain must be like `example.com`")
        }
        Some(_) => None,
    };
    match reason {
        Some(reason) => Err(InvalidName {
            what,
            value: value.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $what:literal, $check:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(String);

        impl $ty {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $check($what, s).map(|()| $ty(s.to_owned()))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A user's login name.
    Username, "username", check_slug
);
name_type!(
    /// An organization's name (the `{owner}` of the API paths).
    OrgName, "organization name", check_org
);
name_type!(
    /// A team's name, unique in its org.
    TeamName, "team name", check_slug
);
name_type!(
    /// A service account's name, unique in its org.
    ServiceAccountName, "service account name", check_slug
);
name_type!(
    /// A user's email address (compared as given; stored lower-cased by the store).
    Email, "email", check_email
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_slug_rule() {
        for ok in ["ab", "alice", "a.b-c_d", "0rg", &"x".repeat(64)] {
            assert!(ok.parse::<Username>().is_ok(), "{ok}");
        }
        for (bad, reason) in [
            ("a", "2 to 64"),
            (&"x".repeat(65), "2 to 64"),
            ("-ab", "start with"),
            ("a b", "ASCII"),
            ("a/b", "ASCII"),
            ("é1", "ASCII"),
        ] {
            let err = bad.parse::<OrgName>().unwrap_err();
            assert!(err.to_string().contains(reason), "{bad}: {err}");
            assert!(err.to_string().contains("organization name"), "{err}");
        }
    }

    #[test]
    fn emails_are_checked() {
        assert!("a@b.io".parse::<Email>().is_ok());
        for reserved in ["orgs", "users", "Auth"] {
            assert!(reserved.parse::<OrgName>().is_err(), "{reserved}");
        }
        assert!("acme".parse::<OrgName>().is_ok());
        for (bad, reason) in [
            ("ab.io", "`@`"),
            ("@b.io", "name@domain"),
            ("a@b@c.io", "name@domain"),
            ("a@localhost", "domain"),
            ("a b@c.io", "spaces"),
        ] {
            let err = bad.parse::<Email>().unwrap_err();
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
        let json = serde_json::to_string(&"a@b.io".parse::<Email>().unwrap()).unwrap();
        assert_eq!(json, "\"a@b.io\"");
        assert!(serde_json::from_str::<Username>("\"x\"").is_err());
    }
}
