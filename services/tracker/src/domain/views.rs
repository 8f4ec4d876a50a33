//! Saved run views (Polyaxon's project "searches", `V1Search`): the rules of their wire shapes
//! (`myelin_contracts::view`).
//! A view names a runs-table state — PQL `query`, `sort`, `limit`, chosen `columns` — that members
//! of a project save and share; the dashboard opens one at `/ui/{owner}/{project}/runs?view=<uuid>`.

pub use myelin_contracts::view::{CreateView, PatchView, View, ViewSpec};

use crate::error::Error;

/// The longest view name, in characters.
pub const MAX_NAME: usize = 128;
/// The longest `columns`, `layout`, `sections`... string, in bytes.
pub const MAX_TEXT: usize = 8192;

fn invalid(field: &str, message: String) -> Error {
    Error::bad_field("tracker.invalid_view", field, message)
}

/// Checks a view name: 1 to [`MAX_NAME`] characters, not blank, no control characters.
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(invalid("name", "a view needs a name".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(invalid(
            "name",
            format!("a view name has at most {MAX_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "a view name cannot hold control characters".into()));
    }
    Ok(())
}

/// Checks the parts of a spec that need no database: sizes and paging numbers. (The `query` and
/// `sort` are compiled as PQL by the store.)
pub fn check_spec(spec: &ViewSpec) -> Result<(), Error> {
    if spec.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(invalid("spec.limit", "`spec.limit` must be between 1 and 1000".into()));
    }
    if spec.offset.is_some_and(|o| o < 0) {
        return Err(invalid("spec.offset", "`spec.offset` cannot be negative".into()));
    }
    let texts = [
        ("spec.columns", &spec.columns),
        ("spec.groupby", &spec.groupby),
        ("spec.layout", &spec.layout),
        ("spec.sections", &spec.sections),
        ("spec.compares", &spec.compares),
        ("spec.heat", &spec.heat),
    ];
    for (field, text) in texts {
        if text.as_ref().is_some_and(|t| t.len() > MAX_TEXT) {
            return Err(invalid(field, format!("`{field}` is longer than {MAX_TEXT} bytes")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_specs_are_checked() {
        assert!(check_name("best runs").is_ok());
        assert!(check_name("  ").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME + 1)).is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_spec(&ViewSpec::default()).is_ok());
        let bad = ViewSpec {
            limit: Some(0),
            ..ViewSpec::default()
        };
        assert!(check_spec(&bad).is_err());
        let long = ViewSpec {
            columns: Some("c".repeat(MAX_TEXT + 1)),
            ..ViewSpec::default()
        };
        assert!(check_spec(&long).is_err());
    }
}
