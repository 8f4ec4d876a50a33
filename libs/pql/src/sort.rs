//! `sort` parameters: `-created_at, name, metrics.loss` → ordering expressions.

use sea_query::{Expr, NullOrdering, Order, OrderedStatement};

use crate::compile::lookup;
use crate::error::{PqlError, codes};
use crate::json;
use crate::schema::{Backend, Kind, Schema};

/// One ordering key (a JSON field gives two: its numeric value, then its string value).
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The field as written, without its `-`/`+`.
    pub field: String,
    pub expr: Expr,
    pub order: Order,
    /// Nulls come last whatever the direction (same result on SQLite and PostgreSQL).
    pub nulls_last: bool,
}

impl SortKey {
    /// Adds this key to `statement` (`ORDER BY expr ASC|DESC [NULLS LAST]`).
    pub fn apply<S: OrderedStatement>(&self, statement: &mut S) {
        if self.nulls_last {
            statement.order_by_expr_with_nulls(self.expr.clone(), self.order.clone(), NullOrdering::Last);
        } else {
            statement.order_by_expr(self.expr.clone(), self.order.clone());
        }
    }
}

/// Parses a comma-separated list of fields, each optionally prefixed with `-` (descending) or `+`.
/// Errors carry the byte offset of the faulty field in `text`.
pub fn parse_sort(text: &str, schema: &dyn Schema, backend: Backend) -> Result<Vec<SortKey>, PqlError> {
    let mut keys = Vec::new();
    let mut offset = 0;
    for part in text.split(',') {
        let start = offset + (part.len() - part.trim_start().len());
        offset += part.len() + 1;
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (order, rest, sign) = match part.as_bytes()[0] {
            b'-' => (Order::Desc, &part[1..], 1),
            b'+' => (Order::Asc, &part[1..], 1),
            _ => (Order::Asc, part, 0),
        };
        let name = rest.trim_start();
        let name_pos = start + sign + (rest.len() - name.len());
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
            && !name.split('.').any(str::is_empty);
        if !valid {
            return Err(PqlError::syntax(
                name_pos,
                format!("`{part}` is not a sort field (`name` or `-name`)"),
            ));
        }
        let field = lookup(schema, backend, name, name_pos)?;
        let exprs = match &field.kind {
            Kind::Tags => {
                return Err(
                    PqlError::new(codes::INVALID_OPERATOR, name_pos, format!("cannot sort by `{name}`"))
                        .with_field(name),
                );
            }
            // Numbers first, in numeric order, then strings: the same on both backends.
            Kind::Json { key } => vec![
                json::number(backend, field.expr.clone(), key),
                json::string(backend, field.expr.clone(), key),
            ],
            _ => vec![field.expr.clone()],
        };
        let nulls_last = field.nullable || matches!(field.kind, Kind::Json { .. });
        keys.extend(exprs.into_iter().map(|expr| SortKey {
            field: name.to_owned(),
            expr,
            order: order.clone(),
            nulls_last,
        }));
    }
    Ok(keys)
}
