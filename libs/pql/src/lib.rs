//! Polyaxon's query language (PQL), parsed to an AST and compiled to sea-query conditions whose
//! values are all bound parameters, for SQLite and PostgreSQL.
//!
//! ```text
//! status:running|queued, metrics.loss:<0.2        conditions joined by `,` (AND)
//! name:%demo% | tags:baseline                      ` | ` or OR between conditions
//! (kind:job OR kind:service) AND ~(user:bot)       parentheses, AND/OR words, negated groups
//! status:~succeeded   tags:nil   finished_at:~nil  negation, null checks
//! created_at:2024-01-01..2024-02-01   created_at:>=last_week   started_at:today
//! name:"a, b"   inputs.lr:>=0.01   outputs.model:%resnet%
//! ```
//! `AND` binds tighter than `OR`. Dates are UTC; a date or a datetime without seconds covers its
//! whole day or minute (`created_at:2024-01-01` is that day, `<=2024-01-31` includes the 31st).
//!
//! Sorting: `-created_at, name, metrics.loss` ([`parse_sort`]).
//!
//! The caller describes its fields with a [`Schema`]; this crate never names a table.
//! ```
//! use myelin_pql::{Backend, Field, Kind, Schema, compile, parse};
//! use sea_query::{Expr, Query, SqliteQueryBuilder};
//!
//! struct Runs;
//! impl Schema for Runs {
//!     fn field(&self, name: &str, _: Backend) -> Option<Field> {
//!         match name {
//!             "name" => Some(Field::new(Kind::Text, Expr::col("name")).nullable()),
//!             _ => None,
//!         }
//!     }
//! }
//! let query = parse("name:'; DROP TABLE runs; --'").unwrap();
//! let condition = compile(&query, &Runs, Backend::Sqlite).unwrap();
//! let (sql, values) = Query::select().column("name").from("runs").cond_where(condition).build(SqliteQueryBuilder);
//! assert_eq!(sql, r#"SELECT "name" FROM "runs" WHERE "name" = ?"#);
//! assert_eq!(values.0.len(), 1);
//! ```

pub mod ast;
mod compile;
mod error;
pub mod json;
mod parser;
mod schema;
mod sort;
pub mod values;

pub use ast::Query;
pub use compile::{compile, compile_at};
pub use error::{PqlError, codes};
pub use parser::parse;
pub use schema::{Backend, Field, Kind, Schema};
pub use sort::{SortKey, parse_sort};

#[cfg(test)]
mod tests;
