//! `projects`: unique by (owner_id, name).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub uuid: Uuid,
    pub owner_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// JSON array of strings.
    pub tags: Option<Json>,
    pub readme: Option<String>,
    pub is_public: bool,
    /// The subject that created it.
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
