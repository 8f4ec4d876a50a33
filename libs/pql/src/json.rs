//! JSON access in SQL for each backend, with the key always a bound parameter.
//!
//! SQLite stores JSON as text and reads it with `json_extract`/`json_type`/`json_each`; PostgreSQL
//! columns are `jsonb` and read with `->`, `->>`, `jsonb_typeof` and `@>`.

use sea_query::{Expr, ExprTrait};

use crate::Backend;

/// `template` (PostgreSQL `$n` placeholders, or SQLite `?` placeholders taking `sqlite_args` in
/// order) with `args`.
fn custom(backend: Backend, pg: &'static str, sqlite: &'static str, args: Vec<Expr>, sqlite_args: &[usize]) -> Expr {
    match backend {
        Backend::Postgres => Expr::cust_with_exprs(pg, args),
        Backend::Sqlite => Expr::cust_with_exprs(sqlite, sqlite_args.iter().map(|&i| args[i].clone())),
    }
}

/// The key as the backend wants it: a `$."key"` path for SQLite, the bare key for PostgreSQL.
fn key_arg(backend: Backend, key: &str) -> Expr {
    match backend {
        Backend::Postgres => Expr::val(key.to_owned()),
        Backend::Sqlite => Expr::val(format!("$.\"{key}\"")),
    }
}

/// Whether `key` is missing or null in `column` (or `column` is null).
pub fn is_null(backend: Backend, column: Expr, key: &str) -> Expr {
    let key = key_arg(backend, key);
    custom(
        backend,
        "(($1 ->> $2) IS NULL)",
        "(json_extract(?, ?) IS NULL)",
        vec![column, key],
        &[0, 1],
    )
}

/// The value at `key` when it is a JSON string, else NULL.
pub fn string(backend: Backend, column: Expr, key: &str) -> Expr {
    let key = key_arg(backend, key);
    custom(
        backend,
        "(CASE WHEN jsonb_typeof($1 -> $2) = 'string' THEN $1 ->> $2 END)",
        "(CASE WHEN json_type(?, ?) = 'text' THEN json_extract(?, ?) END)",
        vec![column, key],
        &[0, 1, 0, 1],
    )
}

/// The value at `key` when it is a JSON number, as a double, else NULL.
pub fn number(backend: Backend, column: Expr, key: &str) -> Expr {
    let key = key_arg(backend, key);
    custom(
        backend,
        "(CASE WHEN jsonb_typeof($1 -> $2) = 'number' THEN ($1 ->> $2)::double precision END)",
        "(CASE WHEN json_type(?, ?) IN ('integer', 'real') THEN json_extract(?, ?) END)",
        vec![column, key],
        &[0, 1, 0, 1],
    )
}

/// Whether the value at `key` is the JSON boolean `expected` (NULL when `column` is null).
pub fn is_bool(backend: Backend, column: Expr, key: &str, expected: bool) -> Expr {
    let key = key_arg(backend, key);
    match backend {
        Backend::Postgres => Expr::cust_with_exprs(
            "(jsonb_typeof($1 -> $2) = 'boolean' AND ($1 ->> $2) = $3)",
            [column, key, Expr::val(expected.to_string())],
        ),
        Backend::Sqlite => Expr::cust_with_exprs("json_type(?, ?)", [column, key]).eq(expected.to_string()),
    }
}

/// Whether the JSON array `column` holds the string `item`.
pub fn array_contains(backend: Backend, column: Expr, item: &str) -> Expr {
    match backend {
        Backend::Postgres => {
            let probe = serde_json::Value::Array(vec![serde_json::Value::String(item.to_owned())]);
            Expr::cust_with_exprs("($1 @> $2)", [column, Expr::val(probe)])
        }
        Backend::Sqlite => Expr::cust_with_exprs(
            "EXISTS (SELECT 1 FROM json_each(?) AS pql_item WHERE pql_item.value = ?)",
            [column, Expr::val(item.to_owned())],
        ),
    }
}

/// Whether the JSON array `column` is null, JSON null or empty.
pub fn array_is_empty(backend: Backend, column: Expr) -> Expr {
    custom(
        backend,
        "($1 IS NULL OR $1 IN ('[]'::jsonb, 'null'::jsonb))",
        "(? IS NULL OR json_array_length(?) = 0)",
        vec![column],
        &[0, 0],
    )
}
