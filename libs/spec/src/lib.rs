//! Polyaxonfile model and validation (pure code, no IO).
//!
//! [`parse`] reads a Polyaxonfile, YAML or JSON (the `polyaxon` CLI sends operations as a JSON
//! string), checks its structure against Polyaxon's schemas and returns a [`Document`], or the
//! first problem as an [`Error`] with a stable code, the path of the offending node and its
//! line in the text.
//!
//! Map of the crate:
//! - [`document`]: [`Document`], what a valid file yields;
//! - [`kinds`]: [`DocKind`] and [`RunKind`];
//! - [`io`]: inputs/outputs and their types;
//! - `validate/`: one module per section (component, operation, run, shared fields, field
//!   tables with "did you mean");
//! - [`error`]: [`Error`] and its codes; `lines`: locates a path in the source text;
//! - `syntax`: positions for YAML errors the parser gives none for;
//! - `convert`: YAML value → JSON value; `path`: node paths such as `inputs[2].type`.

pub mod document;
pub mod error;
pub mod io;
pub mod kinds;

mod convert;
mod lines;
mod path;
mod syntax;
mod validate;

pub use document::Document;
pub use error::{Error, code};
pub use kinds::{DocKind, RunKind, UnknownKind};

use error::Issue;
use path::Path;

/// Parses and validates a Polyaxonfile (YAML or JSON text).
pub fn parse(content: &str) -> Result<Document, Error> {
    // A byte-order mark (files saved on Windows) is not content; editors do not count it.
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut root: yaml_serde::Value = yaml_serde::from_str(content).map_err(|error| syntax_error(content, &error))?;
    if root.is_null() {
        return Err(Error {
            code: code::INVALID_DOCUMENT,
            path: String::new(),
            line: Some(1),
            column: Some(1),
            message: "the content is empty: expected a Polyaxonfile with `kind: component` or `kind: operation`"
                .to_owned(),
        });
    }
    root.apply_merge().map_err(|error| syntax_error(content, &error))?;
    let value = convert::to_json(&root, &Path::root()).map_err(|issue| locate(content, issue))?;
    let (kind, summary) = validate::document(&root).map_err(|issue| locate(content, issue))?;
    Ok(Document {
        kind,
        version: summary.version,
        name: summary.name,
        description: summary.description,
        tags: summary.tags.unwrap_or_default(),
        run_kind: summary.run_kind,
        value,
    })
}

/// A YAML/JSON syntax error, at the position the parser reports (or that `syntax` finds).
fn syntax_error(content: &str, error: &yaml_serde::Error) -> Error {
    let (position, path) = syntax::position(content, error);
    Error {
        code: code::INVALID_YAML,
        path: path.map(|path| path.to_string()).unwrap_or_default(),
        line: position.map(|at| at.line),
        column: position.map(|at| at.column),
        message: format!("invalid YAML/JSON: {error}"),
    }
}

/// Turns a validation issue into an [`Error`] located in `content`.
fn locate(content: &str, issue: Issue) -> Error {
    let position = lines::locate_nearest(content, &issue.path, issue.anchor);
    Error {
        code: issue.code,
        path: issue.path.to_string(),
        line: position.map(|at| at.line),
        column: position.map(|at| at.column),
        message: issue.message,
    }
}
