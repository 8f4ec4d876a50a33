//! List parameters, pure: paging (`offset`/`limit`), sorting (`-created_at,name`), the small subset
//! of Polyaxon's query language projects filter with (`name:a|b`, `name:~%demo%`; runs take full PQL,
//! see `store::run_query`), and the `next`/`previous` links of a page.

use myelin_contracts::ListQuery;

use crate::error::Error;

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u64 = 20;
/// Largest page served; larger `limit`s are clamped.
pub const MAX_LIMIT: u64 = 1000;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
    /// `(field, descending)` in order of precedence.
    pub sort: Vec<(String, bool)>,
    pub filters: Vec<Filter>,
}

/// One `field:value` term of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: String,
    /// `field:~a|b`: none of the values.
    pub negate: bool,
    /// `field:a|b`: any of the values. `%` in a value is a wildcard (`name:%demo%`).
    pub values: Vec<String>,
}

/// Validates `query` against the sortable and filterable fields of a resource (projects; runs use
/// PQL, see `store::run_query`). `default_sort` applies when `sort` is absent.
pub fn page(query: &ListQuery, sortable: &[&str], filterable: &[&str], default_sort: &str) -> Result<Page, Error> {
    let window = paging(query)?;
    let sort_text = query
        .sort
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default_sort);
    Ok(Page {
        sort: parse_sort(sort_text, sortable)?,
        filters: parse_query(query.query.as_deref().unwrap_or(""), filterable)?,
        ..window
    })
}

/// The validated `offset`/`limit` of `query`, without sort or filters.
pub fn paging(query: &ListQuery) -> Result<Page, Error> {
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(0) => {
            return Err(Error::bad_field(
                "tracker.invalid_limit",
                "limit",
                "`limit` must be at least 1",
            ));
        }
        Some(n) => n.min(MAX_LIMIT),
    };
    Ok(Page {
        offset: query.offset.unwrap_or(0),
        limit,
        sort: Vec::new(),
        filters: Vec::new(),
    })
}

fn parse_sort(text: &str, sortable: &[&str]) -> Result<Vec<(String, bool)>, Error> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (desc, field) = match part.strip_prefix('-') {
            Some(field) => (true, field),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if !sortable.contains(&field) {
            return Err(Error::bad_field(
                "tracker.invalid_sort",
                "sort",
                format!("cannot sort by `{field}`; sortable fields: {}", sortable.join(", ")),
            ));
        }
        out.push((field.to_owned(), desc));
    }
    Ok(out)
}

fn parse_query(text: &str, filterable: &[&str]) -> Result<Vec<Filter>, Error> {
    let mut out = Vec::new();
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let invalid = |why: String| Error::bad_field("tracker.invalid_query", "query", why);
        let Some((field, value)) = term.split_once(':') else {
            return Err(invalid(format!("`{term}` is not a `field:value` condition")));
        };
        let field = field.trim();
        if !filterable.contains(&field) {
            return Err(invalid(format!(
                "cannot filter on `{field}`; supported fields: {}",
                filterable.join(", ")
            )));
        }
        let value = value.trim();
        let (negate, value) = match value.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let values: Vec<String> = value
            .split('|')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if values.is_empty() {
            return Err(invalid(format!("`{term}` has no value")));
        }
        out.push(Filter {
            field: field.to_owned(),
            negate,
            values,
        });
    }
    Ok(out)
}

/// The `(previous, next)` links of `page` over `count` items, as relative URLs on `path` that keep
/// the request's `sort` and `query` (Polyaxon answers the same links, absolute).
pub fn links(path: &str, query: &ListQuery, page: &Page, count: u64) -> (Option<String>, Option<String>) {
    let link = |offset: u64| {
        let mut url = format!("{path}?limit={}", page.limit);
        if offset > 0 {
            url.push_str(&format!("&offset={offset}"));
        }
        if let Some(sort) = query.sort.as_deref().filter(|s| !s.is_empty()) {
            url.push_str(&format!("&sort={}", encode(sort)));
        }
        if let Some(q) = query.query.as_deref().filter(|s| !s.is_empty()) {
            url.push_str(&format!("&query={}", encode(q)));
        }
        url
    };
    let previous = (page.offset > 0).then(|| link(page.offset.saturating_sub(page.limit)));
    let next_offset = page.offset.saturating_add(page.limit);
    let next = (next_offset < count).then(|| link(next_offset));
    (previous, next)
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters stay as they are).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SORTABLE: &[&str] = &["created_at", "name"];
    const FILTERABLE: &[&str] = &["status", "name"];

    fn q(offset: Option<u64>, limit: Option<u64>, sort: Option<&str>, query: Option<&str>) -> ListQuery {
        ListQuery {
            offset,
            limit,
            sort: sort.map(Into::into),
            query: query.map(Into::into),
        }
    }

    #[test]
    fn defaults_clamps_and_errors() {
        let p = page(&ListQuery::default(), SORTABLE, FILTERABLE, "-created_at").unwrap();
        assert_eq!(
            (p.offset, p.limit, p.sort.clone()),
            (0, DEFAULT_LIMIT, vec![("created_at".into(), true)])
        );
        let p = page(
            &q(Some(5), Some(1_000_000), Some("name,-created_at"), None),
            SORTABLE,
            FILTERABLE,
            "",
        )
        .unwrap();
        assert_eq!(p.limit, MAX_LIMIT);
        assert_eq!(p.sort, vec![("name".into(), false), ("created_at".into(), true)]);
        assert!(page(&q(None, Some(0), None, None), SORTABLE, FILTERABLE, "name").is_err());
        let err = page(&q(None, None, Some("-bogus"), None), SORTABLE, FILTERABLE, "name").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn query_terms() {
        let p = page(
            &q(None, None, None, Some("status:~running|queued, name:%demo%")),
            SORTABLE,
            FILTERABLE,
            "name",
        )
        .unwrap();
        assert_eq!(
            p.filters,
            vec![
                Filter {
                    field: "status".into(),
                    negate: true,
                    values: vec!["running".into(), "queued".into()]
                },
                Filter {
                    field: "name".into(),
                    negate: false,
                    values: vec!["%demo%".into()]
                },
            ]
        );
        for bad in ["status", "owner:me", "status:"] {
            assert!(
                page(&q(None, None, None, Some(bad)), SORTABLE, FILTERABLE, "name").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn links_like_polyaxon() {
        // Transcript x_ops_ls_offset: offset=1, limit=1, sort=-created_at over 3 runs.
        let query = q(Some(1), Some(1), Some("-created_at"), None);
        let p = page(&query, SORTABLE, FILTERABLE, "name").unwrap();
        let (prev, next) = links("/api/v1/default/extras/runs", &query, &p, 3);
        assert_eq!(
            prev.as_deref(),
            Some("/api/v1/default/extras/runs?limit=1&sort=-created_at")
        );
        assert_eq!(
            next.as_deref(),
            Some("/api/v1/default/extras/runs?limit=1&offset=2&sort=-created_at")
        );
        let (prev, next) = links("/p", &query, &p, 2);
        assert!(prev.is_some() && next.is_none());
        let query = q(None, Some(2), None, Some("status:a|b"));
        let p = page(&query, SORTABLE, FILTERABLE, "name").unwrap();
        let (prev, next) = links("/p", &query, &p, 3);
        assert_eq!(prev, None);
        assert_eq!(next.as_deref(), Some("/p?limit=2&offset=2&query=status%3Aa%7Cb"));
    }
}
