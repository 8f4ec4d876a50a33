//! The Polyaxonfile v1.1 specification (pure code, no IO): parse, validate, compile, lint.
//!
//! [`parse`] reads a Polyaxonfile (YAML, or JSON as the `polyaxon` CLI sends it) into a
//! [`Document`] with its typed [`Spec`], or every problem as [`Error`]s with a stable code, the
//! path of the offending node, its line and column, and a hint. [`compile`] folds an operation,
//! its component, presets and params into a [`CompiledOperation`]; [`check`] is `myelin check`.
//!
//! Map of the crate:
//! - [`model`]: the typed model (components, operations, runtimes, io, params, matrix, ...);
//! - `de`: the path-aware reader of the model (snake_case, unknown fields, tagged unions);
//! - `validate/`: the shape of the raw document (kinds, top-level fields, io, params);
//! - `rules/`: semantics on the typed model (io, params, matrix, schedules, runtimes, dag);
//! - [`values`]: values against io types and validation rules;
//! - [`compile`]: merge strategies, params, templating, the compiled operation;
//! - [`check`]: the report of `myelin check`; `lint`: its warnings;
//! - [`error`]: [`Error`] and its codes; `lines`: locates a path in the source text;
//! - `syntax`: positions for YAML errors the parser gives none for;
//! - `convert`: YAML value → JSON value; `path`: node paths such as `inputs[2].type`;
//! - [`document`], [`kinds`], [`io`]: the parsed document, kind names, io type names.

pub mod check;
pub mod compile;
pub mod document;
pub mod error;
pub mod io;
pub mod kinds;
pub mod model;

mod convert;
mod de;
mod lines;
mod lint;
mod path;
mod rules;
mod syntax;
mod validate;
pub mod values;

pub use check::{CheckReport, IoSummary, Summary, check};
pub use compile::{CompileContext, CompiledOperation, compile, compile_with, inline_component};
pub use document::Document;
pub use error::{Error, code};
pub use kinds::{DocKind, RunKind, UnknownKind};
pub use model::Spec;
pub use rules::matrix::{discrete_len, discrete_space, size as matrix_size};

use error::Issue;
use path::Path;

/// Parses and validates a Polyaxonfile (YAML or JSON text); the first error.
pub fn parse(content: &str) -> Result<Document, Error> {
    parse_all(content).map_err(|mut errors| errors.swap_remove(0))
}

/// Parses and validates a Polyaxonfile; every error found (never an empty list), in file
/// order, each once.
pub fn parse_all(content: &str) -> Result<Document, Vec<Error>> {
    read(content, false)
}

/// Parses and validates a Polyaxonfile that patches another (`-f base.yaml -f override.yaml`):
/// as Polyaxon reads such a file, an operation is a preset (`isPreset: true` unless it says
/// otherwise), which needs no component; every error found.
pub fn parse_overlay(content: &str) -> Result<Document, Vec<Error>> {
    read(content, true)
}

fn read(content: &str, overlay: bool) -> Result<Document, Vec<Error>> {
    // A byte-order mark (files saved on Windows) is not content; editors do not count it.
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut root: yaml_serde::Value =
        yaml_serde::from_str(content).map_err(|error| vec![syntax_error(content, &error)])?;
    if root.is_null() {
        return Err(vec![Error {
            code: code::INVALID_DOCUMENT,
            path: String::new(),
            line: Some(1),
            column: Some(1),
            message: "the content is empty: expected a Polyaxonfile with `kind: component` or `kind: operation`"
                .to_owned(),
            hint: None,
            file: None,
        }]);
    }
    root.apply_merge()
        .map_err(|error| vec![syntax_error(content, &error)])?;
    if overlay
        && let yaml_serde::Value::Mapping(fields) = &mut root
        && fields.get("kind").and_then(yaml_serde::Value::as_str) == Some("operation")
        && !fields.contains_key("isPreset")
        && !fields.contains_key("is_preset")
    {
        fields.insert("isPreset".into(), true.into());
    }
    let one = |issue: Issue| vec![locate(content, issue)];
    let value = convert::to_json(&root, &Path::root()).map_err(one)?;
    // The shape first; then the typed model without the nodes found broken, then the rules
    // on what could be read (see `de::recover`, `rules::check_read`).
    let (kind, summary, mut issues) = validate::document(&root).map_err(one)?;
    let mut skipped: Vec<Path> = issues.iter().map(|issue| issue.path.clone()).collect();
    let mut warnings = Vec::new();
    let (spec, found) = read_typed(kind, &value, &mut skipped, &mut warnings);
    issues.extend(found);
    if let Some(spec) = &spec {
        issues.extend(rules::check_read(spec, &skipped));
    }
    let spec = match spec {
        Some(spec) if issues.is_empty() => spec,
        _ if issues.is_empty() => {
            let message = "the document cannot be read as a Polyaxonfile";
            return Err(one(Issue::at(code::INVALID_DOCUMENT, Path::root(), message)));
        }
        _ => return Err(locate_all(content, issues)),
    };
    Ok(Document {
        kind,
        version: summary.version,
        name: summary.name,
        description: summary.description,
        tags: summary.tags.unwrap_or_default(),
        run_kind: summary.run_kind,
        value,
        spec,
        warnings: locate_all(content, warnings),
        source: content.to_owned(),
    })
}

/// Splits a command-line `name=value` (`-P lr=0.1`, `-HP lr=linspace:0:1:5`); `None` without
/// `=` or without a name.
pub fn split_param(pair: &str) -> Option<(String, String)> {
    compile::params::split(pair).map(|(name, value)| (name.to_owned(), value.to_owned()))
}

/// The camelCase JSON form of a typed section (a [`Spec`], a compiled operation, ...).
pub fn to_json<T: serde::Serialize>(typed: &T) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::to_value(typed)
}

/// The camelCase YAML form of a typed section.
pub fn to_yaml<T: serde::Serialize>(typed: &T) -> Result<String, yaml_serde::Error> {
    yaml_serde::to_string(typed)
}

/// Reads the typed model of a document of `kind` past broken nodes: see
/// [`de::recover::read_all`].
fn read_typed(
    kind: DocKind,
    value: &serde_json::Value,
    skip: &mut Vec<Path>,
    warnings: &mut Vec<Issue>,
) -> (Option<Spec>, Vec<Issue>) {
    let root = Path::root();
    match kind {
        DocKind::Component => {
            let (component, issues) = de::recover::read_all(value, &root, skip, warnings);
            (component.map(|component| Spec::Component(Box::new(component))), issues)
        }
        DocKind::Operation => {
            let (operation, issues) = de::recover::read_all(value, &root, skip, warnings);
            (operation.map(|operation| Spec::Operation(Box::new(operation))), issues)
        }
    }
}

/// Locates every issue, once each, in order of position in the text (issues without one
/// last; the order found between issues at the same place).
fn locate_all(content: &str, issues: Vec<Issue>) -> Vec<Error> {
    let mut errors: Vec<Error> = Vec::with_capacity(issues.len());
    for error in issues.into_iter().map(|issue| locate(content, issue)) {
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    errors.sort_by_key(|error| (error.line.is_none(), error.line, error.column));
    errors
}

/// A YAML/JSON syntax error, at the position the parser reports (or that `syntax` finds).
fn syntax_error(content: &str, error: &yaml_serde::Error) -> Error {
    let (position, path) = syntax::position(content, error);
    Error {
        code: code::INVALID_YAML,
        path: path.map(|path| path.to_string()).unwrap_or_default(),
        line: position.map(|at| crate::error::position(at.line)),
        column: position.map(|at| crate::error::position(at.column)),
        message: format!("invalid YAML/JSON: {error}"),
        hint: None,
        file: None,
    }
}

/// Turns a validation issue into an [`Error`] located in `content`.
fn locate(content: &str, issue: Issue) -> Error {
    let position = lines::locate_nearest(content, &issue.path, issue.anchor);
    Error {
        code: issue.code,
        path: issue.path.to_string(),
        line: position.map(|at| crate::error::position(at.line)),
        column: position.map(|at| crate::error::position(at.column)),
        message: issue.message,
        hint: issue.hint,
        file: None,
    }
}
