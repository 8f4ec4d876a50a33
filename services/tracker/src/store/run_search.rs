//! The plan of a run list: how many runs match, and the rows of the page, in order. The general
//! plan sorts uuids and reads the page's rows afterwards, by uuid, so sorting never carries whole
//! runs; the metric plan reads rows in index order and stops at the page's size.
//!
//! Any query works through the general plan: `runs` with one `LEFT JOIN` per metric used. Queries on
//! metrics alone get plans that start from `run_metric_summaries (project_id, name, last, run_uuid)`
//! instead of the project's runs (measured in docs/benchmarks.md):
//! - count: when a top-level `AND` term compares metric D (not negated, not `nil`), every match has
//!   D, so the matches are counted among D's summaries of the project, minus the archived ones (few,
//!   found from `runs (project_id, archived)`);
//! - page: when every sort key is a metric, the first one S, the runs having S are read in index
//!   order and the page stops at its size; only when it is not full are the runs lacking S (which
//!   sort last, `NULLS LAST`) read with the general plan. Ties on S go by uuid in S's direction.

use myelin_pql::ast::Term;
use myelin_pql::{Query, SortKey};
use sea_orm::sea_query::{self, Alias, Condition, Expr, ExprTrait, Func, Order, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Iterable, QueryFilter};
use uuid::Uuid;

use super::entities::{run, run_metric_summary as summary};
use super::run_query::{Filter, RunFields, split_metric};
use crate::domain::listing::Page;
use crate::error::Error;

/// What a list asks for, compiled.
pub struct Search<'a> {
    pub project_id: i64,
    pub filter: &'a Filter,
    pub fields: &'a RunFields,
    pub sort: &'a [SortKey],
    pub page: &'a Page,
}

/// The number of matching runs and the rows of the page, in order.
pub async fn run(conn: &impl ConnectionTrait, search: &Search<'_>) -> Result<(u64, Vec<run::Model>), Error> {
    let hide_archived = !search.filter.names_archived;
    let metric_only = hide_archived && only_metrics(&search.filter.query);
    let count = match driving_metric(&search.filter.query).and_then(|m| search.fields.alias_of(m)) {
        Some(alias) if metric_only => count_from_summaries(conn, search, &alias).await?,
        _ => count(conn, general(search, Joins::Filter, hide_archived, None)).await?,
    };
    let sort_metric = search
        .sort
        .iter()
        .all(|key| key.field.starts_with("metrics."))
        .then(|| search.sort.first())
        .flatten()
        .and_then(|key| key.field.strip_prefix("metrics."))
        .and_then(|m| search.fields.alias_of(split_metric(m).0));
    let rows = match sort_metric {
        // `metric_only` holds for the empty query too.
        Some(alias) if metric_only => page_by_metric(conn, search, &alias).await?,
        _ => {
            let mut select = general(search, Joins::All, hide_archived, None);
            select.column((run::Entity, run::Column::Uuid));
            order(&mut select, search.sort, Order::Asc);
            rows_of(conn, uuids(conn, select, search.page.offset, search.page.limit).await?).await?
        }
    };
    Ok((count, rows))
}

/// The rows of `uuids`, in that order.
async fn rows_of(conn: &impl ConnectionTrait, uuids: Vec<Uuid>) -> Result<Vec<run::Model>, Error> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = run::Entity::find()
        .filter(run::Column::Uuid.is_in(uuids.iter().copied()))
        .all(conn)
        .await?;
    rows.sort_by_key(|row| uuids.iter().position(|u| *u == row.uuid).unwrap_or(usize::MAX));
    Ok(rows)
}

/// Whether every term of `query` is on a metric.
fn only_metrics(query: &Query) -> bool {
    match query {
        Query::All(parts) | Query::Any(parts) => parts.iter().all(only_metrics),
        Query::Not(inner) => only_metrics(inner),
        Query::Term(term) => term.field.starts_with("metrics."),
    }
}

/// A metric every match must have: one compared by a top-level term (not negated, not `nil`).
fn driving_metric(query: &Query) -> Option<&str> {
    fn requires(term: &Term) -> Option<&str> {
        let metric = term.field.strip_prefix("metrics.")?;
        (!term.negated && term.op != myelin_pql::ast::Op::Nil).then(|| split_metric(metric).0)
    }
    match query {
        Query::Term(term) => requires(term),
        Query::All(parts) => parts.iter().find_map(|part| match part {
            Query::Term(term) => requires(term),
            _ => None,
        }),
        _ => None,
    }
}

fn col(table: &str, column: impl sea_query::Iden + 'static) -> Expr {
    Expr::col((Alias::new(table), column))
}

/// The metrics the filter names.
fn filter_metrics(query: &Query) -> Vec<&str> {
    match query {
        Query::All(parts) | Query::Any(parts) => parts.iter().flat_map(filter_metrics).collect(),
        Query::Not(inner) => filter_metrics(inner),
        Query::Term(term) => term
            .field
            .strip_prefix("metrics.")
            .map(|m| split_metric(m).0)
            .into_iter()
            .collect(),
    }
}

/// Which metric joins a statement needs: all of them to sort, those of the filter to count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Joins {
    All,
    Filter,
}

impl Joins {
    /// The metrics to join (`None`: every one recorded).
    fn only(self, query: &Query) -> Option<Vec<&str>> {
        (self == Joins::Filter).then(|| filter_metrics(query))
    }
}

/// `runs` of the project with the metrics joined, matching the filter (`extra` too).
fn general(search: &Search<'_>, joins: Joins, hide_archived: bool, extra: Option<Condition>) -> SelectStatement {
    let mut select = sea_query::Query::select();
    select
        .from(run::Entity)
        .and_where(Expr::col((run::Entity, run::Column::ProjectId)).eq(search.project_id))
        .cond_where(search.filter.condition.clone());
    if hide_archived {
        select.and_where(Expr::col((run::Entity, run::Column::Archived)).eq(false));
    }
    if let Some(extra) = extra {
        select.cond_where(extra);
    }
    let only = joins.only(&search.filter.query);
    let anchor = Expr::col((run::Entity, run::Column::Uuid));
    search.fields.apply_joins_on(&mut select, anchor, only.as_deref(), None);
    select
}

/// The summaries of metric `alias` in the project, the other metrics joined, matching the filter.
fn from_summaries(search: &Search<'_>, joins: Joins, alias: &str) -> SelectStatement {
    let name = search.fields.alias_name(alias).unwrap_or_default();
    let mut select = sea_query::Query::select();
    select
        .from_as(summary::Entity, Alias::new(alias))
        .and_where(col(alias, summary::Column::ProjectId).eq(search.project_id))
        .and_where(col(alias, summary::Column::Name).eq(name))
        .cond_where(search.filter.condition.clone());
    let only = joins.only(&search.filter.query);
    search.fields.apply_joins_on(
        &mut select,
        col(alias, summary::Column::RunUuid),
        only.as_deref(),
        Some(alias),
    );
    select
}

async fn count(conn: &impl ConnectionTrait, mut select: SelectStatement) -> Result<u64, Error> {
    select.expr(Func::count(Expr::col((run::Entity, run::Column::Uuid))));
    count_of(conn, select).await
}

async fn count_of(conn: &impl ConnectionTrait, select: SelectStatement) -> Result<u64, Error> {
    let row = conn.query_one(&select).await?;
    let n: i64 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or_default();
    Ok(u64::try_from(n).unwrap_or_default())
}

/// Matches among the summaries of metric `alias`, minus those of archived runs (one statement).
async fn count_from_summaries(conn: &impl ConnectionTrait, search: &Search<'_>, alias: &str) -> Result<u64, Error> {
    let mut all = from_summaries(search, Joins::Filter, alias);
    all.expr(Func::count(col(alias, summary::Column::RunUuid)));
    let mut archived = general(search, Joins::Filter, false, None);
    archived
        .and_where(Expr::col((run::Entity, run::Column::Archived)).eq(true))
        .expr(Func::count(Expr::col((run::Entity, run::Column::Uuid))));
    let both = sea_query::Query::select()
        .expr(Expr::SubQuery(None, Box::new(all.into())).sub(Expr::SubQuery(None, Box::new(archived.into()))))
        .to_owned();
    count_of(conn, both).await
}

/// The page when every sort key is a metric, the first one `alias`: rows straight from the index order.
async fn page_by_metric(
    conn: &impl ConnectionTrait,
    search: &Search<'_>,
    alias: &str,
) -> Result<Vec<run::Model>, Error> {
    let (offset, limit) = (search.page.offset, search.page.limit);
    let first = search.sort.first().map_or(Order::Asc, |key| key.order.clone());
    let having = |joins: Joins| {
        let mut select = from_summaries(search, joins, alias);
        select
            .inner_join(
                run::Entity,
                Expr::col((run::Entity, run::Column::Uuid)).eq(col(alias, summary::Column::RunUuid)),
            )
            .and_where(Expr::col((run::Entity, run::Column::Archived)).eq(false));
        select
    };
    let mut select = having(Joins::All);
    select.columns(run::Column::iter().map(|c| (run::Entity, c)));
    for (i, key) in search.sort.iter().enumerate() {
        if i == 0 {
            // Never null (an inner row): no NULLS clause, so the index order is the sort order.
            select.order_by_expr(key.expr.clone(), key.order.clone());
        } else {
            key.apply(&mut select);
        }
    }
    select
        .order_by((Alias::new(alias), summary::Column::RunUuid), first)
        .offset(offset)
        .limit(limit);
    let mut page = conn
        .query_all(&select)
        .await?
        .iter()
        .map(|row| run::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let got = page.len() as u64;
    if got == limit {
        return Ok(page);
    }
    // Past the runs having the metric: those lacking it, after them.
    let with_metric = if got > 0 {
        offset + got
    } else {
        let mut n = having(Joins::Filter);
        n.expr(Func::count(col(alias, summary::Column::RunUuid)));
        count_of(conn, n).await?
    };
    let lacking = Expr::col((Alias::new(alias), summary::Column::RunUuid)).is_null();
    let mut rest = general(search, Joins::All, true, Some(Condition::all().add(lacking)));
    rest.column((run::Entity, run::Column::Uuid));
    order(&mut rest, search.sort, Order::Asc);
    let rest = uuids(conn, rest, (offset + got).saturating_sub(with_metric), limit - got).await?;
    page.extend(rows_of(conn, rest).await?);
    Ok(page)
}

/// The sort keys, then the uuid in `tie` order.
fn order(select: &mut SelectStatement, sort: &[SortKey], tie: Order) {
    for key in sort {
        key.apply(select);
    }
    select.order_by((run::Entity, run::Column::Uuid), tie);
}

/// The first column (a run uuid) of `select`'s rows `offset..offset + limit`.
async fn uuids(
    conn: &impl ConnectionTrait,
    mut select: SelectStatement,
    offset: u64,
    limit: u64,
) -> Result<Vec<Uuid>, Error> {
    select.offset(offset).limit(limit);
    let rows = conn.query_all(&select).await?;
    rows.iter().map(|row| Ok(row.try_get_by_index(0)?)).collect()
}
