//! The auth service's own migrator. Its bookkeeping table is `auth_migrations`, so auth can share a
//! database with other services.

mod columns;
mod m0001_initial;
mod m0002_credentials;
mod m0003_project_members;

use sea_orm_migration::prelude::*;

/// Every migration of the auth service, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_credentials::Migration),
            Box::new(m0003_project_members::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        "auth_migrations".into_iden()
    }
}
