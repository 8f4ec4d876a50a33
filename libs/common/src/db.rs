//! Database connections (sea-orm) on SQLite or PostgreSQL, and migrations.
//!
//! - `sqlite://path/to/file.db` (or `sqlite:relative.db`, `sqlite::memory:`): the file and its parent
//!   directory are created when missing; WAL journal, `busy_timeout`, foreign keys on, a 64 MiB page
//!   cache and a memory-mapped file. The pool holds a single connection: SQLite has one writer, and one
//!   connection serializes writes instead of failing read-then-write transactions with `SQLITE_BUSY`.
//! - `postgres://user:pass@host:port/db`: a pool of [`DbSettings::max_connections`].
//!
//! With the `testing` feature, [`testing`] creates a fresh database per test.

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use serde::{Deserialize, Serialize};

/// How long a SQLite statement waits for a lock held by another process before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite's page cache per connection: 64 MiB (negative = KiB), filled only as pages are read.
const SQLITE_CACHE_SIZE: &str = "-65536";
/// Bytes of the database file SQLite reads through a memory map (256 MiB).
const SQLITE_MMAP_SIZE: &str = "268435456";

/// How long a caller waits for SQLite's single pooled connection (every request shares it).
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection-pool settings (the `database` section of a service's settings, next to its URL).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct DbSettings {
    /// PostgreSQL pool size (SQLite always uses one connection).
    pub max_connections: u32,
    /// How long to wait for a connection (to open, or from the pool) before failing. SQLite callers wait up to
    /// 30 s for the shared connection.
    pub connect_timeout_secs: u64,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            connect_timeout_secs: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported database url `{0}`: expected sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error("invalid database url `{url}`: {message}")]
    InvalidUrl { url: String, message: String },
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("cannot connect to the database at `{url}`: {source}")]
    Connect { url: String, source: DbErr },
    #[error("database migration failed: {0}")]
    Migrate(#[source] DbErr),
}

/// Opens a pool on `url` (`sqlite:` or `postgres:`/`postgresql:`), failing if the database is unreachable.
pub async fn connect(url: &str, settings: &DbSettings) -> Result<DatabaseConnection, Error> {
    let mut options = ConnectOptions::new(url.to_owned());
    let timeout = Duration::from_secs(settings.connect_timeout_secs);
    options
        .connect_timeout(timeout)
        .acquire_timeout(timeout)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        configure_sqlite(url, &mut options)?;
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        options.max_connections(settings.max_connections.max(1));
    } else {
        return Err(Error::UnsupportedUrl(redact_url(url)));
    }
    Database::connect(options).await.map_err(|source| Error::Connect {
        url: redact_url(url),
        source,
    })
}

fn configure_sqlite(url: &str, options: &mut ConnectOptions) -> Result<(), Error> {
    let parsed: SqliteConnectOptions = url.parse().map_err(|e: sea_orm::sqlx::Error| Error::InvalidUrl {
        url: url.to_owned(),
        message: e.to_string(),
    })?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory {
        create_parent_dir(parsed.get_filename())?;
    }
    // One connection that never expires: required for in-memory databases, which vanish with their last connection.
    options
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT);
    options.map_sqlx_sqlite_opts(move |opts| {
        // A page cache large enough for the working set of a search (SQLite's default is 2 MiB, which
        // turns every query over a few thousand runs into thousands of `pread`s), temporary b-trees
        // (sorts) in memory, and reads through a memory map.
        let opts = opts
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .pragma("cache_size", SQLITE_CACHE_SIZE)
            .pragma("temp_store", "memory")
            .pragma("mmap_size", SQLITE_MMAP_SIZE);
        if in_memory {
            opts
        } else {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        }
    });
    Ok(())
}

fn create_parent_dir(file: &Path) -> Result<(), Error> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.display().to_string(),
            source,
        }),
        _ => Ok(()),
    }
}

/// Applies every pending migration of `M`.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), Error> {
    M::up(db, None).await.map_err(Error::Migrate)
}

/// Applies `M`'s pending migrations so that concurrent replicas take turns: on PostgreSQL under the
/// advisory transaction lock `lock` (one key per service), each migration committing with the lock
/// held; elsewhere (SQLite, one process) directly.
pub async fn migrate_exclusive<M: MigratorTrait>(db: &DatabaseConnection, lock: i64) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return M::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_string(
        DatabaseBackend::Postgres,
        format!("SELECT pg_advisory_xact_lock({lock})"),
    ))
    .await?;
    M::up(&txn, None).await?;
    txn.commit().await
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &authority[..colon],
                &url[scheme_end + at..]
            )
        }
        _ => url.to_owned(),
    }
}

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:p@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://u:p:q@h/db?x=@"), "postgres://u:***@h/db?x=@");
        assert_eq!(redact_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }

    #[tokio::test]
    async fn unsupported_urls_are_refused() {
        let err = connect("mysql://u:p@h/db", &DbSettings::default()).await.unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedUrl(ref u) if u == "mysql://u:***@h/db"),
            "{err}"
        );
    }
}
