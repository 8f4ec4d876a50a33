//! Users, orgs, memberships, teams, team members and project grants. Works on SQLite and
//! PostgreSQL. Deleting an org deletes (cascade) its members, teams and grants; deleting a user
//! deletes their memberships.

use sea_orm_migration::prelude::*;

use super::columns::{big, fk, id, string, table, ts, unique, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
pub(super) enum Users {
    Table,
    Id,
    Username,
    Email,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(super) enum Orgs {
    Table,
    Id,
    Name,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrgMembers {
    Table,
    Id,
    OrgId,
    UserId,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Teams {
    Table,
    Id,
    Uuid,
    OrgId,
    Name,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum TeamMembers {
    Table,
    Id,
    TeamId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProjectGrants {
    Table,
    Id,
    TeamId,
    Project,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table(Users::Table)
                    .col(id(Users::Id))
                    .col(string(Users::Username).unique_key())
                    .col(string(Users::Email).unique_key())
                    .col(string(Users::PasswordHash))
                    .col(ts(Users::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                table(Orgs::Table)
                    .col(id(Orgs::Id))
                    .col(string(Orgs::Name).unique_key())
                    .col(string(Orgs::CreatedBy))
                    .col(ts(Orgs::CreatedAt))
                    .col(ts(Orgs::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                table(OrgMembers::Table)
                    .col(id(OrgMembers::Id))
                    .col(big(OrgMembers::OrgId))
                    .col(big(OrgMembers::UserId))
                    .col(string(OrgMembers::Role))
                    .col(ts(OrgMembers::CreatedAt))
                    .col(ts(OrgMembers::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_org_members_org",
                        OrgMembers::Table,
                        OrgMembers::OrgId,
                        Orgs::Table,
                        Orgs::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_org_members_user",
                        OrgMembers::Table,
                        OrgMembers::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .take(),
            )
            .await?;
        unique(manager, "ux_org_members", OrgMembers::Table, &["org_id", "user_id"]).await?;
        manager
            .create_table(
                table(Teams::Table)
                    .col(id(Teams::Id))
                    .col(uuid(Teams::Uuid))
                    .col(big(Teams::OrgId))
                    .col(string(Teams::Name))
                    .col(string(Teams::CreatedBy))
                    .col(ts(Teams::CreatedAt))
                    .col(ts(Teams::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_teams_org",
                        Teams::Table,
                        Teams::OrgId,
                        Orgs::Table,
                        Orgs::Id,
                    ))
                    .take(),
            )
            .await?;
        unique(manager, "ux_teams_org_name", Teams::Table, &["org_id", "name"]).await?;
        manager
            .create_table(
                table(TeamMembers::Table)
                    .col(id(TeamMembers::Id))
                    .col(big(TeamMembers::TeamId))
                    .col(big(TeamMembers::UserId))
                    .col(string(TeamMembers::Role))
                    .col(ts(TeamMembers::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_team_members_team",
                        TeamMembers::Table,
                        TeamMembers::TeamId,
                        Teams::Table,
                        Teams::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_team_members_user",
                        TeamMembers::Table,
                        TeamMembers::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .take(),
            )
            .await?;
        unique(manager, "ux_team_members", TeamMembers::Table, &["team_id", "user_id"]).await?;
        manager
            .create_table(
                table(ProjectGrants::Table)
                    .col(id(ProjectGrants::Id))
                    .col(big(ProjectGrants::TeamId))
                    .col(string(ProjectGrants::Project))
                    .col(string(ProjectGrants::CreatedBy))
                    .col(ts(ProjectGrants::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_project_grants_team",
                        ProjectGrants::Table,
                        ProjectGrants::TeamId,
                        Teams::Table,
                        Teams::Id,
                    ))
                    .take(),
            )
            .await?;
        unique(
            manager,
            "ux_project_grants",
            ProjectGrants::Table,
            &["team_id", "project"],
        )
        .await?;
        Ok(())
    }
}
