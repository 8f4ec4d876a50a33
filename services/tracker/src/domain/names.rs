//! Name rules for owners and projects (Polyaxon's slugs: letters, digits, `-` and `_`).

use crate::error::Error;

/// Longest project name.
pub const MAX_NAME_LEN: usize = 128;

/// Names that would shadow a route under `/api/v1/{owner}/`.
const RESERVED: &[&str] = &["projects", "runs", "agents", "queues", "orgs"];

/// Checks a project name, as `field` of the request.
pub fn project(name: &str, field: &str) -> Result<(), Error> {
    let invalid = |why: &str| {
        Error::bad_field(
            "tracker.invalid_name",
            field,
            format!("invalid project name `{name}`: {why}"),
        )
    };
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(invalid("it must have 1 to 128 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("use only letters, digits, `-` and `_`"));
    }
    if RESERVED.contains(&name) {
        return Err(invalid("this name is reserved"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_only() {
        for ok in ["demo", "my-project_2", "A"] {
            assert!(project(ok, "name").is_ok(), "{ok}");
        }
        for bad in ["", "has space", "a/b", "projects", "é", &"x".repeat(129)] {
            assert!(project(bad, "name").is_err(), "{bad}");
        }
    }
}
