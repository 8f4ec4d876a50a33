//! Owners, projects, runs and the outbox. Works on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Owners {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Uuid,
    OwnerId,
    Name,
    Description,
    Tags,
    Readme,
    IsPublic,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Uuid,
    ProjectId,
    Name,
    Description,
    Tags,
    CreatedBy,
    Kind,
    Runtime,
    Status,
    StatusConditions,
    MetaInfo,
    Inputs,
    Outputs,
    Settings,
    Content,
    RawContent,
    Pipeline,
    Original,
    CloningKind,
    ManagedBy,
    IsManaged,
    IsApproved,
    Pending,
    Archived,
    Bookmarked,
    Readme,
    ScheduleAt,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
    WaitTime,
    Duration,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EventId,
    Topic,
    Payload,
    CreatedAt,
    AvailableAt,
    PublishedAt,
    Attempts,
    LastError,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().take()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

fn string_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().take()
}

fn json_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).json_binary().null().take()
}

fn flag(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).boolean().not_null().default(false).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Owners::Table)
                    .col(
                        ColumnDef::new(Owners::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Owners::Name).string().not_null().unique_key())
                    .col(ts(Owners::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(
                        ColumnDef::new(Projects::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Projects::Uuid).uuid().not_null().unique_key())
                    .col(ColumnDef::new(Projects::OwnerId).big_integer().not_null())
                    .col(ColumnDef::new(Projects::Name).string().not_null())
                    .col(text_null(Projects::Description))
                    .col(json_null(Projects::Tags))
                    .col(text_null(Projects::Readme))
                    .col(flag(Projects::IsPublic))
                    .col(string_null(Projects::CreatedBy))
                    .col(ts(Projects::CreatedAt))
                    .col(ts(Projects::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_projects_owner")
                            .from(Projects::Table, Projects::OwnerId)
                            .to(Owners::Table, Owners::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_projects_owner_name")
                    .table(Projects::Table)
                    .col(Projects::OwnerId)
                    .col(Projects::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Runs::Table)
                    .col(ColumnDef::new(Runs::Uuid).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Runs::ProjectId).big_integer().not_null())
                    .col(string_null(Runs::Name))
                    .col(text_null(Runs::Description))
                    .col(json_null(Runs::Tags))
                    .col(string_null(Runs::CreatedBy))
                    .col(ColumnDef::new(Runs::Kind).string().not_null())
                    .col(string_null(Runs::Runtime))
                    .col(ColumnDef::new(Runs::Status).string().not_null())
                    .col(ColumnDef::new(Runs::StatusConditions).json_binary().not_null())
                    .col(json_null(Runs::MetaInfo))
                    .col(json_null(Runs::Inputs))
                    .col(json_null(Runs::Outputs))
                    .col(json_null(Runs::Settings))
                    .col(text_null(Runs::Content))
                    .col(text_null(Runs::RawContent))
                    .col(json_null(Runs::Pipeline))
                    .col(json_null(Runs::Original))
                    .col(string_null(Runs::CloningKind))
                    .col(string_null(Runs::ManagedBy))
                    .col(flag(Runs::IsManaged))
                    .col(flag(Runs::IsApproved))
                    .col(string_null(Runs::Pending))
                    .col(flag(Runs::Archived))
                    .col(flag(Runs::Bookmarked))
                    .col(text_null(Runs::Readme))
                    .col(ts_null(Runs::ScheduleAt))
                    .col(ts(Runs::CreatedAt))
                    .col(ts(Runs::UpdatedAt))
                    .col(ts_null(Runs::StartedAt))
                    .col(ts_null(Runs::FinishedAt))
                    .col(ColumnDef::new(Runs::WaitTime).double().null())
                    .col(ColumnDef::new(Runs::Duration).double().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_runs_project")
                            .from(Runs::Table, Runs::ProjectId)
                            .to(Projects::Table, Projects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_runs_project_created")
                    .table(Runs::Table)
                    .col(Runs::ProjectId)
                    .col(Runs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_runs_status")
                    .table(Runs::Table)
                    .col(Runs::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(
                        ColumnDef::new(Outbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Outbox::EventId).uuid().not_null().unique_key())
                    .col(ColumnDef::new(Outbox::Topic).string().not_null())
                    .col(ColumnDef::new(Outbox::Payload).json_binary().not_null())
                    .col(ts(Outbox::CreatedAt))
                    .col(ts(Outbox::AvailableAt))
                    .col(ts_null(Outbox::PublishedAt))
                    .col(ColumnDef::new(Outbox::Attempts).integer().not_null().default(0))
                    .col(text_null(Outbox::LastError))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_pending")
                    .table(Outbox::Table)
                    .col(Outbox::PublishedAt)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["outbox", "runs", "projects", "owners"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
