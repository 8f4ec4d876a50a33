//! Saved run views (Polyaxon's project "searches", `V1Search`): a runs-table state — PQL `query`,
//! `sort`, `limit`, chosen `columns` — that members of a project save and share; the dashboard opens
//! one at `/ui/{owner}/{project}/runs?view=<uuid>`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
