//! `run_metrics`: one row per metric point, in insertion order (`id`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_metrics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_uuid: Uuid,
    pub name: String,
    pub step: Option<i64>,
    pub timestamp: DateTimeUtc,
    pub value: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
