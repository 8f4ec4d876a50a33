//! PQL over runs: which query field is which column of `runs` (or which correlated subquery), and
//! the run list's `query`/`sort` parameters compiled with `myelin_pql`.
//!
//! Fields: `uuid` (`id`, `uid`), `name`, `description`, `status`, `kind`, `runtime`, `tags`, `user`
//! (`created_by`), `managed_by`, `pending`, `cloning_kind`, `created_at`, `updated_at`, `started_at`,
//! `finished_at`, `schedule_at`, `duration`, `wait_time`, `archived`, `bookmarked`, `is_managed`,
//! `is_approved`, `project`, `original` and `pipeline` (their run uuid), `inputs.<k>` (`params.`,
//! `in.`), `outputs.<k>` (`out.`), `meta_info.<k>` (`meta.`, `meta_values.`, `meta_flags.`) and
//! `metrics.<name>`: the last value in `run_metric_summaries` (`metrics.<name>.min|max|mean|sum|count`
//! for the others).
//!
//! Metric fields are columns of a `LEFT JOIN run_metric_summaries AS m<i> ON m<i>.run_uuid =
//! runs.uuid AND m<i>.name = ?`, one join per metric name the query or the sort uses ([`RunFields`]
//! records them; [`RunFields::apply_joins`] adds them). The primary key `(run_uuid, name)` keeps one
//! row per run, a run without the metric reads NULL (as `nil`), and the database can start from the
//! `(name, last)` index instead of probing every run.

use std::sync::{Mutex, MutexGuard};

use myelin_contracts::Statuses;
use myelin_pql::{Backend, Field, Kind, PqlError, Query, Schema, SortKey, json};
use sea_orm::sea_query::{self, Condition, Expr, ExprTrait};
use sea_orm::{ConnectionTrait, DatabaseBackend};

use super::entities::{project, run, run_metric_summary as summary};
use crate::error::Error;

/// The sort when the request has none.
pub const DEFAULT_SORT: &str = "-created_at";

/// The longest `query` or `sort` accepted, in bytes.
pub const MAX_LEN: usize = 4096;

/// The PQL dialect of `conn`'s database.
pub fn backend(conn: &impl ConnectionTrait) -> Backend {
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The compiled `query` of a run list.
#[derive(Debug, Clone)]
pub struct Filter {
    pub condition: Condition,
    /// The query mentions `archived`: archived runs are then not hidden by default.
    pub names_archived: bool,
    /// The parsed query (what `run_search` plans with).
    pub query: Query,
}

/// Parses and compiles `text` (absent or blank: every run); 400 `tracker.invalid_query` otherwise.
/// The metrics it names are recorded in `fields`.
pub fn filter(text: Option<&str>, fields: &RunFields, backend: Backend) -> Result<Filter, Error> {
    let text = text.unwrap_or("");
    let invalid = |error: PqlError| Error::InvalidQuery { param: "query", error };
    if text.len() > MAX_LEN {
        return Err(invalid(PqlError::syntax(
            MAX_LEN,
            format!("the query is longer than {MAX_LEN} bytes"),
        )));
    }
    let query = myelin_pql::parse(text).map_err(invalid)?;
    Ok(Filter {
        condition: myelin_pql::compile(&query, fields, backend).map_err(invalid)?,
        names_archived: mentions(&query, "archived"),
        query,
    })
}

/// The ordering keys of `text` ([`DEFAULT_SORT`] when absent or blank); 400 `tracker.invalid_sort`.
/// The metrics it names are recorded in `fields`.
pub fn sort(text: Option<&str>, fields: &RunFields, backend: Backend) -> Result<Vec<SortKey>, Error> {
    let text = text.filter(|s| !s.trim().is_empty()).unwrap_or(DEFAULT_SORT);
    let invalid = |error: PqlError| Error::InvalidQuery { param: "sort", error };
    if text.len() > MAX_LEN {
        return Err(invalid(PqlError::syntax(
            MAX_LEN,
            format!("the sort is longer than {MAX_LEN} bytes"),
        )));
    }
    myelin_pql::parse_sort(text, fields, backend).map_err(invalid)
}

fn mentions(query: &Query, field: &str) -> bool {
    match query {
        Query::All(parts) | Query::Any(parts) => parts.iter().any(|p| mentions(p, field)),
        Query::Not(inner) => mentions(inner, field),
        Query::Term(term) => term.field == field,
    }
}

/// The fields of runs; remembers the metric names used, each with its join alias.
#[derive(Debug, Default)]
pub struct RunFields {
    metrics: Mutex<Vec<String>>,
}

fn col(column: run::Column) -> Expr {
    Expr::col((run::Entity, column))
}

impl RunFields {
    /// The alias of the join of metric `name` (`m0`, `m1`, ...), recorded on first use.
    fn alias(&self, name: &str) -> String {
        let mut metrics = self.names();
        let index = match metrics.iter().position(|m| m == name) {
            Some(index) => index,
            None => {
                metrics.push(name.to_owned());
                metrics.len() - 1
            }
        };
        format!("m{index}")
    }

    /// The metric names recorded (a lock only so that a `&RunFields` may cross an `await`).
    fn names(&self) -> MutexGuard<'_, Vec<String>> {
        self.metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The join alias of metric `name` if the query or the sort used it.
    pub fn alias_of(&self, name: &str) -> Option<String> {
        let metrics = self.names();
        metrics.iter().position(|m| m == name).map(|index| format!("m{index}"))
    }

    /// The metric name of join alias `alias` (`m0` → the first metric used).
    pub fn alias_name(&self, alias: &str) -> Option<String> {
        let index: usize = alias.strip_prefix('m')?.parse().ok()?;
        self.names().get(index).cloned()
    }

    /// `<aggregate>` of metric `name`, a column of its join.
    fn metric(&self, name: &str) -> Option<Field> {
        let (metric, aggregate) = split_metric(name);
        let alias = self.alias(metric);
        let s = |c: summary::Column| Expr::col((sea_query::Alias::new(alias.as_str()), c));
        let value = match aggregate {
            "min" => s(summary::Column::Min),
            "max" => s(summary::Column::Max),
            "sum" => s(summary::Column::Sum),
            "count" => s(summary::Column::Count),
            "mean" => s(summary::Column::Sum).div(s(summary::Column::Count)),
            _ => s(summary::Column::Last),
        };
        Some(Field::new(Kind::Number, value).nullable())
    }

    /// Adds the `LEFT JOIN` of every metric recorded so far to `select` (a select from `runs`).
    pub fn apply_joins(&self, select: &mut sea_query::SelectStatement) {
        self.apply_joins_on(select, Expr::col((run::Entity, run::Column::Uuid)), None, None);
    }

    /// Adds the `LEFT JOIN` matching the run uuid `anchor` of every metric recorded so far, or only of
    /// those in `only`, but the join alias `except`.
    pub fn apply_joins_on(
        &self,
        select: &mut sea_query::SelectStatement,
        anchor: Expr,
        only: Option<&[&str]>,
        except: Option<&str>,
    ) {
        for (index, name) in self.names().iter().enumerate() {
            let alias_name = format!("m{index}");
            if except == Some(alias_name.as_str()) || only.is_some_and(|only| !only.contains(&name.as_str())) {
                continue;
            }
            let alias = sea_query::Alias::new(alias_name);
            let on = Condition::all()
                .add(Expr::col((alias.clone(), summary::Column::RunUuid)).eq(anchor.clone()))
                .add(Expr::col((alias.clone(), summary::Column::Name)).eq(name.clone()));
            select.join_as(sea_query::JoinType::LeftJoin, summary::Entity, alias, on);
        }
    }
}

/// `(metric, aggregate)` of the part after `metrics.`: `loss` → `(loss, last)`, `loss.max` → `(loss, max)`.
pub fn split_metric(name: &str) -> (&str, &str) {
    match name.rsplit_once('.') {
        Some((metric, agg @ ("last" | "min" | "max" | "mean" | "sum" | "count"))) => (metric, agg),
        _ => (name, "last"),
    }
}

/// A key of the JSON object column `column`.
fn json_key(column: run::Column, key: &str) -> Option<Field> {
    Some(Field::new(Kind::Json { key: key.to_owned() }, col(column)).nullable())
}

impl Schema for RunFields {
    fn field(&self, name: &str, backend: Backend) -> Option<Field> {
        use run::Column as C;
        let text = |c| Field::new(Kind::Text, col(c));
        let time = |c| Field::new(Kind::DateTime, col(c));
        let flag = |c| Field::new(Kind::Bool, col(c));
        let run_uuid_in = |c| Field::new(Kind::UuidText, json::string(backend, col(c), "uuid")).nullable();
        if let Some((family, rest)) = name.split_once('.') {
            return match family {
                "inputs" | "params" | "in" => json_key(C::Inputs, rest),
                "outputs" | "out" => json_key(C::Outputs, rest),
                "meta_info" | "meta" | "meta_values" | "meta_flags" => json_key(C::MetaInfo, rest),
                "metrics" => self.metric(rest),
                _ => None,
            };
        }
        Some(match name {
            "uuid" | "id" | "uid" => Field::new(Kind::Uuid, col(C::Uuid)),
            "name" => text(C::Name).nullable(),
            "description" => text(C::Description).nullable(),
            "status" => Field::new(
                Kind::Choice(Statuses::ALL.iter().map(ToString::to_string).collect()),
                col(C::Status),
            ),
            "kind" => text(C::Kind),
            "runtime" => text(C::Runtime).nullable(),
            "user" | "created_by" => text(C::CreatedBy).nullable(),
            "managed_by" => text(C::ManagedBy).nullable(),
            "pending" => text(C::Pending).nullable(),
            "cloning_kind" => text(C::CloningKind).nullable(),
            "tags" => Field::new(Kind::Tags, col(C::Tags)).nullable(),
            "created_at" => time(C::CreatedAt),
            "updated_at" => time(C::UpdatedAt),
            "started_at" => time(C::StartedAt).nullable(),
            "finished_at" => time(C::FinishedAt).nullable(),
            "schedule_at" => time(C::ScheduleAt).nullable(),
            "duration" => Field::new(Kind::Number, col(C::Duration)).nullable(),
            "wait_time" => Field::new(Kind::Number, col(C::WaitTime)).nullable(),
            "archived" => flag(C::Archived),
            "bookmarked" => flag(C::Bookmarked),
            "is_managed" => flag(C::IsManaged),
            "is_approved" => flag(C::IsApproved),
            "original" => run_uuid_in(C::Original),
            "pipeline" => run_uuid_in(C::Pipeline),
            "project" => {
                let name = sea_query::Query::select()
                    .column((project::Entity, project::Column::Name))
                    .from(project::Entity)
                    .and_where(Expr::col((project::Entity, project::Column::Id)).equals((run::Entity, C::ProjectId)))
                    .to_owned();
                Field::new(Kind::Text, Expr::SubQuery(None, Box::new(name.into())))
            }
            _ => return None,
        })
    }

    fn names(&self) -> Vec<String> {
        [
            "uuid",
            "name",
            "description",
            "status",
            "kind",
            "runtime",
            "tags",
            "user",
            "managed_by",
            "pending",
            "cloning_kind",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
            "schedule_at",
            "duration",
            "wait_time",
            "archived",
            "bookmarked",
            "is_managed",
            "is_approved",
            "project",
            "original",
            "pipeline",
            "inputs.*",
            "params.*",
            "outputs.*",
            "meta_info.*",
            "metrics.*",
        ]
        .map(String::from)
        .to_vec()
    }
}
