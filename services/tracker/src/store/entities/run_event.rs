//! `run_events`: one row per point of a non-metric event kind; `data` is traceml's JSON.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_uuid: Uuid,
    pub kind: String,
    pub name: String,
    pub step: Option<i64>,
    pub timestamp: DateTimeUtc,
    pub data: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
