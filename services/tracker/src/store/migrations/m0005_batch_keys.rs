//! `run_event_batches`: the `Idempotency-Key` of every events batch stored with one, per run, so a
//! batch a client sends again (a retry after a timeout) is stored once. Deleted with its run.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RunEventBatches {
    Table,
    RunUuid,
    Key,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RunEventBatches::Table)
                    .col(ColumnDef::new(RunEventBatches::RunUuid).uuid().not_null())
                    .col(ColumnDef::new(RunEventBatches::Key).string_len(128).not_null())
                    .col(
                        ColumnDef::new(RunEventBatches::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(RunEventBatches::RunUuid).col(RunEventBatches::Key))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_run_event_batches_run")
                            .from_tbl(RunEventBatches::Table)
                            .from_col(RunEventBatches::RunUuid)
                            .to(Alias::new("runs"), Alias::new("uuid"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RunEventBatches::Table).to_owned())
            .await
    }
}
