//! Artifact lineage (`run_lineage`): the artifacts a run consumed (`is_input`) and produced, upserted by
//! `(name, is_input)`; the runs linked to a run through them (upstream: runs whose outputs this run
//! read, by path; downstream: runs that read this run's outputs), and its clones (runs whose
//! `original` is this run). All within one project.

use std::collections::BTreeMap;

use myelin_contracts::tracking::{RunArtifact, RunArtifactName, RunEdge, RunRef};
use myelin_contracts::{ListQuery, ListResponse, Run, RunUuid};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use super::entities::{run, run_lineage as lineage};
use super::events::{RunKey, build_error, find_run};
use super::{Store, convert, now};
use crate::domain::events::check_name;
use crate::domain::listing::{self, Page};
use crate::error::Error;

/// Longest artifact path, in bytes (paths are indexed).
pub const MAX_PATH_BYTES: usize = 2048;

/// Fields artifact lists sort on.
pub const SORTABLE: &[&str] = &["name", "kind", "path", "created_at", "updated_at"];

fn run_path(owner: &str, project: &str, uuid: RunUuid) -> String {
    format!("/api/v1/{owner}/{project}/runs/{uuid}")
}

/// Records `artifacts` on the run (an artifact with the same name and `is_input` is replaced), in one
/// statement. Names follow the event-name rules; paths are at most [`MAX_PATH_BYTES`].
pub async fn upsert(
    store: &Store,
    owner: &str,
    project: &str,
    uuid: RunUuid,
    artifacts: Vec<RunArtifact>,
) -> Result<(), Error> {
    for (index, a) in artifacts.iter().enumerate() {
        check_name(&a.name).map_err(|why| Error::InvalidEventName {
            field: "artifacts",
            index,
            name: a.name.clone(),
            reason: why.to_owned(),
        })?;
        if a.path
            .as_ref()
            .is_some_and(|p| p.len() > MAX_PATH_BYTES || p.contains('\0'))
        {
            return Err(Error::bad_field(
                "tracker.invalid_artifact_path",
                format!("artifacts[{index}].path"),
                "artifact paths hold at most 2048 bytes and no NUL",
            ));
        }
    }
    // The last of duplicates wins (one upsert cannot touch a row twice).
    let unique: BTreeMap<(String, bool), RunArtifact> = artifacts
        .into_iter()
        .map(|a| ((a.name.clone(), a.is_input), a))
        .collect();
    let txn = store.begin().await?;
    find_run(&txn, owner, project, uuid).await?;
    if !unique.is_empty() {
        use lineage::Column as C;
        let at = now();
        let mut insert = Query::insert();
        insert.into_table(lineage::Entity).columns([
            C::RunUuid,
            C::Name,
            C::IsInput,
            C::Kind,
            C::Path,
            C::State,
            C::Summary,
            C::MetaInfo,
            C::CreatedAt,
            C::UpdatedAt,
        ]);
        for a in unique.into_values() {
            insert
                .values([
                    uuid.as_uuid().into(),
                    a.name.into(),
                    a.is_input.into(),
                    a.kind.into(),
                    a.path.into(),
                    a.state.into(),
                    a.summary.into(),
                    a.meta_info.into(),
                    at.into(),
                    at.into(),
                ])
                .map_err(build_error)?;
        }
        insert.on_conflict(
            OnConflict::columns([C::RunUuid, C::Name, C::IsInput])
                .update_columns([C::Kind, C::Path, C::State, C::Summary, C::MetaInfo, C::UpdatedAt])
                .to_owned(),
        );
        txn.execute(&insert).await?;
    }
    txn.commit().await?;
    Ok(())
}

fn page(query: &ListQuery, sortable: &[&str], default_sort: &str) -> Result<Page, Error> {
    listing::page(query, sortable, &[], default_sort)
}

/// The run's artifacts (`V1RunArtifact`, `run` set; `state` and `meta_info` default to the run, as
/// Polyaxon answers), a page at a time, by `created_at` unless `sort` says otherwise.
pub async fn list(
    store: &Store,
    owner: &str,
    project: &str,
    uuid: RunUuid,
    query: &ListQuery,
) -> Result<ListResponse<RunArtifact>, Error> {
    let page = page(query, SORTABLE, "created_at")?;
    let key = find_run(store.db(), owner, project, uuid).await?;
    let mut select = lineage::Entity::find().filter(lineage::Column::RunUuid.eq(uuid.as_uuid()));
    let count = select.clone().count(store.db()).await?;
    for (field, desc) in &page.sort {
        let order = if *desc { Order::Desc } else { Order::Asc };
        select = select.order_by(Expr::col(Alias::new(field.as_str())), order);
    }
    let rows = select
        .order_by_asc(lineage::Column::Name)
        .order_by_asc(lineage::Column::IsInput)
        .offset(page.offset)
        .limit(page.limit)
        .all(store.db())
        .await?;
    let results = rows.into_iter().map(|row| artifact(row, &key)).collect();
    let (previous, next) = listing::links(
        &format!("{}/lineage/artifacts", run_path(owner, project, uuid)),
        query,
        &page,
        count,
    );
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}

fn artifact(row: lineage::Model, key: &RunKey) -> RunArtifact {
    let uuid = key.uuid;
    RunArtifact {
        name: row.name,
        kind: row.kind,
        path: row.path,
        state: row.state.or_else(|| Some(uuid.to_string())),
        summary: row.summary,
        meta_info: row
            .meta_info
            .or_else(|| Some(json!({"run": {"name": key.name, "uuid": uuid}}))),
        run: Some(uuid),
        is_input: row.is_input,
    }
}

/// The distinct names of the run's artifacts, sorted, a page at a time.
pub async fn names(
    store: &Store,
    owner: &str,
    project: &str,
    uuid: RunUuid,
    query: &ListQuery,
) -> Result<ListResponse<RunArtifactName>, Error> {
    let page = page(query, &["name"], "name")?;
    find_run(store.db(), owner, project, uuid).await?;
    let select = lineage::Entity::find()
        .select_only()
        .column(lineage::Column::Name)
        .distinct()
        .filter(lineage::Column::RunUuid.eq(uuid.as_uuid()));
    let mut all: Vec<String> = select.into_tuple().all(store.db()).await?;
    all.sort();
    if page.sort.first().is_some_and(|(_, desc)| *desc) {
        all.reverse();
    }
    let count = all.len() as u64;
    let results = paged(all, &page).map(|name| RunArtifactName { name }).collect();
    let path = format!("{}/lineage/artifacts/names", run_path(owner, project, uuid));
    let (previous, next) = listing::links(&path, query, &page, count);
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}

fn paged<T>(items: Vec<T>, page: &Page) -> impl Iterator<Item = T> {
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    items.into_iter().skip(offset).take(limit)
}

/// Removes the artifact `name` (input and output) from the run; 404 `tracker.artifact_not_found`
/// when it has none.
pub async fn delete(store: &Store, owner: &str, project: &str, uuid: RunUuid, name: &str) -> Result<(), Error> {
    let txn = store.begin().await?;
    find_run(&txn, owner, project, uuid).await?;
    let deleted = lineage::Entity::delete_many()
        .filter(lineage::Column::RunUuid.eq(uuid.as_uuid()))
        .filter(lineage::Column::Name.eq(name))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::ArtifactNotFound(name.to_owned()));
    }
    txn.commit().await?;
    Ok(())
}

/// Which neighbours of a run to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Runs that produced (as outputs) the artifacts this run consumed (as inputs).
    Upstream,
    /// Runs that consumed (as inputs) the artifacts this run produced (as outputs).
    Downstream,
}

/// The edges between the run and its upstream or downstream runs of the same project (linked by an
/// artifact path: an output of the upstream run equal to an input of the downstream run), each with
/// the shared paths in `values.paths`; ordered by the other run's creation, a page at a time.
pub async fn edges(
    store: &Store,
    owner: &str,
    project: &str,
    uuid: RunUuid,
    direction: Direction,
    query: &ListQuery,
) -> Result<ListResponse<RunEdge>, Error> {
    let page = page(query, &["created_at"], "created_at")?;
    let key = find_run(store.db(), owner, project, uuid).await?;
    let mine_input = direction == Direction::Upstream;
    let (a, b, r) = (Alias::new("a"), Alias::new("b"), Alias::new("r"));
    let col = |t: &Alias, c: &str| Expr::col((t.clone(), Alias::new(c)));
    let select = Query::select()
        .expr(col(&b, "run_uuid"))
        .expr(col(&a, "path"))
        .from_as(lineage::Entity, a.clone())
        .join_as(
            JoinType::InnerJoin,
            lineage::Entity,
            b.clone(),
            col(&b, "path")
                .eq(col(&a, "path"))
                .and(col(&b, "is_input").eq(!mine_input)),
        )
        .join_as(
            JoinType::InnerJoin,
            run::Entity,
            r.clone(),
            col(&r, "uuid").eq(col(&b, "run_uuid")),
        )
        .and_where(col(&a, "run_uuid").eq(uuid.as_uuid()))
        .and_where(col(&a, "is_input").eq(mine_input))
        .and_where(col(&b, "run_uuid").ne(uuid.as_uuid()))
        .and_where(col(&r, "project_id").eq(key.project_id))
        .to_owned();
    let mut paths: BTreeMap<uuid::Uuid, Vec<String>> = BTreeMap::new();
    for row in store.db().query_all(&select).await? {
        let other: uuid::Uuid = row.try_get_by_index(0)?;
        let path: String = row.try_get_by_index(1)?;
        paths.entry(other).or_default().push(path);
    }
    let mut others = run::Entity::find()
        .filter(run::Column::Uuid.is_in(paths.keys().copied().collect::<Vec<_>>()))
        .order_by_asc(run::Column::CreatedAt)
        .order_by_asc(run::Column::Uuid)
        .all(store.db())
        .await?;
    if page.sort.first().is_some_and(|(_, desc)| *desc) {
        others.reverse();
    }
    let this = run_ref(
        &run::Entity::find_by_id(uuid.as_uuid())
            .one(store.db())
            .await?
            .ok_or_else(|| Error::RunNotFound(uuid.to_string()))?,
    )?;
    let count = others.len() as u64;
    let mut results = Vec::new();
    for other in paged(others, &page) {
        let mut shared = paths.remove(&other.uuid).unwrap_or_default();
        shared.sort();
        shared.dedup();
        let other = run_ref(&other)?;
        let (upstream, downstream) = match direction {
            Direction::Upstream => (other, this.clone()),
            Direction::Downstream => (this.clone(), other),
        };
        results.push(RunEdge {
            upstream,
            downstream,
            values: Some(json!({ "paths": shared })),
        });
    }
    let which = if mine_input { "upstream" } else { "downstream" };
    let (previous, next) = listing::links(
        &format!("{}/lineage/{which}", run_path(owner, project, uuid)),
        query,
        &page,
        count,
    );
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}

fn run_ref(row: &run::Model) -> Result<RunRef, Error> {
    Ok(RunRef {
        uuid: RunUuid(row.uuid),
        name: row.name.clone(),
        status: convert::parse(&row.status, "runs.status")?,
        kind: convert::parse(&row.kind, "runs.kind")?,
    })
}

/// The runs of the project cloned from this one (`original.uuid` is its uuid), newest first unless
/// `sort` says otherwise, a page at a time.
pub async fn clones(
    store: &Store,
    owner: &str,
    project: &str,
    uuid: RunUuid,
    query: &ListQuery,
) -> Result<ListResponse<Run>, Error> {
    let page = page(query, &["created_at", "name"], "-created_at")?;
    let key = find_run(store.db(), owner, project, uuid).await?;
    let original = match store.db().get_database_backend() {
        DatabaseBackend::Postgres => Expr::cust(r#""runs"."original" ->> 'uuid'"#),
        _ => Expr::cust(r#"json_extract("runs"."original", '$.uuid')"#),
    };
    let mut select = run::Entity::find()
        .filter(run::Column::ProjectId.eq(key.project_id))
        .filter(run::Column::Original.is_not_null())
        .filter(original.eq(uuid.to_string()));
    let count = select.clone().count(store.db()).await?;
    for (field, desc) in &page.sort {
        let column = if field == "name" {
            run::Column::Name
        } else {
            run::Column::CreatedAt
        };
        select = select.order_by(column, if *desc { Order::Desc } else { Order::Asc });
    }
    let rows = select
        .order_by_asc(run::Column::Uuid)
        .offset(page.offset)
        .limit(page.limit)
        .all(store.db())
        .await?;
    let results = rows
        .into_iter()
        .map(|row| convert::run(row, owner, project))
        .collect::<Result<_, _>>()?;
    let path = format!("{}/lineage/clones", run_path(owner, project, uuid));
    let (previous, next) = listing::links(&path, query, &page, count);
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}
