//! The tracker's own migrator. Its bookkeeping table is `tracker_migrations`, so the tracker can
//! share a database with other services.

mod m0001_initial;
mod m0002_attempts;
mod m0003_tracking;
mod m0004_chunks_and_search;
mod m0005_batch_keys;
mod m0006_views;

use sea_orm_migration::prelude::*;

/// Every migration of the tracker, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_attempts::Migration),
            Box::new(m0003_tracking::Migration),
            Box::new(m0004_chunks_and_search::Migration),
            Box::new(m0005_batch_keys::Migration),
            Box::new(m0006_views::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        "tracker_migrations".into_iden()
    }
}
