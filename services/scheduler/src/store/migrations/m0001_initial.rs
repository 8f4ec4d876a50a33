//! `scheduler_runs` and `scheduler_processed_events`. Works on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SchedulerRuns {
    Table,
    Run,
    Owner,
    Project,
    Name,
    Queue,
    State,
    Attempt,
    MaxRetries,
    TimeoutSecs,
    Compiled,
    Process,
    TaskId,
    StopRequested,
    EnqueuedAt,
    DispatchedAt,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SchedulerProcessedEvents {
    Table,
    EventId,
    ProcessedAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().take()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use SchedulerRuns as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(ColumnDef::new(R::Run).uuid().not_null().primary_key())
                    .col(ColumnDef::new(R::Owner).string().not_null())
                    .col(ColumnDef::new(R::Project).string().not_null())
                    .col(ColumnDef::new(R::Name).string().null())
                    .col(ColumnDef::new(R::Queue).string().not_null())
                    .col(ColumnDef::new(R::State).string().not_null())
                    .col(ColumnDef::new(R::Attempt).integer().not_null().default(1))
                    .col(ColumnDef::new(R::MaxRetries).integer().not_null().default(0))
                    .col(ColumnDef::new(R::TimeoutSecs).big_integer().null())
                    .col(ColumnDef::new(R::Compiled).json_binary().not_null())
                    .col(ColumnDef::new(R::Process).json_binary().not_null())
                    .col(ColumnDef::new(R::TaskId).string().null())
                    .col(ColumnDef::new(R::StopRequested).boolean().not_null().default(false))
                    .col(ts_null(R::EnqueuedAt))
                    .col(ts_null(R::DispatchedAt))
                    .col(ts_null(R::PublishedAt))
                    .col(ts(R::CreatedAt))
                    .col(ts(R::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scheduler_runs_state_enqueued")
                    .table(R::Table)
                    .col(R::State)
                    .col(R::EnqueuedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SchedulerProcessedEvents::Table)
                    .col(
                        ColumnDef::new(SchedulerProcessedEvents::EventId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ts(SchedulerProcessedEvents::ProcessedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["scheduler_processed_events", "scheduler_runs"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
