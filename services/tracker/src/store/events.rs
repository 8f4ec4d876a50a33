//! Metric and event points (`run_metric_chunks`, `run_events`): batch ingestion, replacement of a
//! collected series, and reads as columns.
//!
//! Ingestion is built for throughput: one transaction; a batch's points of one metric become one
//! chunk row (`domain::chunk`, up to 10k points each); events go in multi-row `INSERT`s (chunked under
//! SQLite's 32 766 bound parameters); the batch's summaries are computed in memory and merged with one
//! upsert; the run's `meta_info` is written only the first time it gains `has_metrics`/`has_events`.
//! Reads decode a metric's chunks (or stream the rows of an event series) into columns, in step then
//! timestamp then write order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use myelin_contracts::RunUuid;
use myelin_contracts::tracking::{EventKind, EventsIngested, SeriesCollected};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, NullOrdering, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, StreamTrait};
use serde_json::{Map, Value};

use super::entities::{run, run_event, run_metric_chunk, run_metric_summary};
use super::{Store, now, projects, summaries};
use crate::domain::chunk;
use crate::domain::events::{self as domain, Batch};
use crate::domain::series::{ReadOptions, Series, Values};
use crate::error::Error;

/// Bound parameters per statement: under SQLite's limit (32 766) and PostgreSQL's (65 535).
pub const MAX_PARAMS: usize = 32_000;

/// The key `meta_info` gains once a run has metrics.
pub const HAS_METRICS: &str = "has_metrics";
/// The key `meta_info` gains once a run has events of another kind.
pub const HAS_EVENTS: &str = "has_events";

/// What ingestion needs of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunKey {
    pub uuid: RunUuid,
    pub project_id: i64,
    pub name: Option<String>,
    pub meta_info: Option<Value>,
}

/// The run `uuid` of `owner/project` (one query), or 404 (`tracker.project_not_found` when the project
/// is unknown, else `tracker.run_not_found`).
pub async fn find_run(conn: &impl ConnectionTrait, owner: &str, project: &str, uuid: RunUuid) -> Result<RunKey, Error> {
    let (runs, projects_t, owners) = (Alias::new("runs"), Alias::new("projects"), Alias::new("owners"));
    let select = Query::select()
        .column((runs.clone(), Alias::new("project_id")))
        .column((runs.clone(), Alias::new("meta_info")))
        .column((runs.clone(), Alias::new("name")))
        .from(runs.clone())
        .inner_join(
            projects_t.clone(),
            Expr::col((projects_t.clone(), Alias::new("id"))).equals((runs.clone(), Alias::new("project_id"))),
        )
        .inner_join(
            owners.clone(),
            Expr::col((owners.clone(), Alias::new("id"))).equals((projects_t.clone(), Alias::new("owner_id"))),
        )
        .and_where(Expr::col((runs, Alias::new("uuid"))).eq(uuid.as_uuid()))
        .and_where(Expr::col((projects_t, Alias::new("name"))).eq(project))
        .and_where(Expr::col((owners, Alias::new("name"))).eq(owner))
        .to_owned();
    match conn.query_one(&select).await? {
        Some(row) => Ok(RunKey {
            uuid,
            project_id: row.try_get_by_index(0)?,
            meta_info: row.try_get_by_index(1)?,
            name: row.try_get_by_index(2)?,
        }),
        None => {
            projects::find(conn, owner, project).await?;
            Err(Error::RunNotFound(uuid.to_string()))
        }
    }
}

/// A statement that cannot be built (a programming error) as a database error.
pub fn build_error(err: sea_orm::sea_query::error::Error) -> Error {
    Error::Db(DbErr::Custom(format!("cannot build a statement: {err}")))
}

/// Stores a validated batch in one transaction: its idempotency key (if any), `meta_info` flags,
/// points, summaries. A key already stored for the run stores nothing and answers `duplicate`.
///
/// Lock order (PostgreSQL), the same in every writer so none deadlocks: the run row first (only when
/// `meta_info` gains a flag, `FOR NO KEY UPDATE`, which the points' foreign-key checks do not
/// conflict with), then the summary rows in name order.
pub async fn ingest(
    store: &Store,
    owner: &str,
    project: &str,
    uuid: RunUuid,
    batch: &Batch,
    idempotency_key: Option<&str>,
) -> Result<EventsIngested, Error> {
    let txn = store.begin().await?;
    let key = find_run(&txn, owner, project, uuid).await?;
    if let Some(batch_key) = idempotency_key
        && !first_time(&txn, uuid, batch_key).await?
    {
        return Ok(EventsIngested {
            duplicate: true,
            ..EventsIngested::default()
        });
    }
    let mut flags = Vec::new();
    if !batch.metrics.is_empty() {
        flags.push(HAS_METRICS);
    }
    if !batch.events.is_empty() {
        flags.push(HAS_EVENTS);
    }
    mark(&txn, &key, &flags).await?;
    let at = now();
    let metrics: Vec<_> = batch
        .metrics
        .iter()
        .map(|p| (p.name.as_str(), p.step, p.timestamp.unwrap_or(at), p.value))
        .collect();
    insert_metrics(&txn, uuid, &metrics).await?;
    let deltas = domain::summarize(metrics.iter().map(|&(name, step, _, value)| (name, step, value)));
    summaries::merge(&txn, uuid, key.project_id, &deltas).await?;
    let events: Vec<_> = batch
        .events
        .iter()
        .map(|e| (e.kind, e.name.as_str(), e.step, e.timestamp.unwrap_or(at), &e.data))
        .collect();
    insert_events(&txn, uuid, &events).await?;
    txn.commit().await?;
    Ok(EventsIngested {
        metrics: metrics.len() as u64,
        events: events.len() as u64,
        duplicate: false,
    })
}

/// Records the batch key `batch_key` of `run`; false when it already was (concurrent senders of the
/// same key wait on the primary key until the first commits).
async fn first_time(conn: &impl ConnectionTrait, run: RunUuid, batch_key: &str) -> Result<bool, Error> {
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new("run_event_batches"))
        .columns([Alias::new("run_uuid"), Alias::new("key"), Alias::new("created_at")])
        .values([run.as_uuid().into(), batch_key.into(), now().into()])
        .map_err(build_error)?
        .on_conflict(
            OnConflict::columns([Alias::new("run_uuid"), Alias::new("key")])
                .do_nothing()
                .to_owned(),
        );
    Ok(conn.execute(&insert).await?.rows_affected() == 1)
}

/// What replacing a collected series did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// The series now holds `points` points; `dropped` metric points had no finite value.
    Stored { points: usize, dropped: usize },
    /// The run (or its project) no longer exists.
    RunGone,
}

/// Replaces the stored series `(run, kind, name)` with the collected points, and recomputes its
/// summary (metrics), in one transaction. Metric points without a finite number are dropped.
pub async fn replace(store: &Store, series: &SeriesCollected) -> Result<Replaced, Error> {
    let txn = store.begin().await?;
    let key = match find_run(&txn, &series.owner, &series.project, series.run).await {
        Ok(key) => key,
        Err(Error::RunNotFound(_) | Error::ProjectNotFound { .. } | Error::OwnerNotFound(_)) => {
            return Ok(Replaced::RunGone);
        }
        Err(err) => return Err(err),
    };
    let is_metric = series.kind == EventKind::Metric;
    let (kept, dropped) = domain::collected_metrics(if is_metric { &series.points } else { &[] });
    let stored = if is_metric { kept.len() } else { series.points.len() };
    if stored > 0 {
        mark(&txn, &key, &[if is_metric { HAS_METRICS } else { HAS_EVENTS }]).await?;
    }
    let at = now();
    let (uuid, name) = (series.run, series.name.as_str());
    if is_metric {
        run_metric_chunk::Entity::delete_many()
            .filter(run_metric_chunk::Column::RunUuid.eq(uuid.as_uuid()))
            .filter(run_metric_chunk::Column::Name.eq(name))
            .exec(&txn)
            .await?;
        let rows: Vec<_> = kept
            .iter()
            .map(|&(step, t, v)| (name, step, t.unwrap_or(at), v))
            .collect();
        insert_metrics(&txn, uuid, &rows).await?;
        let delta = domain::summarize(rows.iter().map(|&(name, step, _, value)| (name, step, value)));
        summaries::replace(&txn, uuid, key.project_id, name, delta.first()).await?;
    } else {
        run_event::Entity::delete_many()
            .filter(run_event::Column::RunUuid.eq(uuid.as_uuid()))
            .filter(run_event::Column::Kind.eq(series.kind.as_str()))
            .filter(run_event::Column::Name.eq(name))
            .exec(&txn)
            .await?;
        let rows: Vec<_> = series
            .points
            .iter()
            .map(|p| {
                (
                    series.kind,
                    name,
                    p.step,
                    p.timestamp.map(domain::micros).unwrap_or(at),
                    &p.value,
                )
            })
            .collect();
        insert_events(&txn, uuid, &rows).await?;
    }
    txn.commit().await?;
    Ok(Replaced::Stored {
        points: stored,
        dropped,
    })
}

type MetricRow<'a> = (&'a str, Option<i64>, DateTime<Utc>, f64);
type EventRow<'a> = (EventKind, &'a str, Option<i64>, DateTime<Utc>, &'a Value);

/// Writes the points as chunks: per metric, in the order given, [`chunk::MAX_POINTS`] a row.
async fn insert_metrics(conn: &impl ConnectionTrait, run: RunUuid, rows: &[MetricRow<'_>]) -> Result<(), Error> {
    use run_metric_chunk::Column as C;
    let mut series: BTreeMap<&str, Vec<chunk::Point>> = BTreeMap::new();
    for &(name, step, timestamp, value) in rows {
        series.entry(name).or_default().push((step, timestamp, value));
    }
    let parts: Vec<(&str, &[chunk::Point])> = series
        .iter()
        .flat_map(|(name, points)| points.chunks(chunk::MAX_POINTS).map(move |part| (*name, part)))
        .collect();
    // 64 chunks (at most a few MB of values) per statement.
    for group in parts.chunks(64) {
        let mut insert = Query::insert();
        insert
            .into_table(run_metric_chunk::Entity)
            .columns([C::RunUuid, C::Name, C::Points, C::Data]);
        for &(name, part) in group {
            insert
                .values([
                    run.as_uuid().into(),
                    name.into(),
                    i32::try_from(part.len()).unwrap_or(i32::MAX).into(),
                    chunk::encode(part).into(),
                ])
                .map_err(build_error)?;
        }
        conn.execute(&insert).await?;
    }
    Ok(())
}

async fn insert_events(conn: &impl ConnectionTrait, run: RunUuid, rows: &[EventRow<'_>]) -> Result<(), Error> {
    use run_event::Column as C;
    let columns = [C::RunUuid, C::Kind, C::Name, C::Step, C::Timestamp, C::Data];
    for chunk in rows.chunks(MAX_PARAMS / columns.len()) {
        let mut insert = Query::insert();
        insert.into_table(run_event::Entity).columns(columns);
        for &(kind, name, step, timestamp, data) in chunk {
            insert
                .values([
                    run.as_uuid().into(),
                    kind.as_str().into(),
                    name.into(),
                    step.into(),
                    timestamp.into(),
                    data.clone().into(),
                ])
                .map_err(build_error)?;
        }
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// Sets `flags` to true in the run's `meta_info` (merged), unless they already are.
async fn mark(conn: &impl ConnectionTrait, key: &RunKey, flags: &[&str]) -> Result<(), Error> {
    let is_set = |meta: &Option<Value>, flag: &str| meta.as_ref().and_then(|m| m.get(flag)) == Some(&Value::Bool(true));
    if flags.iter().all(|f| is_set(&key.meta_info, f)) {
        return Ok(());
    }
    let mut read = run::Entity::find_by_id(key.uuid.as_uuid())
        .select_only()
        .column(run::Column::MetaInfo);
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        read = read.lock(LockType::NoKeyUpdate);
    }
    let current: Option<Option<Value>> = read.into_tuple().one(conn).await?;
    let mut meta = match current.flatten() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for flag in flags {
        meta.insert((*flag).to_owned(), Value::Bool(true));
    }
    run::Entity::update_many()
        .col_expr(run::Column::MetaInfo, Expr::value(Value::Object(meta)))
        .filter(run::Column::Uuid.eq(key.uuid.as_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Most runs one multi-run read may name.
pub const MAX_RUNS: usize = 200;

/// Reads the series of `kind` of `runs` (each of `owner/project`, else 404), in the runs' order then by
/// name; `uuid` is set on each series when `multi`. Series without points are left out.
pub async fn read(
    store: &Store,
    owner: &str,
    project: &str,
    runs: &[RunUuid],
    kind: EventKind,
    options: &ReadOptions,
    multi: bool,
) -> Result<Vec<Series>, Error> {
    let conn = store.db();
    let mut out = Vec::new();
    for &uuid in runs {
        find_run(conn, owner, project, uuid).await?;
        let names = match &options.names {
            Some(names) => names.clone(),
            None => names_of(conn, uuid, kind).await?,
        };
        for name in names {
            let mut series = read_series(conn, uuid, kind, &name).await?;
            if series.is_empty() {
                continue;
            }
            if let Some(n) = options.sample {
                series.sample(n, options.method);
            }
            series.uuid = multi.then_some(uuid);
            out.push(series);
        }
    }
    Ok(out)
}

/// Every name of `kind` the run has, sorted.
async fn names_of(conn: &impl ConnectionTrait, uuid: RunUuid, kind: EventKind) -> Result<Vec<String>, Error> {
    let names = if kind == EventKind::Metric {
        run_metric_summary::Entity::find()
            .select_only()
            .column(run_metric_summary::Column::Name)
            .filter(run_metric_summary::Column::RunUuid.eq(uuid.as_uuid()))
            .order_by_asc(run_metric_summary::Column::Name)
            .into_tuple()
            .all(conn)
            .await?
    } else {
        run_event::Entity::find()
            .select_only()
            .column(run_event::Column::Name)
            .distinct()
            .filter(run_event::Column::RunUuid.eq(uuid.as_uuid()))
            .filter(run_event::Column::Kind.eq(kind.as_str()))
            .into_tuple()
            .all(conn)
            .await?
    };
    let mut names: Vec<String> = names;
    names.sort();
    Ok(names)
}

/// The chunks of a metric series in write order.
async fn read_metric<C: ConnectionTrait>(conn: &C, uuid: RunUuid, name: &str) -> Result<Series, Error> {
    let chunks: Vec<Vec<u8>> = run_metric_chunk::Entity::find()
        .select_only()
        .column(run_metric_chunk::Column::Data)
        .filter(run_metric_chunk::Column::RunUuid.eq(uuid.as_uuid()))
        .filter(run_metric_chunk::Column::Name.eq(name))
        .order_by_asc(run_metric_chunk::Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    let (mut steps, mut timestamps, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for data in &chunks {
        chunk::decode_into(data, &mut steps, &mut timestamps, &mut values)
            .map_err(|e| Error::Corrupt(format!("run_metric_chunks of {uuid}/{name}: {e}")))?;
    }
    chunk::order(&mut steps, &mut timestamps, &mut values);
    Ok(Series {
        name: name.to_owned(),
        kind: EventKind::Metric,
        uuid: None,
        steps,
        timestamps,
        values: Values::Metric(values),
    })
}

/// `SELECT step, timestamp, data ... ORDER BY step NULLS FIRST, timestamp, id` of one event series.
fn series_query(uuid: RunUuid, kind: EventKind, name: &str) -> SelectStatement {
    use run_event::Column as C;
    Query::select()
        .columns([C::Step, C::Timestamp, C::Data])
        .from(run_event::Entity)
        .and_where(Expr::col(C::RunUuid).eq(uuid.as_uuid()))
        .and_where(Expr::col(C::Kind).eq(kind.as_str()))
        .and_where(Expr::col(C::Name).eq(name))
        .order_by_with_nulls(C::Step, Order::Asc, NullOrdering::First)
        .order_by(C::Timestamp, Order::Asc)
        .order_by(C::Id, Order::Asc)
        .to_owned()
}

/// One series: a metric from its chunks, another kind streamed row by row into columns.
async fn read_series<C>(conn: &C, uuid: RunUuid, kind: EventKind, name: &str) -> Result<Series, Error>
where
    C: ConnectionTrait + StreamTrait,
{
    if kind == EventKind::Metric {
        return read_metric(conn, uuid, name).await;
    }
    let mut steps = Vec::new();
    let mut timestamps = Vec::new();
    let mut data = Vec::new();
    let mut rows = std::pin::pin!(conn.stream(&series_query(uuid, kind, name)).await?);
    while let Some(row) = rows.try_next().await? {
        steps.push(row.try_get_by_index::<Option<i64>>(0)?);
        timestamps.push(row.try_get_by_index::<DateTime<Utc>>(1)?);
        data.push(row.try_get_by_index::<Value>(2)?);
    }
    Ok(Series {
        name: name.to_owned(),
        kind,
        uuid: None,
        steps,
        timestamps,
        values: Values::Data(data),
    })
}
