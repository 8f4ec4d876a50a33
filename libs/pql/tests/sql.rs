#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Compiled queries and sorts run against real SQLite and PostgreSQL databases (fresh per test;
//! `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`), asserting which seeded
//! rows match.

use chrono::{DateTime, Utc};
use myelin_common::db::testing::{fresh_postgres, fresh_sqlite};
use myelin_pql::{Backend, Field, Kind, Schema, compile_at, json, parse, parse_sort};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_query::{
    Expr, ExprTrait, PostgresQueryBuilder, Query, QueryStatementWriter, SelectStatement, SqliteQueryBuilder, Value,
};
use uuid::Uuid;

const STATUSES: &[&str] = &["created", "queued", "running", "succeeded", "failed"];

/// The test table's fields, the way a service would describe its own.
struct Runs;

impl Schema for Runs {
    fn field(&self, name: &str, backend: Backend) -> Option<Field> {
        let col = |c: &'static str| Expr::col(("runs", c));
        Some(match name {
            "uuid" => Field::new(Kind::Uuid, col("uuid")),
            "name" => Field::new(Kind::Text, col("name")).nullable(),
            "status" => Field::new(
                Kind::Choice(STATUSES.iter().map(|s| s.to_string()).collect()),
                col("status"),
            ),
            "loss" => Field::new(Kind::Number, col("loss")).nullable(),
            "created_at" => Field::new(Kind::DateTime, col("created_at")),
            "tags" => Field::new(Kind::Tags, col("tags")).nullable(),
            "archived" => Field::new(Kind::Bool, col("archived")),
            "original" => Field::new(Kind::UuidText, json::string(backend, col("original"), "uuid")).nullable(),
            _ => {
                if let Some(key) = name.strip_prefix("inputs.") {
                    Field::new(Kind::Json { key: key.to_owned() }, col("inputs")).nullable()
                } else {
                    let metric = name.strip_prefix("metrics.")?;
                    let last = Query::select()
                        .column(("m", "last"))
                        .from_as("metrics", "m")
                        .and_where(Expr::col(("m", "run_id")).equals(("runs", "id")))
                        .and_where(Expr::col(("m", "name")).eq(metric.to_owned()))
                        .to_owned();
                    Field::new(Kind::Number, Expr::SubQuery(None, Box::new(last.into()))).nullable()
                }
            }
        })
    }
}

struct Db {
    conn: DatabaseConnection,
    backend: Backend,
    _guard: Box<dyn std::any::Any>,
    uuids: Vec<Uuid>,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// "Now" for the date keywords.
fn now() -> DateTime<Utc> {
    at("2024-03-10T12:00:00Z")
}

async fn db(backend: Backend) -> Db {
    let (conn, guard): (DatabaseConnection, Box<dyn std::any::Any>) = match backend {
        Backend::Sqlite => {
            let (conn, dir) = fresh_sqlite().await;
            (conn, Box::new(dir))
        }
        Backend::Postgres => {
            let (conn, _, guard) = fresh_postgres().await;
            (conn, Box::new(guard))
        }
    };
    let ddl = match backend {
        Backend::Sqlite => [
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, uuid BLOB NOT NULL, name TEXT, status TEXT NOT NULL, \
             loss REAL, created_at TEXT NOT NULL, tags TEXT, inputs TEXT, original TEXT, archived INTEGER NOT NULL)",
            "CREATE TABLE metrics (run_id INTEGER NOT NULL, name TEXT NOT NULL, last REAL NOT NULL)",
        ],
        Backend::Postgres => [
            "CREATE TABLE runs (id BIGINT PRIMARY KEY, uuid UUID NOT NULL, name TEXT, status TEXT NOT NULL, \
             loss DOUBLE PRECISION, created_at TIMESTAMPTZ NOT NULL, tags JSONB, inputs JSONB, original JSONB, \
             archived BOOLEAN NOT NULL)",
            "CREATE TABLE metrics (run_id BIGINT NOT NULL, name TEXT NOT NULL, last DOUBLE PRECISION NOT NULL)",
        ],
    };
    for sql in ddl {
        conn.execute_unprepared(sql).await.unwrap();
    }
    let uuids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let j = |v: serde_json::Value| Value::Json(Some(Box::new(v)));
    let none_json = Value::Json(None);
    let rows: Vec<Vec<Value>> = vec![
        vec![
            1.into(),
            uuids[0].into(),
            "alpha-demo".into(),
            "running".into(),
            0.1.into(),
            at("2024-01-15T10:00:00Z").into(),
            j(serde_json::json!(["a", "b"])),
            j(serde_json::json!({"lr": 0.01, "opt": "adam", "flag": true})),
            none_json.clone(),
            false.into(),
        ],
        vec![
            2.into(),
            uuids[1].into(),
            "beta".into(),
            "queued".into(),
            0.5.into(),
            at("2024-02-01T00:00:00Z").into(),
            j(serde_json::json!(["b"])),
            j(serde_json::json!({"lr": 0.1, "opt": "sgd"})),
            j(serde_json::json!({"uuid": uuids[0].simple().to_string(), "kind": "copy"})),
            false.into(),
        ],
        vec![
            3.into(),
            uuids[2].into(),
            Value::String(None),
            "succeeded".into(),
            Value::Double(None),
            at("2024-03-10T09:30:00Z").into(),
            none_json.clone(),
            none_json.clone(),
            none_json.clone(),
            true.into(),
        ],
        vec![
            4.into(),
            uuids[3].into(),
            "Demo_final".into(),
            "failed".into(),
            0.3.into(),
            at("2024-03-09T23:59:59.500Z").into(),
            j(serde_json::json!([])),
            j(serde_json::json!({"lr": "0.01", "opt": null})),
            none_json.clone(),
            false.into(),
        ],
        vec![
            5.into(),
            uuids[4].into(),
            "'; DROP TABLE runs; --".into(),
            "running".into(),
            0.2.into(),
            at("2024-03-05T12:00:00Z").into(),
            j(serde_json::json!(["x y"])),
            j(serde_json::json!({"lr": 1})),
            none_json,
            false.into(),
        ],
    ];
    let db = Db {
        conn,
        backend,
        _guard: guard,
        uuids,
    };
    for row in rows {
        let insert = Query::insert()
            .into_table("runs")
            .columns([
                "id",
                "uuid",
                "name",
                "status",
                "loss",
                "created_at",
                "tags",
                "inputs",
                "original",
                "archived",
            ])
            .values_panic(row.into_iter().map(Expr::val))
            .to_owned();
        db.run(db.build(&insert)).await;
    }
    for (run, name, last) in [(1, "acc", 0.9), (2, "acc", 0.7), (4, "acc", 0.95), (2, "f1", 0.5)] {
        let insert = Query::insert()
            .into_table("metrics")
            .columns(["run_id", "name", "last"])
            .values_panic([Expr::val(run), Expr::val(name), Expr::val(last)])
            .to_owned();
        db.run(db.build(&insert)).await;
    }
    db
}

impl Db {
    fn build(&self, statement: &impl QueryStatementWriter) -> (String, sea_query::Values) {
        match self.backend {
            Backend::Sqlite => statement.build(SqliteQueryBuilder),
            Backend::Postgres => statement.build(PostgresQueryBuilder),
        }
    }

    fn db_backend(&self) -> DbBackend {
        match self.backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }

    async fn run(&self, (sql, values): (String, sea_query::Values)) {
        self.conn
            .execute_raw(Statement::from_sql_and_values(self.db_backend(), sql, values))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn ids(&self, select: SelectStatement) -> Vec<i64> {
        let (sql, values) = self.build(&select);
        let rows = self
            .conn
            .query_all_raw(Statement::from_sql_and_values(self.db_backend(), sql.clone(), values))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter().map(|r| r.try_get::<i64>("", "id").unwrap()).collect()
    }

    /// The ids of the rows `query` matches, in id order.
    async fn matching(&self, query: &str) -> Vec<i64> {
        let parsed = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        let condition = compile_at(&parsed, &Runs, self.backend, now()).unwrap_or_else(|e| panic!("{query}: {e}"));
        let select = Query::select()
            .column(("runs", "id"))
            .from("runs")
            .cond_where(condition)
            .order_by(("runs", "id"), sea_query::Order::Asc)
            .to_owned();
        self.ids(select).await
    }

    /// The ids of every row in the order of `sort` (then id).
    async fn sorted(&self, sort: &str) -> Vec<i64> {
        let mut select = Query::select().column(("runs", "id")).from("runs").to_owned();
        for key in parse_sort(sort, &Runs, self.backend).unwrap_or_else(|e| panic!("{sort}: {e}")) {
            key.apply(&mut select);
        }
        select.order_by(("runs", "id"), sea_query::Order::Asc);
        self.ids(select).await
    }

    async fn check(&self, cases: &[(&str, &[i64])]) {
        for &(query, expected) in cases {
            assert_eq!(self.matching(query).await, expected, "{:?}: `{query}`", self.backend);
        }
    }
}

async fn values_lists_text_and_nulls(backend: Backend) {
    let db = db(backend).await;
    db.check(&[
        ("", &[1, 2, 3, 4, 5]),
        ("status:running", &[1, 5]),
        ("status:running|queued", &[1, 2, 5]),
        ("status: running | queued", &[1, 2, 5]),
        ("status:~running", &[2, 3, 4]),
        ("name:%demo%", &[1, 4]),
        ("name:demo%", &[4]),
        ("name:DEMO%", &[4]),
        ("name:Dem%", &[4]),
        ("name:%_final", &[4]),
        ("name:%a_d%", &[]),
        ("name:~%demo%", &[2, 3, 5]),
        ("name:nil", &[3]),
        ("name:~nil", &[1, 2, 4, 5]),
        ("name:~beta", &[1, 3, 4, 5]),
        ("name:beta|%final", &[2, 4]),
        ("archived:true", &[3]),
        ("archived:~true", &[1, 2, 4, 5]),
        ("tags:b", &[1, 2]),
        (r#"tags:a|"x y""#, &[1, 5]),
        ("tags:nil", &[3, 4]),
        ("tags:~b", &[3, 4, 5]),
    ])
    .await;
    let (first, second) = (db.uuids[0], db.uuids[1]);
    let by_uuid = [
        format!("uuid:{}", second.simple()),
        format!("uuid:{}", second.hyphenated()),
        format!("uuid:~{first}|{}", db.uuids[2]),
    ];
    assert_eq!(db.matching(&by_uuid[0]).await, [2]);
    assert_eq!(db.matching(&by_uuid[1]).await, [2]);
    assert_eq!(db.matching(&by_uuid[2]).await, [2, 4, 5]);
    assert_eq!(db.matching(&format!("original:{}", first.hyphenated())).await, [2]);
    assert_eq!(db.matching("original:nil").await, [1, 3, 4, 5]);
}

async fn numbers_json_and_metrics(backend: Backend) {
    let db = db(backend).await;
    db.check(&[
        ("loss:<0.3", &[1, 5]),
        ("loss:<=0.3", &[1, 4, 5]),
        ("loss:~<0.3", &[2, 4]),
        ("loss:0.2..0.5", &[2, 4, 5]),
        ("loss:~0.2..0.5", &[1, 3]),
        ("loss:nil", &[3]),
        ("loss:0.5", &[2]),
        ("loss:>0.1, status:running", &[5]),
        ("inputs.lr:0.01", &[1, 4]),
        (r#"inputs.lr:"0.01""#, &[4]),
        ("inputs.lr:>0.05", &[2, 5]),
        ("inputs.lr:~0.01", &[2, 3, 5]),
        ("inputs.opt:adam|sgd", &[1, 2]),
        ("inputs.opt:%DA%", &[1]),
        ("inputs.opt:nil", &[3, 4, 5]),
        ("inputs.flag:true", &[1]),
        ("inputs.flag:~true", &[2, 3, 4, 5]),
        ("metrics.acc:>0.8", &[1, 4]),
        ("metrics.acc:~>0.8", &[2]),
        ("metrics.acc:nil", &[3, 5]),
        ("metrics.f1:0.5, metrics.acc:<0.8", &[2]),
    ])
    .await;
}

async fn dates_and_keywords(backend: Backend) {
    let db = db(backend).await;
    db.check(&[
        ("created_at:2024-01-15", &[1]),
        ("created_at:>=2024-02-01", &[2, 3, 4, 5]),
        ("created_at:>2024-02-01", &[3, 4, 5]),
        ("created_at:<2024-02-01", &[1]),
        ("created_at:<=2024-02-01", &[1, 2]),
        ("created_at:2024-01-01..2024-02-01", &[1, 2]),
        ("created_at:~2024-01-01..2024-02-01", &[3, 4, 5]),
        ("created_at:2024-03-09 23:59", &[4]),
        ("created_at:2024-01-15T10:00:00Z", &[1]),
        ("created_at:2024-01-15 12:00:00+02:00", &[1]),
        ("created_at:>2024-03-09T23:59:59.4Z", &[3, 4]),
        ("created_at:today", &[3]),
        ("created_at:yesterday", &[4]),
        ("created_at:last_week", &[3, 4, 5]),
        ("created_at:<last_week", &[1, 2]),
        ("created_at:last_month..yesterday", &[4, 5]),
        ("created_at:2024-02-01..yesterday", &[2, 4, 5]),
    ])
    .await;
}

async fn boolean_structure(backend: Backend) {
    let db = db(backend).await;
    db.check(&[
        ("status:queued | loss:<0.15", &[1, 2]),
        ("status:queued OR loss:<0.15", &[1, 2]),
        ("(status:running OR status:failed) AND ~(loss:>0.25)", &[1, 5]),
        ("status:running, name:%demo% | status:succeeded", &[1, 3]),
        ("status:running, (name:%demo% | tags:x y)", &[1, 5]),
        ("~(status:running | status:queued)", &[3, 4]),
        ("~(loss:>0.25, tags:b)", &[1, 3, 4, 5]),
    ])
    .await;
}

async fn sorting_puts_nulls_last(backend: Backend) {
    let db = db(backend).await;
    assert_eq!(db.sorted("-loss").await, [2, 4, 5, 1, 3]);
    assert_eq!(db.sorted("loss").await, [1, 5, 4, 2, 3]);
    assert_eq!(db.sorted("-created_at").await, [3, 4, 5, 2, 1]);
    assert_eq!(db.sorted("-metrics.acc").await, [4, 1, 2, 3, 5]);
    assert_eq!(db.sorted("metrics.acc, -created_at").await, [2, 1, 4, 3, 5]);
    // JSON: numbers (numerically) first, then strings, then missing values.
    assert_eq!(db.sorted("inputs.lr").await, [1, 2, 5, 4, 3]);
    assert_eq!(db.sorted("-inputs.lr").await, [5, 2, 1, 4, 3]);
}

async fn injection_is_inert(backend: Backend) {
    let db = db(backend).await;
    assert_eq!(db.matching(r#"name:"'; DROP TABLE runs; --""#).await, [5]);
    assert_eq!(db.matching("name:%DROP TABLE%").await, [5]);
    assert_eq!(
        db.matching(r#"inputs.opt:"x'); DROP TABLE runs; --""#).await,
        Vec::<i64>::new()
    );
    for bad in ["name:'; DROP TABLE runs; --", "name:x'); DROP TABLE runs; --"] {
        assert_eq!(parse(bad).unwrap_err().code, "pql.syntax", "{bad}");
    }
    // A field name is never SQL: unknown names are refused before any SQL is built.
    let parsed = parse("inputs.x:1, metrics.a/b:1").unwrap();
    assert!(compile_at(&parsed, &Runs, backend, now()).is_ok());
    let bad_sort = parse_sort("name; DROP TABLE runs", &Runs, backend).unwrap_err();
    assert_eq!(bad_sort.code, "pql.syntax");
    assert_eq!(db.matching("").await, [1, 2, 3, 4, 5], "the table is intact");
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(myelin_pql::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(myelin_pql::Backend::Postgres).await;
            })*
        }
    };
}

on_both!(
    values_lists_text_and_nulls,
    numbers_json_and_metrics,
    dates_and_keywords,
    boolean_structure,
    sorting_puts_nulls_last,
    injection_is_inert,
);
