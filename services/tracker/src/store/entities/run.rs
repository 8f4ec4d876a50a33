//! `runs`: one row per run, with a column per `v1Run` field (JSON columns for the structured ones).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub uuid: Uuid,
    pub project_id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    /// JSON array of strings.
    pub tags: Option<Json>,
    /// The subject that created it.
    pub created_by: Option<String>,
    pub kind: String,
    pub runtime: Option<String>,
    pub status: String,
    /// JSON array of `v1StatusCondition`.
    pub status_conditions: Json,
    pub meta_info: Option<Json>,
    pub inputs: Option<Json>,
    pub outputs: Option<Json>,
    pub settings: Option<Json>,
    #[sea_orm(column_type = "Text", nullable)]
    pub content: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub raw_content: Option<String>,
    pub pipeline: Option<Json>,
    /// `v1Cloning` of the run this one was cloned from.
    pub original: Option<Json>,
    pub cloning_kind: Option<String>,
    pub managed_by: Option<String>,
    pub is_managed: bool,
    pub is_approved: bool,
    pub pending: Option<String>,
    pub archived: bool,
    pub bookmarked: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub readme: Option<String>,
    pub schedule_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub wait_time: Option<f64>,
    pub duration: Option<f64>,
    /// The current execution attempt (1-based); status reports of older attempts are ignored.
    pub attempt: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
