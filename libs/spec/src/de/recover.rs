//! Reading past fatal errors, so that one broken field does not hide the others.
//!
//! serde stops at the first error of a value: it cannot build a struct whose field failed. So
//! [`read_all`] reads the document again without the broken node, as if the file did not have
//! it, until it reads through: each round records the error that stopped it and adds the node
//! to the skip list of [`Sink`]. An error that only exists because of a node left out (a
//! required field now missing, a list now too short, a required field missing beside a key
//! that may be its name misspelt) is not recorded: the node that holds it is left out
//! instead, and reading goes on with its siblings.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::{PathDe, Sink};
use crate::error::{Issue, code};
use crate::path::Path;
use crate::rules::partial::misspells;

/// Rounds at most: a document has far fewer independent errors worth reporting.
const MAX_ROUNDS: usize = 128;

/// Reads `value` (found at `path`) as a `T`, leaving out the nodes in `skip` (already found
/// broken) and every node found broken on the way, which are added to `skip`. Returns the
/// value when what is left reads (`None` when nothing can), and every error found in file
/// order of discovery; warnings of the final read are appended to `warnings`.
pub(crate) fn read_all<T: DeserializeOwned>(
    value: &Json,
    path: &Path,
    skip: &mut Vec<Path>,
    warnings: &mut Vec<Issue>,
) -> (Option<T>, Vec<Issue>) {
    let mut issues: Vec<Issue> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let sink = Sink {
            skip: skip.clone(),
            ..Sink::default()
        };
        let result = T::deserialize(PathDe::new(value.clone(), path.clone(), &sink));
        // Unknown and repeated keys are left out as they are read: the rules must know.
        for issue in sink.errors.into_inner() {
            if !skip.contains(&issue.path) {
                skip.push(issue.path.clone());
            }
            if !issues.contains(&issue) {
                issues.push(issue);
            }
        }
        let fatal = match result {
            Ok(typed) => {
                warnings.extend(sink.warnings.into_inner());
                return (Some(typed), issues);
            }
            Err(error) => error.into_issue(),
        };
        // Below or at a node already left out, or a required field missing beside a key left
        // out that may be its name misspelt (`rnu` for `run`): a consequence, not a new error.
        let missing = fatal.code == code::MISSING_FIELD;
        let derived = skip
            .iter()
            .any(|skipped| skipped.is_within(&fatal.path) || (missing && misspells(skipped, &fatal.path)));
        let mut broken = fatal.path.clone();
        if missing {
            // The path names the absent field: the mapping that lacks it is what is broken.
            broken.pop();
        }
        if !derived && !issues.contains(&fatal) {
            issues.push(fatal);
        }
        while skip.contains(&broken) && broken.pop() {}
        if broken.is_root() || !broken.is_within(path) || broken == *path {
            return (None, issues);
        }
        skip.push(broken);
    }
    (None, issues)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        size: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
        count: Option<u32>,
        label: Option<String>,
    }

    fn read(value: Json, skip: &[&str]) -> (Option<Doc>, Vec<String>, Vec<String>) {
        let mut skip: Vec<Path> = skip.iter().map(|key| Path::root().key(*key)).collect();
        let (doc, issues) = read_all::<Doc>(&value, &Path::root(), &mut skip, &mut Vec::new());
        // Mapping entries are read in key order or in file order, depending on serde_json's
        // features: compare sorted.
        let mut issues: Vec<String> = issues
            .into_iter()
            .map(|issue| format!("{}: {}", issue.path, issue.message))
            .collect();
        issues.sort();
        let mut skipped: Vec<String> = skip.iter().map(ToString::to_string).collect();
        skipped.sort();
        (doc, issues, skipped)
    }

    #[test]
    fn reports_every_independent_error_once() {
        let value = json!({
            "items": [{"name": "a", "size": "big"}, {"size": 1}, {"name": "c", "sise": 2}],
            "count": -1,
            "label": "ok",
        });
        let (doc, issues, skipped) = read(value, &[]);
        assert_eq!(
            issues,
            [
                "count: expected a whole number, 0 or more, found the number `-1`",
                "items[0].size: expected a whole number, 0 or more, found the string `big`",
                "items[1].name: `name` is required",
                "items[2].sise: unknown field `sise` in an item",
            ]
        );
        assert_eq!(skipped, ["count", "items[0].size", "items[1]", "items[2].sise"]);
        let doc = doc.unwrap();
        assert_eq!(doc.items.len(), 2);
        assert_eq!(doc.label.as_deref(), Some("ok"));
    }

    #[test]
    fn a_misspelt_required_field_is_one_error() {
        // `itmes` is reported (unknown field), not again as `items` missing.
        let (doc, issues, _) = read(json!({"itmes": [], "label": "x"}), &[]);
        assert!(doc.is_none());
        assert_eq!(issues, ["itmes: unknown field `itmes` in a doc"]);
    }

    #[test]
    fn a_node_left_out_hides_no_sibling_and_adds_no_error() {
        // `items` was found broken before: its absence is no new error, `count` still is.
        let (doc, issues, skipped) = read(json!({"items": 3, "count": "x"}), &["items"]);
        assert!(doc.is_none());
        assert_eq!(
            issues,
            ["count: expected a whole number, 0 or more, found the string `x`"]
        );
        assert_eq!(skipped, ["count", "items"]);
    }
}
