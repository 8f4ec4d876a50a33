//! Saved view repository: a project's views, always looked up through `owner/project` so a view
//! of another project answers 404 `tracker.view_not_found`.

use myelin_contracts::{ListQuery, ListResponse};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Order,
};
use uuid::Uuid;

use super::entities::view;
use super::run_query::{self, RunFields};
use super::{Store, convert, now, projects};
use crate::context::RequestContext;
use crate::domain::listing;
use crate::domain::views::{self, CreateView, PatchView, View, ViewSpec};
use crate::error::Error;

/// Fields views sort on.
pub const SORTABLE: &[&str] = &["created_at", "updated_at", "name"];
/// Fields view queries filter on.
pub const FILTERABLE: &[&str] = &["name"];

fn to_view(row: view::Model) -> Result<View, Error> {
    let spec = serde_json::from_value::<ViewSpec>(row.spec)
        .map_err(|e| Error::Corrupt(format!("views.spec of {}: {e}", row.uuid)))?;
    Ok(View {
        uuid: row.uuid.simple().to_string(),
        name: row.name,
        description: row.description,
        user: row.created_by,
        tags: convert::decode(row.tags.as_ref(), "views.tags")?,
        spec,
        org_level: false,
        live_state: 1,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Checks `spec`: sizes, and its `query`/`sort` compile as run PQL (400 `tracker.invalid_query` /
/// `tracker.invalid_sort`, as the runs list would answer).
fn check(conn: &impl ConnectionTrait, spec: &ViewSpec) -> Result<(), Error> {
    views::check_spec(spec)?;
    let backend = run_query::backend(conn);
    let fields = RunFields::default();
    run_query::filter(spec.query.as_deref(), &fields, backend)?;
    run_query::sort(spec.sort.as_deref(), &fields, backend)?;
    Ok(())
}

/// Parses the `{uuid}` of a view (32 hex digits or dashed); anything else is no view of ours.
fn parse_uuid(text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::ViewNotFound(text.to_owned()))
}

async fn find(conn: &impl ConnectionTrait, owner: &str, project: &str, uuid: &str) -> Result<view::Model, Error> {
    let project = projects::find(conn, owner, project).await?;
    view::Entity::find()
        .filter(view::Column::ProjectId.eq(project.id))
        .filter(view::Column::Uuid.eq(parse_uuid(uuid)?))
        .one(conn)
        .await?
        .ok_or_else(|| Error::ViewNotFound(uuid.to_owned()))
}

/// Saves a new view of `owner/project`, `user` = the caller.
pub async fn create(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project: &str,
    body: CreateView,
) -> Result<View, Error> {
    views::check_name(&body.name)?;
    check(store.db(), &body.spec)?;
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project).await?;
    let at = now();
    let row = view::Model {
        id: 0,
        uuid: Uuid::new_v4(),
        project_id: project.id,
        name: body.name.trim().to_owned(),
        description: body.description,
        tags: body.tags.as_ref().map(convert::encode).transpose()?,
        spec: convert::encode(&body.spec)?,
        created_by: Some(ctx.subject.clone()),
        created_at: at,
        updated_at: at,
    };
    let mut active = row.clone().into_active_model();
    active.id = sea_orm::ActiveValue::NotSet;
    let id = view::Entity::insert(active).exec(&txn).await?.last_insert_id;
    store.commit(txn).await?;
    to_view(view::Model { id, ..row })
}

/// A page of the project's views, newest first unless `sort` says otherwise; `query` on `name`.
pub async fn list(store: &Store, owner: &str, project: &str, query: &ListQuery) -> Result<ListResponse<View>, Error> {
    let page = listing::page(query, SORTABLE, FILTERABLE, "-created_at")?;
    let project_row = projects::find(store.db(), owner, project).await?;
    let mut select = view::Entity::find().filter(view::Column::ProjectId.eq(project_row.id));
    for filter in &page.filters {
        let mut any = sea_orm::Condition::any();
        for value in &filter.values {
            any = any.add(if value.contains('%') {
                view::Column::Name.like(value.as_str())
            } else {
                view::Column::Name.eq(value.as_str())
            });
        }
        select = select.filter(if filter.negate { any.not() } else { any });
    }
    let count = select.clone().count(store.db()).await?;
    for (field, desc) in &page.sort {
        let order = if *desc { Order::Desc } else { Order::Asc };
        let column = match field.as_str() {
            "name" => view::Column::Name,
            "updated_at" => view::Column::UpdatedAt,
            _ => view::Column::CreatedAt,
        };
        select = select.order_by(column, order);
    }
    let rows = select
        .order_by_asc(view::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(store.db())
        .await?;
    let results = rows.into_iter().map(to_view).collect::<Result<_, _>>()?;
    let (previous, next) = listing::links(&format!("/api/v1/{owner}/{project}/searches"), query, &page, count);
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}

/// The view `uuid` of `owner/project`, or 404.
pub async fn get(store: &Store, owner: &str, project: &str, uuid: &str) -> Result<View, Error> {
    to_view(find(store.db(), owner, project, uuid).await?)
}

/// Replaces the fields present in `body`.
pub async fn patch(store: &Store, owner: &str, project: &str, uuid: &str, body: PatchView) -> Result<View, Error> {
    if let Some(name) = &body.name {
        views::check_name(name)?;
    }
    if let Some(spec) = &body.spec {
        check(store.db(), spec)?;
    }
    let txn = store.begin().await?;
    let row = find(&txn, owner, project, uuid).await?;
    let mut active = row.into_active_model();
    if let Some(name) = body.name {
        active.name = Set(name.trim().to_owned());
    }
    if let Some(description) = body.description {
        active.description = Set(Some(description));
    }
    if let Some(tags) = body.tags {
        active.tags = Set(Some(convert::encode(&tags)?));
    }
    if let Some(spec) = body.spec {
        active.spec = Set(convert::encode(&spec)?);
    }
    active.updated_at = Set(now());
    let row = active.update(&txn).await?;
    store.commit(txn).await?;
    to_view(row)
}

/// Deletes the view `uuid` of `owner/project`, or 404.
pub async fn delete(store: &Store, owner: &str, project: &str, uuid: &str) -> Result<(), Error> {
    let txn = store.begin().await?;
    let row = find(&txn, owner, project, uuid).await?;
    view::Entity::delete_by_id(row.id).exec(&txn).await?;
    store.commit(txn).await
}
