//! Structural validation of a parsed Polyaxonfile, section by section, following Polyaxon's
//! schemas: the document kind, then the component ([`component`]) or operation ([`operation`])
//! fields, a component's `run` ([`run`]), inputs/outputs (`crate::io`) and params.
//!
//! Validation records every independent [`Issue`]: a broken field, section or list item does
//! not stop the checks of its siblings; only what sits below a node that is itself broken (a
//! `run` that is not a mapping, an unknown run kind) is left unchecked. What a section holds
//! beyond its field names and the rules here (container, environment, matrix, schedule, ...)
//! is read by the typed model (`crate::de`) and checked by `crate::rules`.

pub(crate) mod common;
pub(crate) mod component;
pub(crate) mod fields;
pub(crate) mod operation;
pub(crate) mod run;

use yaml_serde::Value as Yaml;

use crate::error::{Issue, code};
use crate::kinds::{self, DocKind, RunKind};
use crate::path::Path;
use common::{kind_of, render};

/// What validation learned about a component or an operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Summary {
    pub version: Option<f64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub run_kind: Option<RunKind>,
}

/// Where a section sits: the document itself, or nested in another section (where `kind` may
/// be left out, as Polyaxon fills it in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Top,
    Nested,
}

/// Validates the whole document: its kind, what it says of itself, and every problem found;
/// `Err` when nothing can be checked (not a mapping, no known `kind`).
pub(crate) fn document(root: &Yaml) -> Result<(DocKind, Summary, Vec<Issue>), Issue> {
    if !root.is_mapping() {
        let message = format!(
            "a Polyaxonfile must be a mapping with `kind: component` or `kind: operation`, found {}",
            kind_of(root)
        );
        return Err(Issue::at(code::INVALID_DOCUMENT, Path::root(), message));
    }
    let kind = doc_kind(root, &Path::root(), None)?;
    let mut issues = Vec::new();
    let summary = match kind {
        DocKind::Component => component::validate(root, &Path::root(), Level::Top, &mut issues),
        DocKind::Operation => operation::validate(root, &Path::root(), Level::Top, &mut issues),
    };
    Ok((kind, summary.unwrap_or_default(), issues))
}

/// The `kind` of the mapping at `path`. At the top it is required; nested, `expected` is the
/// only kind allowed and it may be absent.
pub(crate) fn doc_kind(mapping: &Yaml, path: &Path, expected: Option<DocKind>) -> Result<DocKind, Issue> {
    let kind_path = path.key("kind");
    let accepted = match expected {
        Some(kind) => kind.as_str().to_owned(),
        None => kinds::list(DocKind::ALL.map(|kind| kind.as_str())),
    };
    let value = match (mapping.get("kind"), expected) {
        (None | Some(Yaml::Null), Some(kind)) => return Ok(kind),
        (None | Some(Yaml::Null), None) => {
            return Err(Issue::missing(
                kind_path,
                format!("`kind` is required: one of {accepted}"),
            ));
        }
        (Some(value), _) => value,
    };
    let parsed = value.as_str().and_then(|name| name.parse::<DocKind>().ok());
    match parsed {
        Some(kind) if expected.is_none_or(|expected| expected == kind) => Ok(kind),
        _ => Err(Issue::at(
            code::UNKNOWN_KIND,
            kind_path,
            format!("unknown kind {}: expected {accepted}", render(value)),
        )),
    }
}
