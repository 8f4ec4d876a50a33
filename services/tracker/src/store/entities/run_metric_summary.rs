//! `run_metric_summaries`: per run and metric name, the last value (greatest step) and the running
//! min, max, sum and count, kept on write; and the run's project (a copy: runs never change project),
//! so a project's runs are searched and sorted by a metric from `(project_id, name, last)` alone.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_metric_summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_uuid: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub last: f64,
    pub last_step: Option<i64>,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub project_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
