//! `run_lineage`: the artifacts a run consumed (`is_input`) or produced (`V1RunArtifact`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_lineage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_uuid: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub is_input: bool,
    pub kind: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub path: Option<String>,
    pub state: Option<String>,
    pub summary: Option<Json>,
    pub meta_info: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
