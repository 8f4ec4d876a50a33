//! Test helpers (feature `testing`): a fresh, uniquely named PostgreSQL database or SQLite file per test.
//!
//! A database that cannot be reached fails the test loudly; tests never skip.
#![allow(clippy::panic)] // test support: failing loudly is the point

use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{DbSettings, connect, redact_url};

/// The server used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The name of the SQLite file [`fresh_sqlite`] creates inside its directory.
pub const SQLITE_FILE: &str = "test.db";

/// `DATABASE_URL`, or [`DEFAULT_DATABASE_URL`].
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.into())
}

/// Drops its database (`DROP DATABASE ... WITH (FORCE)`) when dropped; best effort.
#[derive(Debug)]
pub struct TestDbGuard {
    admin_url: String,
    name: String,
}

impl TestDbGuard {
    /// The name of the database this guard drops.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDbGuard {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // A thread with its own runtime: drop may run inside (or outside) any runtime.
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                let settings = DbSettings {
                    max_connections: 1,
                    ..DbSettings::default()
                };
                if let Ok(admin) = connect(&admin_url, &settings).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(err) = admin.execute_unprepared(&sql).await {
                        eprintln!("cannot drop test database {name}: {err}");
                    }
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// Creates a uniquely named database on the server at `DATABASE_URL` and connects to it.
/// Returns the connection, the database's URL (for code under test that connects itself) and the guard
/// that drops the database. Panics, naming the server, when PostgreSQL cannot be reached.
pub async fn fresh_postgres() -> (DatabaseConnection, String, TestDbGuard) {
    crate::install_crypto_provider();
    let admin_url = database_url();
    let shown = redact_url(&admin_url);
    let settings = DbSettings {
        max_connections: 1,
        ..DbSettings::default()
    };
    let admin = connect(&admin_url, &settings)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required for this test (DATABASE_URL={shown}): {e}"));
    let name = format!("myelin_test_{}", uuid::Uuid::now_v7().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name} on {shown}: {e}"));
    let _ = admin.close().await;
    let guard = TestDbGuard {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let url = with_database(&admin_url, &name);
    let db = connect(&url, &DbSettings::default())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test database {}: {e}", redact_url(&url)));
    (db, url, guard)
}

/// Opens a new SQLite database file ([`SQLITE_FILE`]) in a temporary directory, deleted with the directory.
pub async fn fresh_sqlite() -> (DatabaseConnection, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
    let url = format!("sqlite://{}", dir.path().join(SQLITE_FILE).display());
    let db = connect(&url, &DbSettings::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    (db, dir)
}

/// `postgres://u@h:5432/postgres?x=y` + `other` → `postgres://u@h:5432/other?x=y`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = base[authority_start..]
        .find('/')
        .map_or(base, |i| &base[..authority_start + i]);
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_swapped_in_the_url() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5432", "t1"), "postgres://h:5432/t1");
    }
}
