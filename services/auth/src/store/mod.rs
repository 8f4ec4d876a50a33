//! Persistence: sea-orm entities, the auth migrations and repository functions, on SQLite or
//! PostgreSQL. Multi-row changes run in one transaction; nothing is half-written.

pub mod audit;
pub mod entities;
pub mod facts;
pub mod migrations;
pub mod orgs;
pub mod projects;
pub mod service_accounts;
pub mod teams;
pub mod tokens;
pub mod users;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::error::Error;

/// Key of the PostgreSQL advisory lock that serializes migrations of concurrent replicas.
const MIGRATION_LOCK: i64 = 0x6d79_656c_696e_0006;

/// The auth database.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// A store on `db` (run [`migrate`] first).
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The connection pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so it never fails on upgrade).
    pub async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }
}

/// Now, truncated to microseconds (what PostgreSQL stores), so values read back equal values written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Applies the pending auth migrations; concurrent replicas take turns.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    myelin_common::db::migrate_exclusive::<migrations::Migrator>(db, MIGRATION_LOCK).await
}

/// Whether `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Maps a unique violation to [`Error::Exists`], anything else to [`Error::Db`].
pub(crate) fn exists_or(err: DbErr, what: &'static str, name: &str) -> Error {
    if is_unique_violation(&err) {
        Error::Exists {
            what,
            name: name.to_owned(),
        }
    } else {
        Error::Db(err)
    }
}
