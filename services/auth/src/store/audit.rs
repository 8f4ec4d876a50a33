//! The audit log: one row per mutating request (allowed or not), readable per org, newest first.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::audit_entry;
use super::{Store, now};
use crate::error::Error;

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The org the request was about, if any.
    pub org: Option<String>,
    /// Who: a username, `sa:<name>`, or `anonymous`.
    pub actor: String,
    /// The action name (`member.add`, `auth.login`...).
    pub action: String,
    /// What it was done to (`acme/teams/ml`).
    pub resource: String,
    /// `ok`, or the error code (`auth.forbidden`...).
    pub result: String,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// Appends `entry`.
pub async fn record(store: &Store, entry: Entry) -> Result<(), Error> {
    let row = audit_entry::ActiveModel {
        org: Set(entry.org),
        actor: Set(entry.actor),
        action: Set(entry.action),
        resource: Set(entry.resource),
        result: Set(entry.result),
        status: Set(i32::from(entry.status)),
        at: Set(now()),
        ..Default::default()
    };
    row.insert(store.db()).await?;
    Ok(())
}

/// The org's entries, newest first: `(total, page)`.
pub async fn list(store: &Store, org: &str, offset: u64, limit: u64) -> Result<(u64, Vec<audit_entry::Model>), Error> {
    let select = audit_entry::Entity::find().filter(audit_entry::Column::Org.eq(org));
    let count = select.clone().count(store.db()).await?;
    let rows = select
        .order_by_desc(audit_entry::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(store.db())
        .await?;
    Ok((count, rows))
}
