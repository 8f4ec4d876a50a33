#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The run list's PQL `query` and `sort` over the router, on SQLite and on PostgreSQL
//! (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; unreachable = failure):
//! metrics (from `run_metric_summaries`), inputs/outputs, tags, dates, boolean structure, sorting
//! with nulls last, and 400s that point at the faulty part of the query.

mod support;

use http::StatusCode;
use sea_orm::sea_query::{Expr, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use support::{Backend, TestApp, condition};
use uuid::Uuid;

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::support::spawn(super::Backend::Sqlite).await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::support::spawn(super::Backend::Postgres).await).await })*
        }
    };
}

on_both_databases!(
    query_and_sort_runs,
    bad_queries_answer_400_with_a_position,
    injection_is_inert
);

const RUNS: &str = "/api/v1/default/search/runs";

/// Percent-encodes a query-string value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn names(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Names of the runs `query` matches, sorted by `sort` (by name when empty).
async fn search(t: &TestApp, query: &str, sort: &str) -> Vec<String> {
    let sort = if sort.is_empty() { "name" } else { sort };
    let r = t.get(&format!("{RUNS}?query={}&sort={}", enc(query), enc(sort))).await;
    assert_eq!(r.status, StatusCode::OK, "`{query}` / `{sort}`: {}", r.body);
    names(&r.body)
}

/// Writes a metric summary row the way the ingestion path does (another module owns it).
async fn summary(t: &TestApp, run: &str, name: &str, last: f64, min: f64, max: f64) {
    let insert = Query::insert()
        .into_table("run_metric_summaries")
        .columns(["run_uuid", "name", "last", "last_step", "min", "max", "sum", "count"])
        .values_panic([
            Expr::val(Uuid::parse_str(run).unwrap()),
            Expr::val(name),
            Expr::val(last),
            Expr::val(10i64),
            Expr::val(min),
            Expr::val(max),
            Expr::val(last + min + max),
            Expr::val(3i64),
        ])
        .to_owned();
    let backend = t.db.get_database_backend();
    let (sql, values) = match backend {
        DbBackend::Postgres => insert.build(PostgresQueryBuilder),
        _ => insert.build(SqliteQueryBuilder),
    };
    t.db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
}

/// Three runs: `alpha-demo` (running, loss 0.15), `beta` (succeeded, loss 0.3, acc 0.9), `gamma`
/// (created, no metrics, no tags, no inputs). Returns their uuids.
async fn seed(t: &TestApp) -> [String; 3] {
    t.project("search").await;
    let alpha = t
        .run(
            "search",
            json!({"name": "alpha-demo", "is_managed": false, "tags": ["a", "b"],
                   "inputs": {"lr": 0.01, "opt": "adam"}}),
        )
        .await;
    let beta = t
        .run(
            "search",
            json!({"name": "beta", "is_managed": false, "tags": ["b"],
                   "inputs": {"lr": 0.1, "opt": "sgd"}, "outputs": {"score": 0.8}}),
        )
        .await;
    let gamma = t.run("search", json!({"name": "gamma", "is_managed": false})).await;
    let [alpha, beta, gamma] = [alpha, beta, gamma].map(|r| r["uuid"].as_str().unwrap().to_owned());
    for (run, status) in [(&alpha, "running"), (&beta, "running"), (&beta, "succeeded")] {
        let r = t.post(&format!("{RUNS}/{run}/statuses"), condition(status)).await;
        assert!(r.status.is_success(), "{status}: {}", r.body);
    }
    summary(t, &alpha, "loss", 0.15, 0.1, 0.9).await;
    summary(t, &beta, "loss", 0.3, 0.25, 0.4).await;
    summary(t, &beta, "acc", 0.9, 0.5, 0.9).await;
    [alpha, beta, gamma]
}

async fn query_and_sort_runs(t: TestApp) {
    let [_, beta, _] = seed(&t).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["alpha-demo", "beta", "gamma"]),
        ("metrics.loss:<0.2", &["alpha-demo"]),
        ("metrics.loss:<0.2, status:succeeded", &[]),
        ("metrics.loss:<=0.3, status:succeeded", &["beta"]),
        ("metrics.loss:~<0.2", &["beta"]),
        ("metrics.loss.min:<0.2", &["alpha-demo"]),
        ("metrics.loss.max:>0.5", &["alpha-demo"]),
        ("metrics.loss.mean:>0.35", &["alpha-demo"]),
        ("metrics.loss:nil", &["gamma"]),
        ("metrics.acc:>=0.9 | metrics.loss:<0.2", &["alpha-demo", "beta"]),
        ("status:running|succeeded", &["alpha-demo", "beta"]),
        ("status:~running", &["beta", "gamma"]),
        ("tags:b", &["alpha-demo", "beta"]),
        ("tags:a|zzz", &["alpha-demo"]),
        ("tags:nil", &["gamma"]),
        ("inputs.lr:>=0.05", &["beta"]),
        ("params.lr:0.01", &["alpha-demo"]),
        ("inputs.opt:adam|sgd, name:~beta", &["alpha-demo"]),
        ("inputs.opt:nil", &["gamma"]),
        ("outputs.score:>0.5", &["beta"]),
        ("name:%DEMO% | name:gamma", &["alpha-demo", "gamma"]),
        ("(kind:job OR kind:service) AND ~(name:beta)", &["alpha-demo", "gamma"]),
        ("created_at:last_day", &["alpha-demo", "beta", "gamma"]),
        ("user:anonymous", &["alpha-demo", "beta", "gamma"]),
        ("user:~anonymous", &[]),
        (
            "created_at:last_week, created_at:<=now",
            &["alpha-demo", "beta", "gamma"],
        ),
        ("created_at:<2000-01-01", &[]),
        ("created_at:2000-01-01..2100-01-01", &["alpha-demo", "beta", "gamma"]),
        ("started_at:nil", &["gamma"]),
        ("finished_at:~nil", &["beta"]),
        ("duration:>=0", &["beta"]),
        ("project:search, is_managed:false", &["alpha-demo", "beta", "gamma"]),
        ("archived:false", &["alpha-demo", "beta", "gamma"]),
    ];
    for &(query, expected) in cases {
        assert_eq!(search(&t, query, "").await, expected, "`{query}`");
    }
    assert_eq!(search(&t, &format!("uuid:{beta}"), "").await, ["beta"]);

    // Sorting: metrics and inputs put runs without a value last, in both directions.
    assert_eq!(search(&t, "", "-metrics.loss").await, ["beta", "alpha-demo", "gamma"]);
    assert_eq!(search(&t, "", "metrics.loss").await, ["alpha-demo", "beta", "gamma"]);
    assert_eq!(
        search(&t, "", "-inputs.lr, name").await,
        ["beta", "alpha-demo", "gamma"]
    );
    assert_eq!(
        search(&t, "", "-metrics.acc, -name").await,
        ["beta", "gamma", "alpha-demo"]
    );
    assert_eq!(search(&t, "", "-started_at").await[2], "gamma");

    // Paging keeps the query and the sort in its links.
    let q = "tags:b";
    let first = t
        .get(&format!("{RUNS}?query={}&sort=-metrics.loss&limit=1", enc(q)))
        .await
        .body;
    assert_eq!(
        (first["count"].clone(), names(&first)),
        (json!(2), vec!["beta".to_owned()])
    );
    let next = first["next"].as_str().unwrap();
    assert!(next.contains("query=tags%3Ab"), "{next}");
    assert_eq!(names(&t.get(next).await.body), ["alpha-demo"]);
}

async fn bad_queries_answer_400_with_a_position(t: TestApp) {
    seed(&t).await;
    let cases: &[(&str, &str, &str, &str, u64)] = &[
        (
            "query",
            "status:runing",
            "tracker.invalid_query",
            "pql.invalid_value",
            7,
        ),
        ("query", "(status:running", "tracker.invalid_query", "pql.syntax", 15),
        (
            "query",
            "status:running, color:red",
            "tracker.invalid_query",
            "pql.unknown_field",
            16,
        ),
        ("query", "name:<3", "tracker.invalid_query", "pql.invalid_operator", 5),
        (
            "query",
            "metrics.loss:<low",
            "tracker.invalid_query",
            "pql.invalid_value",
            14,
        ),
        (
            "query",
            "created_at:2024-02-30",
            "tracker.invalid_query",
            "pql.invalid_value",
            11,
        ),
        ("query", "a:1 b:2", "tracker.invalid_query", "pql.syntax", 4),
        (
            "sort",
            "-metrics.loss,tags",
            "tracker.invalid_sort",
            "pql.invalid_operator",
            14,
        ),
        ("sort", "-bogus", "tracker.invalid_sort", "pql.unknown_field", 1),
        ("sort", "name;", "tracker.invalid_sort", "pql.syntax", 0),
    ];
    for &(param, text, code, pql_code, position) in cases {
        let r = t.get(&format!("{RUNS}?{param}={}", enc(text))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{param}={text}: {}", r.body);
        assert_eq!(r.body["code"], code, "{param}={text}");
        let details = &r.body["details"];
        assert_eq!(
            (
                details["field"].as_str(),
                details["pql_code"].as_str(),
                details["position"].as_u64()
            ),
            (Some(param), Some(pql_code), Some(position)),
            "{param}={text}: {}",
            r.body
        );
    }
    let r = t
        .get(&format!("{RUNS}?query={}", enc("status:running, color:red")))
        .await;
    assert_eq!(r.body["details"]["term"], "color");
    assert!(r.body["message"].as_str().unwrap().contains("color"), "{}", r.body);
    let long = "name:x, ".repeat(1000);
    let r = t.get(&format!("{RUNS}?query={}", enc(&long))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn injection_is_inert(t: TestApp) {
    seed(&t).await;
    let evil = "'; DROP TABLE runs; --";
    t.run("search", json!({"name": evil, "is_managed": false})).await;
    assert_eq!(search(&t, &format!("name:\"{evil}\""), "").await, [evil]);
    assert_eq!(search(&t, "name:%DROP TABLE%", "").await, [evil]);
    for bad in [format!("name:{evil}"), "inputs.x');DROP TABLE runs;--:1".to_owned()] {
        let r = t.get(&format!("{RUNS}?query={}", enc(&bad))).await;
        assert_eq!(r.body["details"]["pql_code"], "pql.syntax", "{bad}: {}", r.body);
    }
    assert_eq!(search(&t, "", "").await.len(), 4, "the runs table is intact");
}
