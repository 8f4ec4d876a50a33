//! Projects granted to users directly (`project_members`), unique per org, project and user.
//! Deleting the org or the user deletes the rows.

use sea_orm_migration::prelude::*;

use super::columns::{big, fk, id, string, table, ts, unique};
use super::m0001_initial::{Orgs, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ProjectMembers {
    Table,
    Id,
    OrgId,
    Project,
    UserId,
    Role,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table(ProjectMembers::Table)
                    .col(id(ProjectMembers::Id))
                    .col(big(ProjectMembers::OrgId))
                    .col(string(ProjectMembers::Project))
                    .col(big(ProjectMembers::UserId))
                    .col(string(ProjectMembers::Role))
                    .col(string(ProjectMembers::CreatedBy))
                    .col(ts(ProjectMembers::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_project_members_org",
                        ProjectMembers::Table,
                        ProjectMembers::OrgId,
                        Orgs::Table,
                        Orgs::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_project_members_user",
                        ProjectMembers::Table,
                        ProjectMembers::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .take(),
            )
            .await?;
        unique(
            manager,
            "ux_project_members",
            ProjectMembers::Table,
            &["org_id", "project", "user_id"],
        )
        .await
    }
}
