//! Projects granted to users directly (`project_members`): a user gets `member` or `admin` rights
//! on one project of an org, without a team. Projects themselves live in the tracker; here they are
//! names.

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{project_grant, project_member, team, user};
use super::{Store, now, users};
use crate::domain::rbac::{ProjectMembership, TeamRole};
use crate::error::Error;

/// Gives `user` `role` on `project`, or changes it.
pub async fn set_member(
    store: &Store,
    org_id: i64,
    project: &str,
    user: &user::Model,
    role: TeamRole,
    by: &str,
) -> Result<(), Error> {
    let updated = project_member::Entity::update_many()
        .col_expr(project_member::Column::Role, Expr::value(role.as_str()))
        .filter(project_member::Column::OrgId.eq(org_id))
        .filter(project_member::Column::Project.eq(project))
        .filter(project_member::Column::UserId.eq(user.id))
        .exec(store.db())
        .await?;
    if updated.rows_affected == 0 {
        let row = project_member::ActiveModel {
            org_id: Set(org_id),
            project: Set(project.to_owned()),
            user_id: Set(user.id),
            role: Set(role.as_str().to_owned()),
            created_by: Set(by.to_owned()),
            created_at: Set(now()),
            ..Default::default()
        };
        row.insert(store.db()).await?;
    }
    Ok(())
}

/// Takes `user`'s role on `project` away (`auth.project_member_not_found` if they had none).
pub async fn remove_member(store: &Store, org_id: i64, project: &str, user: &user::Model) -> Result<(), Error> {
    let deleted = project_member::Entity::delete_many()
        .filter(project_member::Column::OrgId.eq(org_id))
        .filter(project_member::Column::Project.eq(project))
        .filter(project_member::Column::UserId.eq(user.id))
        .exec(store.db())
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::not_found("project_member", &user.username));
    }
    Ok(())
}

/// The users granted `project` directly, with their role, by username.
pub async fn members(store: &Store, org_id: i64, project: &str) -> Result<Vec<(TeamRole, user::Model)>, Error> {
    let rows = project_member::Entity::find()
        .filter(project_member::Column::OrgId.eq(org_id))
        .filter(project_member::Column::Project.eq(project))
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

/// The org's projects granted to user `user_id` directly.
pub async fn memberships(store: &Store, org_id: i64, user_id: i64) -> Result<Vec<ProjectMembership>, Error> {
    let rows = project_member::Entity::find()
        .filter(project_member::Column::OrgId.eq(org_id))
        .filter(project_member::Column::UserId.eq(user_id))
        .all(store.db())
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ProjectMembership {
                role: parse_role(&row.role)?,
                project: row.project,
            })
        })
        .collect()
}

fn parse_role(text: &str) -> Result<TeamRole, Error> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("unknown project role `{text}`")))
}

/// Forgets every grant naming `project` in the org (its direct members and the teams it was granted
/// to), in one transaction: a project deleted and created again starts with no grants.
pub async fn forget(store: &Store, org_id: i64, project: &str) -> Result<(), Error> {
    use sea_orm::TransactionTrait;
    let txn = store.db().begin().await?;
    project_member::Entity::delete_many()
        .filter(project_member::Column::OrgId.eq(org_id))
        .filter(project_member::Column::Project.eq(project))
        .exec(&txn)
        .await?;
    let teams: Vec<i64> = team::Entity::find()
        .filter(team::Column::OrgId.eq(org_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    project_grant::Entity::delete_many()
        .filter(project_grant::Column::Project.eq(project))
        .filter(project_grant::Column::TeamId.is_in(teams))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}
