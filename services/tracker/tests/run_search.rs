#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The run list's PQL `query` and `sort` over the router, on SQLite and on PostgreSQL
//! (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; unreachable = failure):
//! metrics (from `run_metric_summaries`), inputs/outputs, tags, dates, boolean structure, sorting
//! with nulls last, and 400s that point at the faulty part of the query.

mod support;

use http::StatusCode;
use serde_json::{Value, json};
use support::{Backend, TestApp, condition};

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
    metric_plans_page_and_count_exactly,
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

/// Logs `max`, `min` then `last` (steps 1, 2, 10) through the events API, so the run's summary of
/// `name` has these last/min/max values.
async fn summary(t: &TestApp, run: &str, name: &str, last: f64, min: f64, max: f64) {
    let points = json!([
        {"name": name, "step": 1, "value": max},
        {"name": name, "step": 2, "value": min},
        {"name": name, "step": 10, "value": last},
    ]);
    let r = t
        .post(&format!("{RUNS}/{run}/events"), json!({ "metrics": points }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
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

/// The plans that start from a metric's summaries (`store::run_search`): every page of a metric
/// filter sorted by another metric, across the boundary between the runs having the sort metric and
/// those lacking it, with an archived run that must not be counted; and the ascending sort.
async fn metric_plans_page_and_count_exactly(t: TestApp) {
    t.project("search").await;
    // (name, m, f, archived)
    let runs: [(&str, Option<f64>, Option<f64>, bool); 8] = [
        ("r0", Some(0.5), Some(0.1), false),
        ("r1", Some(0.1), Some(0.8), false),
        ("r2", Some(0.9), Some(0.2), false),
        ("r3", Some(0.3), Some(0.3), false),
        ("r4", Some(0.7), Some(0.4), false),
        ("r5", None, Some(0.1), false),
        ("r6", None, None, false),
        ("r7", Some(0.2), Some(0.1), true),
    ];
    let mut uuids = std::collections::BTreeMap::new();
    for (name, m, f, archived) in runs {
        let uuid = t.run("search", json!({"name": name, "is_managed": false})).await["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let points: Vec<Value> = [("m", m), ("f", f)]
            .into_iter()
            .filter_map(|(metric, v)| v.map(|v| json!({"name": metric, "step": 1, "value": v})))
            .collect();
        if !points.is_empty() {
            let r = t
                .post(&format!("{RUNS}/{uuid}/events"), json!({ "metrics": points }))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
        if archived {
            assert_eq!(
                t.post_empty(&format!("{RUNS}/{uuid}/archive")).await.status,
                StatusCode::OK
            );
        }
        uuids.insert(name, uuid);
    }
    let page = |query: &'static str, sort: &'static str, offset: usize, limit: usize| {
        let t = &t;
        async move {
            let uri = format!(
                "{RUNS}?query={}&sort={}&offset={offset}&limit={limit}",
                enc(query),
                enc(sort)
            );
            let r = t.get(&uri).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
            (r.body["count"].as_u64().unwrap(), names(&r.body))
        }
    };
    let expected = ["r2", "r4", "r0", "r3", "r5"];
    for offset in 0..=6 {
        for limit in 1..=6 {
            let want: Vec<&str> = expected.iter().skip(offset).take(limit).copied().collect();
            assert_eq!(
                page("metrics.f:<0.5", "-metrics.m", offset, limit).await,
                (5, want.iter().map(|s| s.to_string()).collect()),
                "offset {offset}, limit {limit}"
            );
        }
    }
    // Ascending, no filter: the runs lacking `m` last, by uuid.
    let mut lacking = [("r5", &uuids["r5"]), ("r6", &uuids["r6"])];
    lacking.sort_by_key(|(_, uuid)| uuid.to_string());
    let mut all = vec!["r1", "r3", "r0", "r4", "r2"];
    all.extend(lacking.iter().map(|(name, _)| *name));
    for offset in 0..=7 {
        let want: Vec<String> = all.iter().skip(offset).take(3).map(|s| s.to_string()).collect();
        assert_eq!(page("", "metrics.m", offset, 3).await, (7, want), "offset {offset}");
    }
    // The archived run is there when asked for.
    assert_eq!(
        page("metrics.f:<0.5, archived:true", "-metrics.m", 0, 10).await,
        (1, vec!["r7".to_owned()])
    );
    // Ties on the sort metric go by uuid, in the sort's direction.
    assert_eq!(page("metrics.f:0.1", "-metrics.f", 0, 10).await.0, 2);
}
