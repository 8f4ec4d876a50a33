//! `views`: saved, shared run views of a project (Polyaxon's project "searches"): a name and a spec
//! (PQL query, sort, columns...). Unique uuid; deleted with their project.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Views {
    Table,
    Id,
    Uuid,
    ProjectId,
    Name,
    Description,
    Tags,
    Spec,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Views::Table)
                    .col(
                        ColumnDef::new(Views::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Views::Uuid).uuid().not_null().unique_key())
                    .col(ColumnDef::new(Views::ProjectId).big_integer().not_null())
                    .col(ColumnDef::new(Views::Name).string_len(128).not_null())
                    .col(ColumnDef::new(Views::Description).text().null())
                    .col(ColumnDef::new(Views::Tags).json_binary().null())
                    .col(ColumnDef::new(Views::Spec).json_binary().not_null())
                    .col(ColumnDef::new(Views::CreatedBy).string().null())
                    .col(ColumnDef::new(Views::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Views::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_views_project")
                            .from_tbl(Views::Table)
                            .from_col(Views::ProjectId)
                            .to(Alias::new("projects"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_views_project")
                    .table(Views::Table)
                    .col(Views::ProjectId)
                    .col(Views::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Views::Table).to_owned()).await
    }
}
