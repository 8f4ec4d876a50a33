//! The one error [`crate::parse`] returns: a stable code, the path of the offending node
//! (`run.kind`, `inputs[2].type`), its line and column in the submitted text, and a message.
//!
//! Validation works on an [`Issue`] (code, path, message, where to point); [`crate::parse`] turns
//! the first issue into an [`Error`] by locating its path in the source text (see `lines.rs`).

use std::fmt;

use serde::Serialize;

use crate::path::Path;

/// The stable codes of [`Error::code`]. Every one means "fix the Polyaxonfile" (HTTP 400).
pub mod code {
    /// The text is not valid YAML/JSON (syntax error, duplicate key, unsupported YAML tag).
    pub const INVALID_YAML: &str = "spec.invalid_yaml";
    /// The text parses but is not a Polyaxonfile at all: empty, or not a mapping at the top.
    pub const INVALID_DOCUMENT: &str = "spec.invalid_document";
    /// A `kind` (of the document or of `run`) that Polyaxon does not know.
    pub const UNKNOWN_KIND: &str = "spec.unknown_kind";
    /// A required field is absent (or null).
    pub const MISSING_FIELD: &str = "spec.missing_field";
    /// A field has the wrong type or an invalid value.
    pub const INVALID_FIELD: &str = "spec.invalid_field";
    /// A field that the schema of this section does not have.
    pub const UNKNOWN_FIELD: &str = "spec.unknown_field";
    /// Fields that exclude each other are given together (two component references,
    /// `hubRef` and `hub_ref`, two inputs with the same name).
    pub const CONFLICTING_FIELDS: &str = "spec.conflicting_fields";
    /// `-P name=value` (or a param of the file under `strictParams`) names no input/output.
    pub const UNKNOWN_PARAM: &str = "spec.unknown_param";
    /// A required input has no value: no param and no default.
    pub const MISSING_PARAM: &str = "spec.missing_param";
    /// A param value does not have the input's type or breaks its validation rules.
    pub const INVALID_PARAM: &str = "spec.invalid_param";
    /// A reference (`ref: ops.x`, `dagRef`, `{{ ops.x... }}`, `dependencies`) names nothing, or
    /// something that is not upstream.
    pub const INVALID_REF: &str = "spec.invalid_ref";
    /// The operations of a dag depend on each other in a cycle.
    pub const CYCLE: &str = "spec.cycle";
    /// A `{{ }}` template does not parse or uses a name the context does not have.
    pub const INVALID_TEMPLATE: &str = "spec.invalid_template";
    /// The operation names its component by reference (`hubRef`, `pathRef`, `urlRef`) and no
    /// definition was given to compile it.
    pub const UNRESOLVED_COMPONENT: &str = "spec.unresolved_component";
    /// Lint: an input that nothing uses.
    pub const LINT_UNUSED_INPUT: &str = "lint.unused_input";
    /// Lint: a template names a param or context value that does not exist.
    pub const LINT_UNKNOWN_NAME: &str = "lint.unknown_template_name";
    /// Lint: a search asks for more runs than its discrete space holds.
    pub const LINT_NUM_RUNS: &str = "lint.num_runs_exceeds_space";
    /// Lint: a field Polyaxon deprecated (`isList`, `delayValidation`, `options`).
    pub const LINT_DEPRECATED: &str = "lint.deprecated_field";
    /// Lint: a param the component does not declare (it becomes a context value).
    pub const LINT_UNDECLARED_PARAM: &str = "lint.undeclared_param";
}

/// Why a Polyaxonfile was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Error {
    /// One of the constants in [`code`], e.g. `spec.unknown_kind`.
    pub code: &'static str,
    /// The offending node, e.g. `run.kind` or `inputs[2].type`; empty for the whole document.
    pub path: String,
    /// 1-based line of the offending node (of its parent when the node is missing).
    pub line: Option<u32>,
    /// 1-based column, same node as `line`.
    pub column: Option<u32>,
    /// What is wrong, for a person.
    pub message: String,
    /// How to fix it, when a common mistake is likely (`did you mean `operations`?`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The file the error is in, when several were checked together (`myelin check -f a -f b`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<str>>,
}

impl fmt::Display for Error {
    /// `{path} (line {line}): {message} ({hint})`; the path reads `document` when empty, and
    /// the line and hint parts are left out when unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "document" } else { &self.path };
        match self.line {
            Some(line) => write!(f, "{path} (line {line}): {}", self.message)?,
            None => write!(f, "{path}: {}", self.message)?,
        }
        match &self.hint {
            Some(hint) => write!(f, " ({hint})"),
            None => Ok(()),
        }
    }
}

impl Error {
    /// The error in the form editors and compilers use: `file:line:column path: message (hint)`;
    /// the file reads `<input>` when unknown. An error about the command line (`-P lr=x`: no
    /// file, no position) reads `path: message (hint)`.
    pub fn render(&self) -> String {
        let path = if self.path.is_empty() { "document" } else { &self.path };
        let mut text = match (self.file.as_deref(), self.line, self.column) {
            (None, None, _) => format!("{path}: {}", self.message),
            (file, Some(line), Some(column)) => {
                format!("{}:{line}:{column} {path}: {}", file.unwrap_or("<input>"), self.message)
            }
            (file, Some(line), None) => format!("{}:{line} {path}: {}", file.unwrap_or("<input>"), self.message),
            (Some(file), None, _) => format!("{file} {path}: {}", self.message),
        };
        if let Some(hint) = &self.hint {
            text.push_str(&format!(" ({hint})"));
        }
        text
    }
}

impl std::error::Error for Error {}

/// A 1-based position as stored in an [`Error`].
pub(crate) fn position(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Which position of a mapping entry an issue points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The key (`foo:` of an unknown field `foo`).
    Key,
    /// The value node.
    Value,
    /// Not in the text: the issue is about the command line (`-P`, `-HP`).
    Nowhere,
}

/// A validation finding before it is located in the source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issue {
    pub code: &'static str,
    pub path: Path,
    pub anchor: Anchor,
    pub message: String,
    pub hint: Option<String>,
}

impl Issue {
    /// An issue about the value at `path`.
    pub fn at(code: &'static str, path: Path, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            anchor: Anchor::Value,
            message: message.into(),
            hint: None,
        }
    }

    /// The same issue with a hint.
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// An issue about the key of the entry at `path` (unknown or duplicated fields).
    pub fn at_key(code: &'static str, path: Path, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            anchor: Anchor::Key,
            message: message.into(),
            hint: None,
        }
    }

    /// An issue about the command line, not the text (`-P lr=x`): it has a path but no position.
    pub fn nowhere(code: &'static str, path: Path, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            anchor: Anchor::Nowhere,
            message: message.into(),
            hint: None,
        }
    }

    /// `field` is required at `path` but absent.
    pub fn missing(path: Path, message: impl Into<String>) -> Self {
        Self::at(code::MISSING_FIELD, path, message)
    }

    /// The value at `path` is invalid.
    pub fn invalid(path: Path, message: impl Into<String>) -> Self {
        Self::at(code::INVALID_FIELD, path, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(path: &str, line: Option<u32>) -> Error {
        Error {
            code: code::INVALID_FIELD,
            path: path.into(),
            line,
            column: None,
            message: "bad".into(),
            hint: None,
            file: None,
        }
    }

    #[test]
    fn display_names_path_line_and_message() {
        assert_eq!(error("run.kind", Some(7)).to_string(), "run.kind (line 7): bad");
        assert_eq!(error("", Some(1)).to_string(), "document (line 1): bad");
        assert_eq!(error("tags", None).to_string(), "tags: bad");
        let mut hinted = error("ops", Some(2));
        hinted.column = Some(3);
        hinted.hint = Some("did you mean `operations`?".into());
        hinted.file = Some("a.yaml".into());
        assert_eq!(hinted.to_string(), "ops (line 2): bad (did you mean `operations`?)");
        assert_eq!(hinted.render(), "a.yaml:2:3 ops: bad (did you mean `operations`?)");
        assert_eq!(error("params.lr", None).render(), "params.lr: bad");
        assert_eq!(error("tags", Some(4)).render(), "<input>:4 tags: bad");
    }
}
