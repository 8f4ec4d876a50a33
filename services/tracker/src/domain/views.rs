//! Saved run views (Polyaxon's project "searches", `V1Search`): the wire shapes and their rules.
//! A view names a runs-table state — PQL `query`, `sort`, `limit`, chosen `columns` — that members
//! of a project save and share; the dashboard opens one at `/ui/{owner}/{project}/runs?view=<uuid>`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// The longest view name, in characters.
pub const MAX_NAME: usize = 128;
/// The longest `columns`, `layout`, `sections`... string, in bytes.
pub const MAX_TEXT: usize = 8192;

/// What a view shows (Polyaxon's `V1SearchSpec`; the string fields Myelin's dashboard reads).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ViewSpec {
    /// PQL filter of the runs, e.g. `metrics.loss:<0.2, status:succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// PQL sort, e.g. `-metrics.loss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// Page start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
    /// Comma-separated columns: `inputs.lr`, `metrics.loss`, `metrics.loss.min`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<String>,
    /// Comma-separated group-by fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupby: Option<String>,
    /// Free-form layout of the page (the dashboard's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Comma-separated sections shown (e.g. the metric charts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<String>,
    /// Comma-separated compare flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compares: Option<String>,
    /// Comma-separated heat-map fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heat: Option<String>,
}

/// A saved view (`V1Search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct View {
    /// 32 hex digits.
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    /// Who saved it.
    pub user: Option<String>,
    pub tags: Option<Vec<String>>,
    pub spec: ViewSpec,
    /// Always `false`: views belong to a project.
    pub org_level: bool,
    pub live_state: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The body of `POST .../searches`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CreateView {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub spec: ViewSpec,
}

/// The body of `PATCH .../searches/{uuid}`: the fields present replace the stored ones (`spec` as a
/// whole).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PatchView {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub spec: Option<ViewSpec>,
}

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
