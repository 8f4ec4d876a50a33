//! What a query may talk about: the caller's [`Schema`] maps each field name to a SQL expression
//! and a [`Kind`], which decides the operators and values the field accepts.

use sea_query::Expr;

/// The SQL dialect to compile for (JSON access differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The fields of one resource (runs, projects...).
pub trait Schema {
    /// The field `name` as written in a query or a sort (`status`, `metrics.loss`, `inputs.lr`),
    /// or `None` when there is no such field.
    fn field(&self, name: &str, backend: Backend) -> Option<Field>;

    /// The field names to suggest when a name is unknown (`inputs.*` style for families).
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A field: its SQL expression, its kind and whether it can be null.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The column (or computed expression). For [`Kind::Json`] and [`Kind::Tags`], the JSON column.
    pub expr: Expr,
    pub kind: Kind,
    /// Null values sort last on both backends (`NULLS LAST`) when set.
    pub nullable: bool,
}

/// What a field holds, hence the operators it accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Text: `=`, `a|b`, `%` patterns (case-insensitive), `nil`.
    Text,
    /// Text restricted to these values (a status): `=`, `a|b`, `nil`; other values are refused.
    Choice(Vec<String>),
    /// A number: `=`, `a|b`, `< <= > >=`, `a..b`, `nil`.
    Number,
    /// A timestamp: dates, datetimes and keywords with `=`, `< <= > >=`, `a..b`, `nil`.
    DateTime,
    /// A boolean: `true`/`false` and friends, `nil`.
    Bool,
    /// A uuid column (values in either the dashed or the 32-hex form).
    Uuid,
    /// A uuid stored as 32 lower-case hex digits in text (inside JSON): `=`, `a|b`, `%`, `nil`.
    UuidText,
    /// A JSON array of strings: `tags:a` contains `a`, `tags:a|b` contains one of them, `nil` empty.
    Tags,
    /// The value at `key` of a JSON object column: numbers compare as numbers, strings as text.
    Json { key: String },
}

impl Field {
    /// A non-null field of `kind`.
    pub fn new(kind: Kind, expr: impl Into<Expr>) -> Self {
        Self {
            expr: expr.into(),
            kind,
            nullable: false,
        }
    }

    /// The same field, marked nullable.
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
}
