//! Service accounts: non-human subjects of one org with a fixed org role, used through their tokens.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::service_account;
use super::{Store, exists_or, now};
use crate::domain::names::ServiceAccountName;
use crate::domain::rbac::OrgRole;
use crate::error::Error;

/// Creates service account `name` in the org with `role`.
pub async fn create(
    store: &Store,
    org_id: i64,
    name: &ServiceAccountName,
    role: OrgRole,
    description: Option<String>,
    created_by: &str,
) -> Result<service_account::Model, Error> {
    let row = service_account::ActiveModel {
        uuid: Set(uuid::Uuid::now_v7()),
        org_id: Set(org_id),
        name: Set(name.to_string()),
        role: Set(role.as_str().to_owned()),
        description: Set(description),
        created_by: Set(created_by.to_owned()),
        created_at: Set(now()),
        ..Default::default()
    };
    row.insert(store.db())
        .await
        .map_err(|e| exists_or(e, "service_account", name.as_str()))
}

/// Service account `name` of the org, else `auth.service_account_not_found`.
pub async fn get(store: &Store, org_id: i64, name: &str) -> Result<service_account::Model, Error> {
    service_account::Entity::find()
        .filter(service_account::Column::OrgId.eq(org_id))
        .filter(service_account::Column::Name.eq(name))
        .one(store.db())
        .await?
        .ok_or_else(|| Error::not_found("service_account", name))
}

/// Service account by id.
pub async fn by_id(store: &Store, id: i64) -> Result<Option<service_account::Model>, Error> {
    Ok(service_account::Entity::find_by_id(id).one(store.db()).await?)
}

/// The org's service accounts, by name.
pub async fn list(store: &Store, org_id: i64) -> Result<Vec<service_account::Model>, Error> {
    Ok(service_account::Entity::find()
        .filter(service_account::Column::OrgId.eq(org_id))
        .order_by_asc(service_account::Column::Name)
        .all(store.db())
        .await?)
}

/// Deletes a service account (cascade: its tokens).
pub async fn delete(store: &Store, id: i64) -> Result<(), Error> {
    service_account::Entity::delete_by_id(id).exec(store.db()).await?;
    Ok(())
}

/// The role a service account acts with.
pub fn role(sa: &service_account::Model) -> Result<OrgRole, Error> {
    super::orgs::parse_role(&sa.role)
}
