//! The scheduler's own migrator; its bookkeeping table is `scheduler_migrations`, and its tables
//! are prefixed `scheduler_`, so it can share a database with other services.

mod m0001_initial;

use sea_orm_migration::prelude::*;

/// Every migration of the scheduler, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_initial::Migration)]
    }

    fn migration_table_name() -> DynIden {
        "scheduler_migrations".into_iden()
    }
}
