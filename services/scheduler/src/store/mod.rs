//! Persistence: the scheduler's entities, migrations and repository functions.
//!
//! Every change is a short transaction ([`Store::begin`] / [`Store::commit`], which also wakes the
//! dispatch loop). Rows change with guarded updates (`WHERE state = ...`), so concurrent handlers
//! and replicas on one database never apply a transition twice.

pub mod claims;
pub mod dedupe;
pub mod entities;
pub mod migrations;
pub mod runs;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::Notify;

use crate::error::Error;

/// Key of the PostgreSQL advisory lock that serializes migrations of concurrent replicas.
const MIGRATION_LOCK: i64 = 0x6d79_656c_696e_0002;

/// The database plus the dispatch loop's wake-up signal.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    wake: Arc<Notify>,
}

impl Store {
    pub fn new(db: DatabaseConnection, wake: Arc<Notify>) -> Self {
        Self { db, wake }
    }

    /// The connection pool (reads and single-statement writes).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether the database is PostgreSQL (row and advisory locks are available).
    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DatabaseBackend::Postgres
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so it never fails on upgrade).
    pub async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }

    /// Commits `txn` and wakes the dispatch loop.
    pub async fn commit(&self, txn: DatabaseTransaction) -> Result<(), Error> {
        txn.commit().await?;
        self.wake();
        Ok(())
    }

    /// Wakes the dispatch loop (a slot was freed or a run was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Now, truncated to microseconds (what PostgreSQL stores), so values read back equal values written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Applies the scheduler's pending migrations; concurrent replicas take turns
/// ([`myelin_common::db::migrate_exclusive`]).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    myelin_common::db::migrate_exclusive::<migrations::Migrator>(db, MIGRATION_LOCK).await
}
