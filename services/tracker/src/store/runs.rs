//! Run repository: create, list, get, patch, delete. Status changes and the other actions are in
//! [`super::run_actions`]. Every change is committed with its `run.*` event.

use myelin_contracts::events::{self, RunEvent};
use myelin_contracts::{CreateRun, ListQuery, ListResponse, PatchRun, Run, RunUuid};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::entities::{project, run};
use super::{Store, convert, now, outbox, projects, run_query, run_search};
use crate::context::RequestContext;
use crate::domain::lifecycle;
use crate::domain::listing;
use crate::domain::runs::{self as domain, NewRun};
use crate::error::Error;

/// The run `uuid` of `project`, or 404. `lock` takes a row lock (PostgreSQL) for a read-modify-write.
pub async fn find(
    conn: &impl ConnectionTrait,
    project: &project::Model,
    uuid: RunUuid,
    lock: bool,
) -> Result<run::Model, Error> {
    let mut query = run::Entity::find_by_id(uuid.as_uuid()).filter(run::Column::ProjectId.eq(project.id));
    if lock && conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(conn)
        .await?
        .ok_or_else(|| Error::RunNotFound(uuid.to_string()))
}

/// The payload of a `run.*` event about `row`.
pub fn event(owner: &str, project: &project::Model, row: &run::Model) -> Result<RunEvent, Error> {
    Ok(RunEvent {
        owner: owner.to_owned(),
        project: project.name.clone(),
        run: RunUuid(row.uuid),
        name: row.name.clone(),
        kind: Some(convert::parse(&row.kind, "runs.kind")?),
        status: convert::parse(&row.status, "runs.status")?,
        previous_status: None,
        is_managed: row.is_managed,
        managed_by: row
            .managed_by
            .as_deref()
            .map(|m| convert::parse(m, "runs.managed_by"))
            .transpose()?,
        attempt: u32::try_from(row.attempt).ok(),
        condition: None,
        content: None,
        change: None,
    })
}

/// Inserts `new` as a `created` run of `project` and writes its `run.created` event, in `conn`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    ctx: &RequestContext,
    owner: &str,
    project: &project::Model,
    new: NewRun,
) -> Result<run::Model, Error> {
    let at = now();
    let timeline = lifecycle::initial(at);
    let row = run::Model {
        uuid: Uuid::new_v4(),
        project_id: project.id,
        name: new.name,
        description: new.description,
        tags: new.tags.as_ref().map(convert::encode).transpose()?,
        created_by: Some(ctx.subject.clone()),
        kind: new.kind.to_string(),
        runtime: new.runtime.map(|r| r.to_string()),
        status: timeline.status.to_string(),
        status_conditions: convert::encode(&timeline.conditions)?,
        meta_info: Some(new.meta_info),
        inputs: new.inputs,
        outputs: new.outputs,
        settings: Some(new.settings),
        content: new.content,
        raw_content: new.raw_content,
        pipeline: None,
        cloning_kind: new.original.as_ref().map(|o| o.kind.to_string()),
        original: new.original.as_ref().map(convert::encode).transpose()?,
        managed_by: Some(new.managed_by.to_string()),
        is_managed: new.is_managed,
        is_approved: new.pending.is_none(),
        pending: new.pending.map(|p| p.to_string()),
        archived: false,
        bookmarked: false,
        readme: new.readme,
        schedule_at: None,
        created_at: at,
        updated_at: at,
        started_at: None,
        finished_at: None,
        wait_time: None,
        duration: None,
        attempt: 1,
    };
    run::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(conn)
        .await?;
    let mut created = event(owner, project, &row)?;
    if row.is_managed {
        // The scheduler compiles from this, without calling back.
        created.content = row.content.clone();
    }
    outbox::enqueue(conn, events::RUN_CREATED, &created, ctx.request_id.clone()).await?;
    Ok(row)
}

pub async fn create(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    body: CreateRun,
) -> Result<Run, Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let new = domain::from_create(body)?;
    let row = insert(&txn, ctx, owner, &project, new).await?;
    store.commit(txn).await?;
    convert::run(row, owner, project_name)
}

pub async fn get(store: &Store, owner: &str, project_name: &str, uuid: RunUuid) -> Result<Run, Error> {
    let project = projects::find(store.db(), owner, project_name).await?;
    convert::run(find(store.db(), &project, uuid, false).await?, owner, project_name)
}

/// A page of the project's runs matching the PQL `query`, in `sort` order (see [`run_query`]).
/// Archived runs are hidden unless the query names `archived`.
pub async fn list(
    store: &Store,
    owner: &str,
    project_name: &str,
    query: &ListQuery,
) -> Result<ListResponse<Run>, Error> {
    let page = listing::paging(query)?;
    let backend = run_query::backend(store.db());
    let fields = run_query::RunFields::default();
    let filter = run_query::filter(query.query.as_deref(), &fields, backend)?;
    let sort = run_query::sort(query.sort.as_deref(), &fields, backend)?;
    let project = projects::find(store.db(), owner, project_name).await?;
    let search = run_search::Search {
        project_id: project.id,
        filter: &filter,
        fields: &fields,
        sort: &sort,
        page: &page,
    };
    let (count, rows) = run_search::run(store.db(), &search).await?;
    let results = rows
        .into_iter()
        .map(|row| convert::run(row, owner, project_name))
        .collect::<Result<_, _>>()?;
    let (previous, next) = listing::links(&format!("/api/v1/{owner}/{project_name}/runs"), query, &page, count);
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}

pub async fn patch(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
    body: PatchRun,
) -> Result<Run, Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let row = find(&txn, &project, uuid, true).await?;
    let mut fields = convert::editable(&row)?;
    domain::patch(&mut fields, body)?;
    let mut active = row.into_active_model();
    active.name = Set(fields.name);
    active.description = Set(fields.description);
    active.tags = Set(fields.tags.as_ref().map(convert::encode).transpose()?);
    active.readme = Set(fields.readme);
    active.inputs = Set(fields.inputs);
    active.outputs = Set(fields.outputs);
    active.meta_info = Set(fields.meta_info);
    active.updated_at = Set(now());
    let row = active.update(&txn).await?;
    let mut payload = event(owner, &project, &row)?;
    payload.change = Some("patch".into());
    outbox::enqueue(&txn, events::RUN_UPDATED, &payload, ctx.request_id.clone()).await?;
    store.commit(txn).await?;
    convert::run(row, owner, project_name)
}

pub async fn delete(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
) -> Result<(), Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let row = find(&txn, &project, uuid, true).await?;
    run::Entity::delete_by_id(row.uuid).exec(&txn).await?;
    outbox::enqueue(
        &txn,
        events::RUN_DELETED,
        &event(owner, &project, &row)?,
        ctx.request_id.clone(),
    )
    .await?;
    store.commit(txn).await
}

/// Deletes every run of `project` with a `run.deleted` event each, in `conn` (the project delete's
/// transaction).
pub async fn delete_all_of_project(
    conn: &impl ConnectionTrait,
    ctx: &RequestContext,
    owner: &str,
    project: &project::Model,
) -> Result<(), Error> {
    let rows = run::Entity::find()
        .filter(run::Column::ProjectId.eq(project.id))
        .all(conn)
        .await?;
    for row in &rows {
        outbox::enqueue(
            conn,
            events::RUN_DELETED,
            &event(owner, project, row)?,
            ctx.request_id.clone(),
        )
        .await?;
    }
    run::Entity::delete_many()
        .filter(run::Column::ProjectId.eq(project.id))
        .exec(conn)
        .await?;
    Ok(())
}
