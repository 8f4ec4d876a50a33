#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The database adapter on SQLite and on PostgreSQL (`DATABASE_URL`): connect, migrate, write, read,
//! foreign keys enforced, migrations idempotent, fresh databases isolated and dropped.

use myelin_common::db::testing::{self, fresh_postgres, fresh_sqlite};
use myelin_common::db::{self, DbSettings};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use sea_orm_migration::prelude::*;

mod m0001_widgets {
    use sea_orm_migration::prelude::*;

    #[derive(DeriveMigrationName)]
    pub struct Migration;

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("widgets")
                        .col(ColumnDef::new("id").integer().not_null().primary_key())
                        .col(ColumnDef::new("name").string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table("parts")
                        .col(ColumnDef::new("id").integer().not_null().primary_key())
                        .col(ColumnDef::new("widget_id").integer().not_null())
                        .foreign_key(ForeignKey::create().from("parts", "widget_id").to("widgets", "id"))
                        .to_owned(),
                )
                .await
        }
    }
}

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_widgets::Migration)]
    }
}

fn stmt(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Statement {
    // Placeholders are written `$1` (PostgreSQL) and rewritten to `?` for SQLite.
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => (1..=values.len())
            .rev()
            .fold(sql.to_owned(), |s, i| s.replace(&format!("${i}"), "?")),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// The same checks on either backend.
async fn exercise(db: &DatabaseConnection) {
    db::migrate::<Migrator>(db).await.unwrap();
    db::migrate::<Migrator>(db)
        .await
        .expect("re-running migrations is a no-op");

    db.execute_raw(stmt(
        db,
        "INSERT INTO widgets (id, name) VALUES ($1, $2)",
        vec![1.into(), "sprocket".into()],
    ))
    .await
    .unwrap();
    let row = db
        .query_one_raw(stmt(db, "SELECT name FROM widgets WHERE id = $1", vec![1.into()]))
        .await
        .unwrap()
        .expect("the inserted row is there");
    assert_eq!(row.try_get::<String>("", "name").unwrap(), "sprocket");

    let orphan = db
        .execute_raw(stmt(
            db,
            "INSERT INTO parts (id, widget_id) VALUES ($1, $2)",
            vec![1.into(), 99.into()],
        ))
        .await;
    assert!(orphan.is_err(), "foreign keys are enforced");
    db.execute_raw(stmt(
        db,
        "INSERT INTO parts (id, widget_id) VALUES ($1, $2)",
        vec![1.into(), 1.into()],
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn sqlite_creates_the_file_and_enforces_the_schema() {
    let (db, dir) = fresh_sqlite().await;
    assert!(dir.path().join(testing::SQLITE_FILE).exists());
    exercise(&db).await;

    let pragma = |name: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}")))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("foreign_keys").await, "1");
    assert_eq!(pragma("busy_timeout").await, "10000");
}

#[tokio::test]
async fn sqlite_creates_missing_parent_directories_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/myelin.db");
    let url = format!("sqlite://{}", path.display());
    let db = db::connect(&url, &DbSettings::default()).await.unwrap();
    db::migrate::<Migrator>(&db).await.unwrap();
    db.execute_raw(stmt(
        &db,
        "INSERT INTO widgets (id, name) VALUES ($1, $2)",
        vec![7.into(), "kept".into()],
    ))
    .await
    .unwrap();
    db.close().await.unwrap();

    let db = db::connect(&url, &DbSettings::default()).await.unwrap();
    let row = db
        .query_one_raw(stmt(&db, "SELECT name FROM widgets WHERE id = $1", vec![7.into()]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "name").unwrap(), "kept");
}

#[tokio::test]
async fn sqlite_in_memory_keeps_its_data_for_the_connection_lifetime() {
    let db = db::connect("sqlite::memory:", &DbSettings::default()).await.unwrap();
    exercise(&db).await;
    let row = db
        .query_one_raw(stmt(&db, "SELECT COUNT(*) AS n FROM widgets", vec![]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
}

#[tokio::test]
async fn postgres_fresh_database_works_and_is_dropped() {
    let (db, url, guard) = fresh_postgres().await;
    assert!(url.ends_with(guard.name()), "{url}");
    exercise(&db).await;

    // The URL reaches the same database.
    let other = db::connect(
        &url,
        &DbSettings {
            max_connections: 2,
            connect_timeout_secs: 5,
        },
    )
    .await
    .unwrap();
    let row = other
        .query_one_raw(stmt(&other, "SELECT name FROM widgets WHERE id = $1", vec![1.into()]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "name").unwrap(), "sprocket");

    let name = guard.name().to_owned();
    drop(guard);
    let admin = db::connect(&testing::database_url(), &DbSettings::default())
        .await
        .unwrap();
    let exists = admin
        .query_one_raw(stmt(
            &admin,
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            vec![name.clone().into()],
        ))
        .await
        .unwrap();
    assert!(exists.is_none(), "database {name} is dropped with its guard");
}

#[tokio::test]
async fn fresh_postgres_databases_are_isolated() {
    let (a, _, _guard_a) = fresh_postgres().await;
    let (b, _, _guard_b) = fresh_postgres().await;
    db::migrate::<Migrator>(&a).await.unwrap();
    let in_b = b
        .query_one_raw(stmt(&b, "SELECT to_regclass('public.widgets')::text AS t", vec![]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        in_b.try_get::<Option<String>>("", "t").unwrap(),
        None,
        "b does not see a's tables"
    );
}

#[tokio::test]
async fn unreachable_postgres_fails_with_the_redacted_url() {
    let settings = DbSettings {
        max_connections: 1,
        connect_timeout_secs: 2,
    };
    let err = db::connect("postgres://me:hunter2@127.0.0.1:1/none", &settings)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, db::Error::Connect { .. }), "{text}");
    assert!(
        text.contains("me:***@127.0.0.1:1") && !text.contains("hunter2"),
        "{text}"
    );
}
