//! Project repository: owners and projects, each change committed with its `project.*` event.

use myelin_contracts::events::{self, ProjectEvent};
use myelin_contracts::{CreateProject, ListQuery, ListResponse, PatchProject, Project, ProjectUuid};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Order,
};

use super::entities::{owner, project};
use super::{Store, convert, is_unique_violation, now, outbox, runs};
use crate::context::RequestContext;
use crate::domain::{listing, names};
use crate::error::Error;

/// Fields projects sort on.
pub const SORTABLE: &[&str] = &["created_at", "updated_at", "name"];
/// Fields project queries filter on.
pub const FILTERABLE: &[&str] = &["name"];

/// The owner `name`, or 404.
pub async fn owner(conn: &impl ConnectionTrait, name: &str) -> Result<owner::Model, Error> {
    owner::Entity::find()
        .filter(owner::Column::Name.eq(name))
        .one(conn)
        .await?
        .ok_or_else(|| Error::OwnerNotFound(name.to_owned()))
}

/// The project `owner/name`, or 404 (`tracker.project_not_found`, also when the owner is unknown).
pub async fn find(conn: &impl ConnectionTrait, owner_name: &str, name: &str) -> Result<project::Model, Error> {
    let not_found = || Error::ProjectNotFound {
        owner: owner_name.to_owned(),
        project: name.to_owned(),
    };
    let owner = match owner(conn, owner_name).await {
        Ok(owner) => owner,
        Err(Error::OwnerNotFound(_)) => return Err(not_found()),
        Err(err) => return Err(err),
    };
    project::Entity::find()
        .filter(project::Column::OwnerId.eq(owner.id))
        .filter(project::Column::Name.eq(name))
        .one(conn)
        .await?
        .ok_or_else(not_found)
}

fn event(owner: &str, row: &project::Model) -> ProjectEvent {
    ProjectEvent {
        owner: owner.to_owned(),
        project: row.name.clone(),
        uuid: ProjectUuid(row.uuid),
    }
}

pub async fn create(
    store: &Store,
    ctx: &RequestContext,
    owner_name: &str,
    body: CreateProject,
) -> Result<Project, Error> {
    names::project(&body.name, "name")?;
    // Owners are the orgs of the auth service: the gateway let this caller create a project in
    // `owner_name`, so the org exists; the tracker learns its owners on their first project.
    super::ensure_owner(store.db(), owner_name).await?;
    let txn = store.begin().await?;
    let owner = owner(&txn, owner_name).await?;
    let exists = || Error::ProjectExists {
        owner: owner_name.to_owned(),
        name: body.name.clone(),
    };
    let taken = project::Entity::find()
        .filter(project::Column::OwnerId.eq(owner.id))
        .filter(project::Column::Name.eq(&body.name))
        .count(&txn)
        .await?;
    if taken > 0 {
        return Err(exists());
    }
    let at = now();
    let row = project::Model {
        id: 0,
        uuid: ProjectUuid::new().as_uuid(),
        owner_id: owner.id,
        name: body.name.clone(),
        description: body.description.clone(),
        tags: body.tags.as_ref().map(convert::encode).transpose()?,
        readme: body.readme.clone(),
        is_public: body.is_public.unwrap_or(false),
        created_by: Some(ctx.subject.clone()),
        created_at: at,
        updated_at: at,
    };
    let mut active = row.clone().into_active_model();
    active.id = sea_orm::ActiveValue::NotSet;
    let inserted = project::Entity::insert(active).exec(&txn).await;
    let id = match inserted {
        Ok(res) => res.last_insert_id,
        Err(err) if is_unique_violation(&err) => return Err(exists()),
        Err(err) => return Err(err.into()),
    };
    let row = project::Model { id, ..row };
    outbox::enqueue(
        &txn,
        events::PROJECT_CREATED,
        &event(owner_name, &row),
        ctx.request_id.clone(),
    )
    .await?;
    store.commit(txn).await.map_err(|err| match err {
        Error::Db(db) if is_unique_violation(&db) => exists(),
        other => other,
    })?;
    convert::project(row, owner_name)
}

pub async fn list(store: &Store, owner_name: &str, query: &ListQuery) -> Result<ListResponse<Project>, Error> {
    let page = listing::page(query, SORTABLE, FILTERABLE, "-created_at")?;
    let owner = owner(store.db(), owner_name).await?;
    let mut select = project::Entity::find().filter(project::Column::OwnerId.eq(owner.id));
    for filter in &page.filters {
        let mut any = Condition::any();
        for value in &filter.values {
            any = any.add(if value.contains('%') {
                project::Column::Name.like(value.as_str())
            } else {
                project::Column::Name.eq(value.as_str())
            });
        }
        select = select.filter(if filter.negate { any.not() } else { any });
    }
    let count = select.clone().count(store.db()).await?;
    for (field, desc) in &page.sort {
        let order = if *desc { Order::Desc } else { Order::Asc };
        let column = match field.as_str() {
            "name" => project::Column::Name,
            "updated_at" => project::Column::UpdatedAt,
            _ => project::Column::CreatedAt,
        };
        select = select.order_by(column, order);
    }
    let rows = select
        .order_by_asc(project::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(store.db())
        .await?;
    let results = rows
        .into_iter()
        .map(|row| convert::project(row, owner_name))
        .collect::<Result<_, _>>()?;
    let (previous, next) = listing::links(&format!("/api/v1/{owner_name}/projects/list"), query, &page, count);
    Ok(ListResponse {
        count,
        results,
        previous,
        next,
    })
}

pub async fn get(store: &Store, owner_name: &str, name: &str) -> Result<Project, Error> {
    convert::project(find(store.db(), owner_name, name).await?, owner_name)
}

pub async fn patch(
    store: &Store,
    ctx: &RequestContext,
    owner_name: &str,
    name: &str,
    body: PatchProject,
) -> Result<Project, Error> {
    let txn = store.begin().await?;
    let row = find(&txn, owner_name, name).await?;
    let mut active = row.clone().into_active_model();
    if let Some(new_name) = body.name.filter(|n| *n != row.name) {
        names::project(&new_name, "name")?;
        let taken = project::Entity::find()
            .filter(project::Column::OwnerId.eq(row.owner_id))
            .filter(project::Column::Name.eq(&new_name))
            .count(&txn)
            .await?;
        if taken > 0 {
            return Err(Error::ProjectExists {
                owner: owner_name.to_owned(),
                name: new_name,
            });
        }
        active.name = Set(new_name);
    }
    if let Some(description) = body.description {
        active.description = Set(Some(description));
    }
    if let Some(tags) = body.tags {
        active.tags = Set(Some(convert::encode(&tags)?));
    }
    if let Some(readme) = body.readme {
        active.readme = Set(Some(readme));
    }
    if let Some(is_public) = body.is_public {
        active.is_public = Set(is_public);
    }
    active.updated_at = Set(now());
    let row = active.update(&txn).await?;
    outbox::enqueue(
        &txn,
        events::PROJECT_UPDATED,
        &event(owner_name, &row),
        ctx.request_id.clone(),
    )
    .await?;
    store.commit(txn).await?;
    convert::project(row, owner_name)
}

/// Deletes the project and all its runs (a `run.deleted` event each, then `project.deleted`), in one
/// transaction.
pub async fn delete(store: &Store, ctx: &RequestContext, owner_name: &str, name: &str) -> Result<(), Error> {
    let txn = store.begin().await?;
    let row = find(&txn, owner_name, name).await?;
    runs::delete_all_of_project(&txn, ctx, owner_name, &row).await?;
    project::Entity::delete_by_id(row.id).exec(&txn).await?;
    outbox::enqueue(
        &txn,
        events::PROJECT_DELETED,
        &event(owner_name, &row),
        ctx.request_id.clone(),
    )
    .await?;
    store.commit(txn).await
}
