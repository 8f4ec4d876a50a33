//! `run_metric_chunks`: the points of a metric series in chunks of up to `domain::chunk::MAX_POINTS`,
//! one row per chunk, in write order (`id`); `data` is `domain::chunk`'s encoding.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_metric_chunks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_uuid: Uuid,
    pub name: String,
    /// Points in `data`.
    pub points: i32,
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
