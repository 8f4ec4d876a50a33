//! [`Query`] → sea-query [`Condition`], every value a bound parameter.
//!
//! Negation follows Polyaxon: `~<`, `~<=`, `~>`, `~>=` flip the comparison (nulls never match a
//! comparison), while `~v`, `~a|b`, `~%v%`, `~a..b` and `~(...)` match every row the positive
//! form does not match, rows where the field is null included (`NOT COALESCE(cond, FALSE)`).

use chrono::{DateTime, Utc};
use sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr};

use crate::ast::{Comparison, Item, Like, Op, Query, Term};
use crate::error::{PqlError, codes};
use crate::json;
use crate::schema::{Backend, Field, Kind, Schema};
use crate::values::{self, Extent, Moment};

/// Compiles `query` against `schema` for `backend`, with date keywords relative to now.
pub fn compile(query: &Query, schema: &dyn Schema, backend: Backend) -> Result<Condition, PqlError> {
    compile_at(query, schema, backend, Utc::now())
}

/// [`compile`] with date keywords (`today`, `last_week`...) relative to `now`.
pub fn compile_at(
    query: &Query,
    schema: &dyn Schema,
    backend: Backend,
    now: DateTime<Utc>,
) -> Result<Condition, PqlError> {
    let compiler = Compiler { schema, backend, now };
    match query {
        Query::All(parts) if parts.is_empty() => Ok(Condition::all()),
        query => Ok(Condition::all().add(compiler.node(query)?)),
    }
}

/// Looks `field` up, or answers `pql.unknown_field` at `position`.
pub(crate) fn lookup(schema: &dyn Schema, backend: Backend, field: &str, position: usize) -> Result<Field, PqlError> {
    schema.field(field, backend).ok_or_else(|| {
        let names = schema.names();
        let hint = if names.is_empty() {
            String::new()
        } else {
            format!("; known fields: {}", names.join(", "))
        };
        PqlError::new(codes::UNKNOWN_FIELD, position, format!("unknown field `{field}`{hint}")).with_field(field)
    })
}

struct Compiler<'a> {
    schema: &'a dyn Schema,
    backend: Backend,
    now: DateTime<Utc>,
}

/// `NOT COALESCE(cond, FALSE)`: true wherever `cond` is false or unknown.
fn negate(cond: Expr) -> Expr {
    Expr::from(Func::coalesce([cond, Expr::val(false)])).not()
}

fn fold(parts: Vec<Expr>, and: bool) -> Expr {
    let mut parts = parts.into_iter();
    let first = parts.next().unwrap_or_else(|| Expr::val(and));
    parts.fold(first, |acc, e| if and { acc.and(e) } else { acc.or(e) })
}

fn invalid_operator(term: &Term, position: usize, what: &str) -> PqlError {
    PqlError::new(
        codes::INVALID_OPERATOR,
        position,
        format!("{what} does not apply to `{}`", term.field),
    )
    .with_field(&term.field)
}

fn invalid_value(term: &Term, item: &Item, expected: &str) -> PqlError {
    PqlError::new(
        codes::INVALID_VALUE,
        item.pos,
        format!("`{}` is not {expected} (field `{}`)", item.text, term.field),
    )
    .with_field(&term.field)
}

/// The escape character of LIKE patterns (not `\`: PostgreSQL string literals treat it specially).
const ESCAPE: char = '!';

/// The pattern of a `%` item, with `!`, `%` and `_` in the text escaped by `!`.
fn pattern(item: &Item) -> String {
    let mut text = String::with_capacity(item.text.len() + 2);
    if matches!(item.like, Like::Suffix | Like::Contains) {
        text.push('%');
    }
    for c in item.text.chars() {
        if matches!(c, ESCAPE | '%' | '_') {
            text.push(ESCAPE);
        }
        text.push(c);
    }
    if matches!(item.like, Like::Prefix | Like::Contains) {
        text.push('%');
    }
    text
}

fn compare(expr: Expr, cmp: Comparison, value: impl Into<Expr>) -> Expr {
    match cmp {
        Comparison::Lt => expr.lt(value),
        Comparison::Lte => expr.lte(value),
        Comparison::Gt => expr.gt(value),
        Comparison::Gte => expr.gte(value),
    }
}

impl Compiler<'_> {
    fn node(&self, query: &Query) -> Result<Expr, PqlError> {
        Ok(match query {
            Query::All(parts) => fold(parts.iter().map(|p| self.node(p)).collect::<Result<_, _>>()?, true),
            Query::Any(parts) => fold(parts.iter().map(|p| self.node(p)).collect::<Result<_, _>>()?, false),
            Query::Not(inner) => negate(self.node(inner)?),
            Query::Term(term) => self.term(term)?,
        })
    }

    fn term(&self, term: &Term) -> Result<Expr, PqlError> {
        let field = lookup(self.schema, self.backend, &term.field, term.field_pos)?;
        let positive = match &term.op {
            Op::Nil => {
                let null = self.null(&field);
                return Ok(if term.negated { null.not() } else { null });
            }
            Op::Compare(cmp, item) => {
                let cmp = if term.negated { cmp.flipped() } else { *cmp };
                return self.compare(&field, term, cmp, item);
            }
            Op::Any(items) => self.any(&field, term, items)?,
            Op::Range(low, high) => self.range(&field, term, low, high)?,
        };
        Ok(if term.negated { negate(positive) } else { positive })
    }

    fn null(&self, field: &Field) -> Expr {
        match &field.kind {
            Kind::Tags => json::array_is_empty(self.backend, field.expr.clone()),
            Kind::Json { key } => json::is_null(self.backend, field.expr.clone(), key),
            _ => field.expr.clone().is_null(),
        }
    }

    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is, for ASCII).
    fn like(&self, expr: Expr, item: &Item) -> Expr {
        match self.backend {
            // sea-query renders `ILIKE ... ESCAPE` with parentheses PostgreSQL refuses.
            // A prefix without LIKE's special characters: `lower(x) LIKE lower('abc%')`, which an index
            // on `lower(x) text_pattern_ops` answers (ILIKE, or an ESCAPE clause, never use one).
            Backend::Postgres if item.like == Like::Prefix && !item.text.contains([ESCAPE, '%', '_', '\\']) => {
                Expr::cust_with_exprs(
                    "(lower($1) LIKE lower($2))",
                    [expr, Expr::val(format!("{}%", item.text))],
                )
            }
            Backend::Postgres => Expr::cust_with_exprs("($1 ILIKE $2 ESCAPE '!')", [expr, Expr::val(pattern(item))]),
            Backend::Sqlite => expr.like(LikeExpr::new(pattern(item)).escape(ESCAPE)),
        }
    }

    fn number(term: &Term, item: &Item) -> Result<f64, PqlError> {
        if item.like != Like::Exact {
            return Err(invalid_operator(term, item.pos, "`%`"));
        }
        values::number(&item.text).ok_or_else(|| invalid_value(term, item, "a number"))
    }

    fn moment(&self, term: &Term, item: &Item) -> Result<Moment, PqlError> {
        if item.like != Like::Exact {
            return Err(invalid_operator(term, item.pos, "`%`"));
        }
        values::moment(&item.text, self.now).ok_or_else(|| {
            let keywords = values::DATE_KEYWORDS.join(", ");
            invalid_value(
                term,
                item,
                &format!("a date (YYYY-MM-DD[ HH:MM[:SS]]) or one of {keywords}"),
            )
        })
    }

    /// Equal to one of `items` (or like, for `%` items).
    fn any(&self, field: &Field, term: &Term, items: &[Item]) -> Result<Expr, PqlError> {
        let expr = || field.expr.clone();
        let mut exact: Vec<sea_query::Value> = Vec::new();
        let mut alternatives = Vec::new();
        for item in items {
            let patterned = item.like != Like::Exact;
            match &field.kind {
                Kind::Text | Kind::UuidText if patterned => alternatives.push(self.like(expr(), item)),
                Kind::Text => exact.push(item.text.clone().into()),
                Kind::UuidText => match uuid::Uuid::parse_str(item.text.trim()) {
                    Ok(id) => exact.push(id.simple().to_string().into()),
                    Err(_) => return Err(invalid_value(term, item, "a uuid")),
                },
                Kind::Choice(_) | Kind::Bool | Kind::Uuid | Kind::Tags if patterned => {
                    return Err(invalid_operator(term, item.pos, "`%`"));
                }
                Kind::Choice(choices) if <[String]>::contains(choices, &item.text) => {
                    exact.push(item.text.clone().into())
                }
                Kind::Choice(choices) => {
                    return Err(invalid_value(term, item, &format!("one of {}", choices.join(", "))));
                }
                Kind::Number => exact.push(Self::number(term, item)?.into()),
                Kind::Bool => {
                    let flag = values::boolean(&item.text).ok_or_else(|| invalid_value(term, item, "a boolean"))?;
                    exact.push(flag.into());
                }
                Kind::Uuid => match uuid::Uuid::parse_str(item.text.trim()) {
                    Ok(id) => exact.push(id.into()),
                    Err(_) => return Err(invalid_value(term, item, "a uuid")),
                },
                Kind::DateTime => {
                    let moment = self.moment(term, item)?;
                    let from = expr().gte(moment.start);
                    alternatives.push(match moment.extent {
                        Extent::Point => expr().eq(moment.start),
                        Extent::Until(end) => from.and(expr().lt(end)),
                        Extent::Since => from,
                    });
                }
                Kind::Tags => alternatives.push(json::array_contains(self.backend, expr(), &item.text)),
                Kind::Json { key } => alternatives.push(self.json_equals(expr(), key, item)),
            }
        }
        match exact.len() {
            0 => {}
            1 => alternatives.insert(0, expr().eq(exact.remove(0))),
            _ => alternatives.insert(0, expr().is_in(exact)),
        }
        Ok(fold(alternatives, false))
    }

    /// A JSON value equal to `item`: as a number, a boolean or a string, whichever applies.
    fn json_equals(&self, column: Expr, key: &str, item: &Item) -> Expr {
        if item.like != Like::Exact {
            return self.like(json::string(self.backend, column, key), item);
        }
        let mut any = vec![json::string(self.backend, column.clone(), key).eq(item.text.clone())];
        if let Some(n) = values::number(&item.text).filter(|_| !item.quoted) {
            any.push(json::number(self.backend, column.clone(), key).eq(n));
        }
        if let Some(flag) = values::boolean(&item.text).filter(|_| !item.quoted && values::number(&item.text).is_none())
        {
            any.push(json::is_bool(self.backend, column, key, flag));
        }
        fold(any, false)
    }

    /// The expression to compare numerically or in time, or `pql.invalid_operator`.
    fn ordered(&self, field: &Field, term: &Term, what: &str) -> Result<Expr, PqlError> {
        match &field.kind {
            Kind::Number | Kind::DateTime => Ok(field.expr.clone()),
            Kind::Json { key } => Ok(json::number(self.backend, field.expr.clone(), key)),
            _ => Err(invalid_operator(term, term.op_pos, what)),
        }
    }

    fn compare(&self, field: &Field, term: &Term, cmp: Comparison, item: &Item) -> Result<Expr, PqlError> {
        let expr = self.ordered(field, term, &format!("`{}`", cmp.as_str()))?;
        if field.kind != Kind::DateTime {
            return Ok(compare(expr, cmp, Self::number(term, item)?));
        }
        let moment = self.moment(term, item)?;
        Ok(match (cmp, moment.extent) {
            (Comparison::Gt, Extent::Until(end)) => expr.gte(end),
            (Comparison::Lte, Extent::Until(end)) => expr.lt(end),
            (cmp, _) => compare(expr, cmp, moment.start),
        })
    }

    fn range(&self, field: &Field, term: &Term, low: &Item, high: &Item) -> Result<Expr, PqlError> {
        let expr = self.ordered(field, term, "`..`")?;
        if field.kind != Kind::DateTime {
            let (low, high) = (Self::number(term, low)?, Self::number(term, high)?);
            return Ok(expr.clone().gte(low).and(expr.lte(high)));
        }
        let (low, high) = (self.moment(term, low)?, self.moment(term, high)?);
        let upper = match high.extent {
            Extent::Until(end) => expr.clone().lt(end),
            Extent::Point | Extent::Since => expr.clone().lte(high.start),
        };
        Ok(expr.gte(low.start).and(upper))
    }
}
