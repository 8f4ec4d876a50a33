//! Paged lists: `{count, results, previous, next}` answers and the query that asks for a page.

use serde::{Deserialize, Serialize};

/// One page of a list (`v1List*Response`). `next`/`previous` are URLs of the neighbour pages
/// (with `offset`/`limit`), or null at the ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    /// How many entities match, over all pages.
    pub count: u64,
    pub results: Vec<T>,
    #[serde(default)]
    pub previous: Option<String>,
    #[serde(default)]
    pub next: Option<String>,
}

/// The query string of list endpoints: `?offset=&limit=&sort=&query=`.
///
/// `sort` is a comma-separated list of fields, `-` for descending (`-created_at`); `query` is a
/// Polyaxon query (`status:running|queued, name:%demo%`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}
