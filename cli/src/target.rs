//! `-p PROJECT` values: `name` or `owner/name` (owner `default` when omitted).

use std::fmt;
use std::str::FromStr;

/// The owner every Myelin has out of the box.
pub const DEFAULT_OWNER: &str = "default";

/// A project as the user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef {
    pub owner: String,
    pub name: String,
}

impl FromStr for ProjectRef {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let valid = |part: &str| !part.is_empty() && !part.chars().any(char::is_whitespace);
        match value.split_once('/') {
            None if valid(value) => Ok(Self {
                owner: DEFAULT_OWNER.to_owned(),
                name: value.to_owned(),
            }),
            Some((owner, name)) if valid(owner) && valid(name) && !name.contains('/') => Ok(Self {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(format!("`{value}` is not a project: expected `name` or `owner/name`")),
        }
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!("demo".parse::<ProjectRef>().unwrap().to_string(), "default/demo");
        assert_eq!("acme/demo".parse::<ProjectRef>().unwrap().to_string(), "acme/demo");
        for bad in ["", "/demo", "acme/", "a/b/c", "my demo"] {
            assert!(bad.parse::<ProjectRef>().is_err(), "{bad}");
        }
    }
}
