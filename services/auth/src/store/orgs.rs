//! Organizations and their members. An org always keeps at least one owner: changes that would
//! remove the last one are refused (`auth.last_owner`), checked inside the changing transaction.

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{org, org_member, project_member, team, team_member, user};
use super::{Store, exists_or, now, users};
use crate::domain::names::OrgName;
use crate::domain::rbac::OrgRole;
use crate::error::Error;

/// Creates org `name` with `creator` as its owner.
pub async fn create(store: &Store, name: &OrgName, creator: &user::Model) -> Result<org::Model, Error> {
    let txn = store.begin().await?;
    let at = now();
    let row = org::ActiveModel {
        name: Set(name.to_string()),
        created_by: Set(creator.username.clone()),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    let org = row.insert(&txn).await.map_err(|e| exists_or(e, "org", name.as_str()))?;
    insert_member(&txn, org.id, creator.id, OrgRole::Owner).await?;
    txn.commit().await?;
    Ok(org)
}

/// The org called `name`, if any.
pub async fn by_name(store: &Store, name: &str) -> Result<Option<org::Model>, Error> {
    Ok(org::Entity::find()
        .filter(org::Column::Name.eq(name))
        .one(store.db())
        .await?)
}

/// The org with id `id`, if any.
pub async fn by_id(store: &Store, id: i64) -> Result<Option<org::Model>, Error> {
    Ok(org::Entity::find_by_id(id).one(store.db()).await?)
}

/// Deletes the org and (cascade) everything it holds.
pub async fn delete(store: &Store, org_id: i64) -> Result<(), Error> {
    org::Entity::delete_by_id(org_id).exec(store.db()).await?;
    Ok(())
}

/// The role of user `user_id` in the org, if a member.
pub async fn member_role(store: &Store, org_id: i64, user_id: i64) -> Result<Option<OrgRole>, Error> {
    match member_row(store.db(), org_id, user_id).await? {
        Some(row) => Ok(Some(parse_role(&row.role)?)),
        None => Ok(None),
    }
}

/// The members (with their user rows), by username.
pub async fn members(store: &Store, org_id: i64) -> Result<Vec<(org_member::Model, user::Model)>, Error> {
    let rows = org_member::Entity::find()
        .filter(org_member::Column::OrgId.eq(org_id))
        .order_by_asc(org_member::Column::Id)
        .all(store.db())
        .await?;
    let mut users: HashMap<i64, user::Model> = users::by_ids(store, rows.iter().map(|r| r.user_id).collect())
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut out: Vec<_> = rows
        .into_iter()
        .filter_map(|row| users.remove(&row.user_id).map(|u| (row, u)))
        .collect();
    out.sort_by(|a, b| a.1.username.cmp(&b.1.username));
    Ok(out)
}

/// Adds user `user` with `role` (`auth.member_exists` if already a member).
pub async fn add_member(
    store: &Store,
    org_id: i64,
    user: &user::Model,
    role: OrgRole,
) -> Result<org_member::Model, Error> {
    insert_member(store.db(), org_id, user.id, role)
        .await
        .map_err(|e| match e {
            Error::Exists { name, .. } if name.is_empty() => Error::Exists {
                what: "member",
                name: user.username.clone(),
            },
            other => other,
        })
}

/// Changes the role of a member; refuses to demote the last owner.
pub async fn set_role(store: &Store, org_id: i64, user: &user::Model, role: OrgRole) -> Result<(), Error> {
    let txn = store.begin().await?;
    lock_org(&txn, org_id).await?;
    let current = member_row(&txn, org_id, user.id)
        .await?
        .ok_or_else(|| Error::not_found("member", &user.username))?;
    if parse_role(&current.role)? == OrgRole::Owner && role != OrgRole::Owner && owners(&txn, org_id).await? <= 1 {
        return Err(Error::LastOwner);
    }
    org_member::Entity::update_many()
        .col_expr(org_member::Column::Role, Expr::value(role.as_str()))
        .col_expr(org_member::Column::UpdatedAt, Expr::value(now()))
        .filter(org_member::Column::Id.eq(current.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a member, their memberships of the org's teams and their direct project grants; refuses to remove the last owner.
pub async fn remove_member(store: &Store, org_id: i64, user: &user::Model) -> Result<(), Error> {
    let txn = store.begin().await?;
    lock_org(&txn, org_id).await?;
    let current = member_row(&txn, org_id, user.id)
        .await?
        .ok_or_else(|| Error::not_found("member", &user.username))?;
    if parse_role(&current.role)? == OrgRole::Owner && owners(&txn, org_id).await? <= 1 {
        return Err(Error::LastOwner);
    }
    org_member::Entity::delete_by_id(current.id).exec(&txn).await?;
    let team_ids: Vec<i64> = team::Entity::find()
        .filter(team::Column::OrgId.eq(org_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    team_member::Entity::delete_many()
        .filter(team_member::Column::TeamId.is_in(team_ids))
        .filter(team_member::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    project_member::Entity::delete_many()
        .filter(project_member::Column::OrgId.eq(org_id))
        .filter(project_member::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The orgs user `user_id` is a member of, with their role, by name.
pub async fn of_user(store: &Store, user_id: i64) -> Result<Vec<(org::Model, OrgRole)>, Error> {
    let rows = org_member::Entity::find()
        .filter(org_member::Column::UserId.eq(user_id))
        .all(store.db())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(org) = org::Entity::find_by_id(row.org_id).one(store.db()).await? {
            out.push((org, parse_role(&row.role)?));
        }
    }
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(out)
}

/// Parses a stored org role.
pub fn parse_role(text: &str) -> Result<OrgRole, Error> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("unknown org role `{text}`")))
}

async fn insert_member(
    conn: &impl ConnectionTrait,
    org_id: i64,
    user_id: i64,
    role: OrgRole,
) -> Result<org_member::Model, Error> {
    let at = now();
    let row = org_member::ActiveModel {
        org_id: Set(org_id),
        user_id: Set(user_id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    row.insert(conn).await.map_err(|e| exists_or(e, "member", ""))
}

async fn member_row(
    conn: &impl ConnectionTrait,
    org_id: i64,
    user_id: i64,
) -> Result<Option<org_member::Model>, Error> {
    Ok(org_member::Entity::find()
        .filter(org_member::Column::OrgId.eq(org_id))
        .filter(org_member::Column::UserId.eq(user_id))
        .one(conn)
        .await?)
}

/// Serializes the membership changes of one org on PostgreSQL (row lock on the org), so two
/// concurrent demotions cannot both see a second owner. SQLite's `BEGIN IMMEDIATE` already
/// serializes writers.
async fn lock_org(txn: &DatabaseTransaction, org_id: i64) -> Result<(), Error> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        org::Entity::find_by_id(org_id).lock_exclusive().one(txn).await?;
    }
    Ok(())
}

async fn owners(conn: &impl ConnectionTrait, org_id: i64) -> Result<u64, Error> {
    Ok(org_member::Entity::find()
        .filter(org_member::Column::OrgId.eq(org_id))
        .filter(org_member::Column::Role.eq(OrgRole::Owner.as_str()))
        .count(conn)
        .await?)
}
