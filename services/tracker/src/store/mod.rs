//! Persistence: sea-orm entities, the tracker's migrations and repository functions.
//!
//! Every state change runs in one transaction ([`Store::begin`]) together with its outbox rows
//! ([`outbox::enqueue`]); [`Store::commit`] commits and wakes the relay. On any error the transaction
//! is dropped, i.e. rolled back: nothing is half-written.

pub mod convert;
pub mod entities;
pub mod events;
pub mod lineage;
pub mod migrations;
pub mod outbox;
pub mod projects;
pub mod reports;
pub mod run_actions;
pub mod run_query;
pub mod run_search;
pub mod runs;
pub mod summaries;
pub mod views;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, TransactionOptions,
    TransactionTrait,
};
use sea_orm::{SqlErr, SqliteTransactionMode};
use tokio::sync::Notify;

use crate::error::Error;
use entities::owner;

/// Key of the PostgreSQL advisory lock that serializes migrations of concurrent replicas.
const MIGRATION_LOCK: i64 = 0x6d79_656c_696e_0001;

/// The database plus the relay's wake-up signal.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    wake: Arc<Notify>,
}

impl Store {
    pub fn new(db: DatabaseConnection, wake: Arc<Notify>) -> Self {
        Self { db, wake }
    }

    /// The connection pool (reads outside transactions).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether the database is PostgreSQL (row locks are available).
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

    /// Commits `txn` and wakes the outbox relay.
    pub async fn commit(&self, txn: DatabaseTransaction) -> Result<(), Error> {
        txn.commit().await?;
        self.wake.notify_one();
        Ok(())
    }
}

/// Now, truncated to microseconds (what PostgreSQL stores), so values read back equal values written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Applies the tracker's pending migrations; concurrent replicas take turns
/// ([`myelin_common::db::migrate_exclusive`]).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    myelin_common::db::migrate_exclusive::<migrations::Migrator>(db, MIGRATION_LOCK).await
}

/// Creates the owner `name` unless it exists (safe to race with other replicas).
pub async fn ensure_owner(db: &DatabaseConnection, name: &str) -> Result<(), Error> {
    let row = owner::ActiveModel {
        name: Set(name.to_owned()),
        created_at: Set(now()),
        ..Default::default()
    };
    let insert = owner::Entity::insert(row)
        .on_conflict(OnConflict::column(owner::Column::Name).do_nothing().to_owned())
        .exec_without_returning(db)
        .await;
    match insert {
        Ok(_) => Ok(()),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Whether `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
