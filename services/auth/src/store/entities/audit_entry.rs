//! `audit_log`: who did what, when, to what, with which result (append only).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The org the request was about (`None`: the actor's own account: tokens, login).
    pub org: Option<String>,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub result: String,
    pub status: i32,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
