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
}

/// Why a Polyaxonfile was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Error {
    /// One of the constants in [`code`], e.g. `spec.unknown_kind`.
    pub code: &'static str,
    /// The offending node, e.g. `run.kind` or `inputs[2].type`; empty for the whole document.
    pub path: String,
    /// 1-based line of the offending node (of its parent when the node is missing).
    pub line: Option<usize>,
    /// 1-based column, same node as `line`.
    pub column: Option<usize>,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for Error {
    /// `{path} (line {line}): {message}`; the path reads `document` when empty, and the line
    /// part is left out when unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "document" } else { &self.path };
        match self.line {
            Some(line) => write!(f, "{path} (line {line}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Which position of a mapping entry an issue points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The key (`foo:` of an unknown field `foo`).
    Key,
    /// The value node.
    Value,
}

/// A validation finding before it is located in the source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issue {
    pub code: &'static str,
    pub path: Path,
    pub anchor: Anchor,
    pub message: String,
}

impl Issue {
    /// An issue about the value at `path`.
    pub fn at(code: &'static str, path: Path, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            anchor: Anchor::Value,
            message: message.into(),
        }
    }

    /// An issue about the key of the entry at `path` (unknown or duplicated fields).
    pub fn at_key(code: &'static str, path: Path, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            anchor: Anchor::Key,
            message: message.into(),
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

    fn error(path: &str, line: Option<usize>) -> Error {
        Error {
            code: code::INVALID_FIELD,
            path: path.into(),
            line,
            column: None,
            message: "bad".into(),
        }
    }

    #[test]
    fn display_names_path_line_and_message() {
        assert_eq!(error("run.kind", Some(7)).to_string(), "run.kind (line 7): bad");
        assert_eq!(error("", Some(1)).to_string(), "document (line 1): bad");
        assert_eq!(error("tags", None).to_string(), "tags: bad");
    }
}
