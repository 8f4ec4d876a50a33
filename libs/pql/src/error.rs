//! The one error type of the crate: a stable code, a message and the byte offset in the query text.

use std::fmt;

/// Stable error codes (part of the HTTP contract: they end up in `details.pql_code`).
pub mod codes {
    /// The text does not follow the grammar (unbalanced parenthesis, missing `:`, open quote...).
    pub const SYNTAX: &str = "pql.syntax";
    /// The field is not one the schema knows.
    pub const UNKNOWN_FIELD: &str = "pql.unknown_field";
    /// The value does not fit the field (not a number, a date, a uuid, one of the choices...).
    pub const INVALID_VALUE: &str = "pql.invalid_value";
    /// The operator does not apply to the field (`<` on a name, `%` on a number, sorting by tags...).
    pub const INVALID_OPERATOR: &str = "pql.invalid_operator";
}

/// Why a query or a sort was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PqlError {
    /// One of [`codes`].
    pub code: &'static str,
    /// What is wrong, for a human.
    pub message: String,
    /// Byte offset in the query (or sort) text where the problem starts.
    pub position: usize,
    /// The field concerned, when the problem is about one.
    pub field: Option<String>,
}

impl PqlError {
    /// A `pql.syntax` error at `position`.
    pub fn syntax(position: usize, message: impl Into<String>) -> Self {
        Self::new(codes::SYNTAX, position, message)
    }

    /// An error with `code` at `position`.
    pub fn new(code: &'static str, position: usize, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            position,
            field: None,
        }
    }

    /// The same error, naming `field`.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
}

impl fmt::Display for PqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at position {})", self.message, self.position)
    }
}
