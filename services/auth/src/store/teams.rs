//! Teams of an org, their members (with a team role) and the projects granted to them.

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{project_grant, team, team_member, user};
use super::{Store, exists_or, now, users};
use crate::domain::names::TeamName;
use crate::domain::rbac::{TeamMembership, TeamRole};
use crate::error::Error;

/// Creates team `name` in the org; `admin` (the creating user, when a user) becomes its admin.
pub async fn create(
    store: &Store,
    org_id: i64,
    name: &TeamName,
    created_by: &str,
    admin: Option<&user::Model>,
) -> Result<team::Model, Error> {
    let txn = store.begin().await?;
    let at = now();
    let row = team::ActiveModel {
        uuid: Set(uuid::Uuid::now_v7()),
        org_id: Set(org_id),
        name: Set(name.to_string()),
        created_by: Set(created_by.to_owned()),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    let team = row
        .insert(&txn)
        .await
        .map_err(|e| exists_or(e, "team", name.as_str()))?;
    if let Some(user) = admin {
        insert_member(&txn, team.id, user.id, TeamRole::Admin).await?;
    }
    txn.commit().await?;
    Ok(team)
}

/// The team `name` of the org, else `auth.team_not_found`.
pub async fn get(store: &Store, org_id: i64, name: &str) -> Result<team::Model, Error> {
    team::Entity::find()
        .filter(team::Column::OrgId.eq(org_id))
        .filter(team::Column::Name.eq(name))
        .one(store.db())
        .await?
        .ok_or_else(|| Error::not_found("team", name))
}

/// The org's teams, by name.
pub async fn list(store: &Store, org_id: i64) -> Result<Vec<team::Model>, Error> {
    Ok(team::Entity::find()
        .filter(team::Column::OrgId.eq(org_id))
        .order_by_asc(team::Column::Name)
        .all(store.db())
        .await?)
}

/// Renames a team.
pub async fn rename(store: &Store, team: &team::Model, name: &TeamName) -> Result<team::Model, Error> {
    let mut row: team::ActiveModel = team.clone().into();
    row.name = Set(name.to_string());
    row.updated_at = Set(now());
    row.update(store.db())
        .await
        .map_err(|e| exists_or(e, "team", name.as_str()))
}

/// Deletes a team (cascade: its members and grants).
pub async fn delete(store: &Store, team_id: i64) -> Result<(), Error> {
    team::Entity::delete_by_id(team_id).exec(store.db()).await?;
    Ok(())
}

/// The team's members with their user rows, by username.
pub async fn members(store: &Store, team_id: i64) -> Result<Vec<(TeamRole, user::Model)>, Error> {
    let rows = team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .all(store.db())
        .await?;
    let roles: HashMap<i64, String> = rows.into_iter().map(|r| (r.user_id, r.role)).collect();
    let mut out = Vec::with_capacity(roles.len());
    for user in users::by_ids(store, roles.keys().copied().collect()).await? {
        if let Some(role) = roles.get(&user.id) {
            out.push((parse_role(role)?, user));
        }
    }
    out.sort_by(|a, b| a.1.username.cmp(&b.1.username));
    Ok(out)
}

/// Adds `user` to the team with `role`, or changes their role when already in it.
pub async fn set_member(store: &Store, team_id: i64, user: &user::Model, role: TeamRole) -> Result<(), Error> {
    let updated = team_member::Entity::update_many()
        .col_expr(team_member::Column::Role, Expr::value(role.as_str()))
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::UserId.eq(user.id))
        .exec(store.db())
        .await?;
    if updated.rows_affected == 0 {
        insert_member(store.db(), team_id, user.id, role).await?;
    }
    Ok(())
}

/// Removes `user` from the team (`auth.team_member_not_found` if not in it).
pub async fn remove_member(store: &Store, team_id: i64, user: &user::Model) -> Result<(), Error> {
    let deleted = team_member::Entity::delete_many()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::UserId.eq(user.id))
        .exec(store.db())
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::not_found("team_member", &user.username));
    }
    Ok(())
}

/// The org's teams user `user_id` belongs to, with their team role.
pub async fn memberships(store: &Store, org_id: i64, user_id: i64) -> Result<Vec<TeamMembership>, Error> {
    let teams: HashMap<i64, String> = list(store, org_id).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let rows = team_member::Entity::find()
        .filter(team_member::Column::UserId.eq(user_id))
        .filter(team_member::Column::TeamId.is_in(teams.keys().copied()))
        .all(store.db())
        .await?;
    rows.into_iter()
        .filter_map(|row| teams.get(&row.team_id).map(|team| (team.clone(), row.role)))
        .map(|(team, role)| {
            Ok(TeamMembership {
                team,
                role: parse_role(&role)?,
            })
        })
        .collect()
}

/// Grants `project` to the team (idempotent).
pub async fn grant(store: &Store, team_id: i64, project: &str, by: &str) -> Result<(), Error> {
    let row = project_grant::ActiveModel {
        team_id: Set(team_id),
        project: Set(project.to_owned()),
        created_by: Set(by.to_owned()),
        created_at: Set(now()),
        ..Default::default()
    };
    match row.insert(store.db()).await {
        Ok(_) => Ok(()),
        Err(err) if super::is_unique_violation(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Withdraws the grant of `project` to the team (`auth.grant_not_found` if there is none).
pub async fn revoke(store: &Store, team_id: i64, project: &str) -> Result<(), Error> {
    let deleted = project_grant::Entity::delete_many()
        .filter(project_grant::Column::TeamId.eq(team_id))
        .filter(project_grant::Column::Project.eq(project))
        .exec(store.db())
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::not_found("grant", project));
    }
    Ok(())
}

/// The projects granted to the team, by name.
pub async fn projects(store: &Store, team_id: i64) -> Result<Vec<String>, Error> {
    let rows = project_grant::Entity::find()
        .filter(project_grant::Column::TeamId.eq(team_id))
        .order_by_asc(project_grant::Column::Project)
        .all(store.db())
        .await?;
    Ok(rows.into_iter().map(|r| r.project).collect())
}

/// The org's teams `project` is granted to, by name.
pub async fn project_teams(store: &Store, org_id: i64, project: &str) -> Result<Vec<String>, Error> {
    let teams: HashMap<i64, String> = list(store, org_id).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let rows = project_grant::Entity::find()
        .filter(project_grant::Column::Project.eq(project))
        .filter(project_grant::Column::TeamId.is_in(teams.keys().copied()))
        .all(store.db())
        .await?;
    let mut names: Vec<String> = rows
        .into_iter()
        .filter_map(|r| teams.get(&r.team_id).cloned())
        .collect();
    names.sort();
    Ok(names)
}

fn parse_role(text: &str) -> Result<TeamRole, Error> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("unknown team role `{text}`")))
}

async fn insert_member(
    conn: &impl sea_orm::ConnectionTrait,
    team_id: i64,
    user_id: i64,
    role: TeamRole,
) -> Result<(), Error> {
    let row = team_member::ActiveModel {
        team_id: Set(team_id),
        user_id: Set(user_id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now()),
        ..Default::default()
    };
    row.insert(conn).await?;
    Ok(())
}
