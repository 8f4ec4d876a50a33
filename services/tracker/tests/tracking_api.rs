#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Tracking over the router, on SQLite and PostgreSQL (`DATABASE_URL`; unreachable = failure): metric
//! and event batches read back bit-exact in Polyaxon's shapes (dict and csv), names filters, server-side
//! sampling keeping the extremes, multi-run reads, summaries across batches, every bad input refused
//! with nothing stored, the batch limit, artifact lineage (artifacts, names, upstream/downstream,
//! clones), and rows going away with their run.

mod support;

use std::time::Instant;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use myelin_tracker::Settings;
use myelin_tracker::store::entities::{run_event, run_lineage, run_metric_chunk, run_metric_summary};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use support::{Backend, Resp, TestApp};

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::Backend::Postgres).await })*
        }
    };
}

on_both_databases!(
    batch_round_trip,
    summaries_merge_across_batches,
    bad_input_stores_nothing,
    oversized_batches_are_refused,
    sampling_keeps_the_extremes,
    multi_run_reads,
    lineage_round_trip,
    rows_go_with_their_run,
    concurrent_writers,
    idempotent_batches,
    throughput,
);

const PROJECT: &str = "/api/v1/default/demo";
const STREAMS: &str = "/streams/v1/polyaxon/default/demo/runs";

/// A project `demo` and an SDK run in it; returns the run's uuid.
async fn setup(t: &TestApp) -> String {
    t.project("demo").await;
    new_run(t, "tracked").await
}

async fn new_run(t: &TestApp, name: &str) -> String {
    t.run("demo", json!({"name": name, "is_managed": false, "managed_by": "user"}))
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_raw(t: &TestApp, uri: &str, body: &str) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    t.send(req).await
}

async fn ingest(t: &TestApp, run: &str, batch: Value) -> Resp {
    t.post(&format!("{PROJECT}/runs/{run}/events"), batch).await
}

fn metrics(name: &str, points: impl IntoIterator<Item = (i64, f64)>) -> Value {
    Value::Array(
        points
            .into_iter()
            .map(|(step, value)| json!({"name": name, "step": step, "value": value}))
            .collect(),
    )
}

/// Stored metric points, summaries, event points, lineage rows.
async fn counts(t: &TestApp) -> [u64; 4] {
    let chunks = run_metric_chunk::Entity::find().all(&t.db).await.unwrap();
    [
        chunks.iter().map(|c| c.points as u64).sum(),
        run_metric_summary::Entity::find().count(&t.db).await.unwrap(),
        run_event::Entity::find().count(&t.db).await.unwrap(),
        run_lineage::Entity::find().count(&t.db).await.unwrap(),
    ]
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

async fn batch_round_trip(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    // Values that only survive a bit-exact path; timestamps as the polyaxon client sends them.
    let tricky = [
        1.0,
        0.5,
        0.1 + 0.2,
        1e-300,
        f64::MAX,
        -123_456_789.123_456_78,
        1.0 / 3.0,
    ];
    let mut batch = json!({
        "metrics": tricky.iter().enumerate().map(|(i, v)| json!({
            "name": "loss", "step": i, "value": v,
            "timestamp": format!("2026-12-04T20:21:06.{:06}+00:00", 458_805 + i),
        })).collect::<Vec<_>>(),
        "events": [
            {"kind": "image", "name": "samples/img", "step": 1, "data": {"path": "a.png", "height": 2}},
            {"kind": "image", "name": "samples/img", "step": 0, "data": {"path": "b.png"}, "timestamp": "2026-12-04T20:21:06Z"},
            {"kind": "metric", "name": "acc", "step": 0, "data": 0.75},
        ],
    });
    batch["metrics"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "acc", "value": 0.5, "step": 1}));
    let r = ingest(&t, &run, batch).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"metrics": 9, "events": 2}))
    );

    let read = t
        .get(&format!(
            "{STREAMS}/{run}/events/metric?names=loss&orient=dict&force=true"
        ))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let series = &read.body["data"];
    assert_eq!(series.as_array().unwrap().len(), 1);
    assert_eq!(
        (&series[0]["name"], &series[0]["kind"]),
        (&json!("loss"), &json!("metric"))
    );
    assert!(series[0].get("uuid").is_none());
    let data = &series[0]["data"];
    assert_eq!(data["step"], json!([0, 1, 2, 3, 4, 5, 6]));
    assert_eq!(data["timestamp"][0], "2026-12-04 20:21:06.458805+00:00");
    assert_eq!(data["timestamp"][6], "2026-12-04 20:21:06.458811+00:00");
    let back = floats(&data["metric"]);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&tricky), "values read back bit-exact");

    // Every name when `names` is absent, sorted; the metric event joined `acc`.
    let all = t.get(&format!("{STREAMS}/{run}/events/metric")).await.body;
    let names: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acc", "loss"]);
    assert_eq!(all["data"][0]["data"]["metric"], json!([0.75, 0.5]));
    let none = t.get(&format!("{STREAMS}/{run}/events/metric?names=nope")).await;
    assert_eq!((none.status, none.body.clone()), (StatusCode::OK, json!({"data": []})));

    // csv: traceml's text.
    let csv = t
        .get(&format!("{STREAMS}/{run}/events/metric?names=acc&orient=csv"))
        .await
        .body;
    let text = csv["data"][0]["data"].as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "timestamp|step|metric");
    assert!(lines[1].ends_with("|0|0.75") && lines[2].ends_with("|1|0.5"), "{text}");
    assert!(lines[1].contains('T') && lines[1].contains("+00:00|"), "{text}");

    // Other kinds: the JSON of each point, in step order.
    let images = t.get(&format!("{STREAMS}/{run}/events/image")).await.body;
    assert_eq!(
        images["data"][0],
        json!({"name": "samples/img", "kind": "image", "data": {
            "step": [0, 1],
            "timestamp": ["2026-12-04 20:21:06+00:00", images["data"][0]["data"]["timestamp"][1]],
            "image": [{"path": "b.png"}, {"path": "a.png", "height": 2}],
        }})
    );

    let run_body = t.get(&format!("{PROJECT}/runs/{run}")).await.body;
    assert_eq!(run_body["meta_info"]["has_metrics"], true);
    assert_eq!(run_body["meta_info"]["has_events"], true);
    let summary = t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body;
    assert_eq!(
        summary["results"][0],
        json!({"name": "acc", "last": 0.5, "last_step": 1, "min": 0.5, "max": 0.75, "mean": 0.625, "count": 2})
    );
    assert_eq!(summary["results"][1]["last"], json!(1.0 / 3.0));
    assert_eq!(summary["results"][1]["max"], json!(f64::MAX));

    for bad in ["orient=table", "sample=2", "sample=x", "sampling=avg"] {
        let r = t.get(&format!("{STREAMS}/{run}/events/metric?{bad}")).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("tracker.invalid_query")),
            "{bad}"
        );
    }
    let doc = t.get("/internal/openapi.json").await.body;
    for path in [
        "/api/v1/{owner}/{project}/runs/{uuid}/events",
        "/streams/v1/{namespace}/{owner}/{project}/runs/multi/events/{kind}",
        "/api/v1/{owner}/{project}/runs/{uuid}/lineage/upstream",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let r = t.get(&format!("{STREAMS}/{run}/events/metrics")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_event_kind"))
    );
}

async fn summaries_merge_across_batches(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let r = ingest(
        &t,
        &run,
        json!({"metrics": metrics("loss", [(0, 1.0), (1, 0.5), (2, 0.4)])}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // A later batch with a late lower step, the new last step, and a tie on it (the latest wins).
    let later = json!({"metrics": metrics("loss", [(5, 0.3), (1, 0.1), (5, 0.2)])});
    assert_eq!(ingest(&t, &run, later).await.status, StatusCode::OK);
    // A late batch below the last step does not move `last`.
    assert_eq!(
        ingest(&t, &run, json!({"metrics": metrics("loss", [(3, 2.0)])}))
            .await
            .status,
        StatusCode::OK
    );
    // Step-less points: the latest sent is the last.
    let stepless = json!({"metrics": [{"name": "lr", "value": 0.1}, {"name": "lr", "value": 0.01}]});
    assert_eq!(ingest(&t, &run, stepless).await.status, StatusCode::OK);
    assert_eq!(
        ingest(&t, &run, json!({"metrics": [{"name": "lr", "value": 0.001}]}))
            .await
            .status,
        StatusCode::OK
    );

    let body = t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body;
    let loss = &body["results"][0];
    assert_eq!(
        (&loss["name"], &loss["last"], &loss["last_step"]),
        (&json!("loss"), &json!(0.2), &json!(5))
    );
    assert_eq!(
        (&loss["min"], &loss["max"], &loss["count"]),
        (&json!(0.1), &json!(2.0), &json!(7))
    );
    assert!((loss["mean"].as_f64().unwrap() - 4.5 / 7.0).abs() < 1e-12);
    let lr = &body["results"][1];
    assert_eq!(
        (&lr["name"], &lr["last"], &lr["count"]),
        (&json!("lr"), &json!(0.001), &json!(3))
    );
    assert!(lr.get("last_step").is_none());
    // Reads are in step order whatever the arrival order.
    let read = t.get(&format!("{STREAMS}/{run}/events/metric?names=loss")).await.body;
    assert_eq!(read["data"][0]["data"]["step"], json!([0, 1, 1, 2, 3, 5, 5]));
    assert_eq!(
        read["data"][0]["data"]["metric"],
        json!([1.0, 0.5, 0.1, 0.4, 2.0, 0.3, 0.2])
    );
}

async fn bad_input_stores_nothing(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let other = {
        t.project("other").await;
        t.run("other", json!({"is_managed": false})).await["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let url = format!("{PROJECT}/runs/{run}/events");
    let good = r#"{"name": "loss", "value": 1.0, "step": 0}"#;
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"{"name": "loss", "value": "NaN"}"#,
            "tracker.invalid_metric",
            "metrics",
        ),
        (
            r#"{"name": "loss", "value": "Infinity"}"#,
            "tracker.invalid_metric",
            "metrics",
        ),
        (
            r#"{"name": "loss", "value": "-inf"}"#,
            "tracker.invalid_metric",
            "metrics",
        ),
        (
            r#"{"name": "loss", "value": null}"#,
            "tracker.invalid_metric",
            "metrics",
        ),
        (r#"{"name": "loss", "value": NaN}"#, "tracker.invalid_body", ""),
        (r#"{"name": "loss", "value": Infinity}"#, "tracker.invalid_body", ""),
        (r#"{"name": "loss", "value": 1e999}"#, "tracker.invalid_body", ""),
        (
            r#"{"name": "has space", "value": 1}"#,
            "tracker.invalid_event_name",
            "metrics",
        ),
        (
            r#"{"name": "../up", "value": 1}"#,
            "tracker.invalid_event_name",
            "metrics",
        ),
        (r#"{"name": "", "value": 1}"#, "tracker.invalid_event_name", "metrics"),
        (
            r#"{"name": "nul\u0000", "value": 1}"#,
            "tracker.invalid_event_name",
            "metrics",
        ),
        (r#"{"value": 1}"#, "tracker.invalid_body", ""),
    ];
    for (point, code, field) in cases {
        let body = format!(r#"{{"metrics": [{good}, {point}]}}"#);
        let r = post_raw(&t, &url, &body).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(*code)),
            "{point}: {}",
            r.body
        );
        if !field.is_empty() {
            assert_eq!(r.body["details"]["index"], 1, "{point}");
            assert_eq!(r.body["details"]["field"], *field, "{point}");
        }
    }
    let long = "x".repeat(257);
    let events: &[(Value, &str)] = &[
        (
            json!({"kind": "image", "name": long, "data": {}}),
            "tracker.invalid_event_name",
        ),
        (
            json!({"kind": "metric", "name": "acc", "data": "NaN"}),
            "tracker.invalid_metric",
        ),
        (
            json!({"kind": "metric", "name": "acc", "data": {"v": 1}}),
            "tracker.invalid_metric",
        ),
        (
            json!({"kind": "images", "name": "x", "data": {}}),
            "tracker.invalid_body",
        ),
    ];
    for (event, code) in events {
        let r = t
            .post(
                &url,
                json!({"metrics": [{"name": "ok", "value": 1}], "events": [event]}),
            )
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(*code)),
            "{event}"
        );
    }
    for raw in ["", "not json", "[1]"] {
        let r = post_raw(&t, &url, raw).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("tracker.invalid_body")),
            "{raw:?}"
        );
    }
    // Unknown runs and projects, another project's run, a malformed uuid.
    let batch = json!({"metrics": metrics("loss", [(0, 1.0)])});
    let missing = "0123456789abcdef0123456789abcdef";
    for (uri, status, code) in [
        (
            format!("{PROJECT}/runs/{missing}/events"),
            StatusCode::NOT_FOUND,
            "tracker.run_not_found",
        ),
        (
            format!("{PROJECT}/runs/{other}/events"),
            StatusCode::NOT_FOUND,
            "tracker.run_not_found",
        ),
        (
            format!("/api/v1/default/nope/runs/{run}/events"),
            StatusCode::NOT_FOUND,
            "tracker.project_not_found",
        ),
        (
            format!("{PROJECT}/runs/xyz/events"),
            StatusCode::BAD_REQUEST,
            "tracker.invalid_uuid",
        ),
    ] {
        let r = t.post(&uri, batch.clone()).await;
        assert_eq!((r.status, r.body["code"].as_str()), (status, Some(code)), "{uri}");
    }
    for uri in [
        format!("{STREAMS}/{missing}/events/metric"),
        format!("{STREAMS}/{other}/events/metric"),
        format!("{PROJECT}/runs/{missing}/metrics/summary"),
    ] {
        assert_eq!(t.get(&uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }

    assert_eq!(counts(&t).await, [0, 0, 0, 0], "no rejected batch stored a point");
    let run_body = t.get(&format!("{PROJECT}/runs/{run}")).await.body;
    assert!(
        run_body["meta_info"].get("has_metrics").is_none(),
        "{}",
        run_body["meta_info"]
    );
    assert_eq!(
        t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body,
        json!({"results": []})
    );
}

async fn oversized_batches_are_refused(backend: Backend) {
    let mut settings = Settings::default();
    settings.tracking.max_batch_points = 10;
    let t = support::spawn_with(backend, settings).await;
    let run = setup(&t).await;
    let url = format!("{PROJECT}/runs/{run}/events");
    let eleven = json!({
        "metrics": metrics("loss", (0..6).map(|i| (i, 1.0))),
        "events": (0..5).map(|i| json!({"kind": "text", "name": "t", "step": i, "data": "x"})).collect::<Vec<_>>(),
    });
    let r = t.post(&url, eleven).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("tracker.batch_too_large"))
    );
    assert_eq!(r.body["details"], json!({"points": 11, "max_points": 10}));
    assert_eq!(counts(&t).await, [0, 0, 0, 0]);
    let ten = json!({"metrics": metrics("loss", (0..10).map(|i| (i, 1.0)))});
    assert_eq!(t.post(&url, ten).await.status, StatusCode::OK);
    assert_eq!(counts(&t).await, [10, 1, 0, 0]);
}

async fn sampling_keeps_the_extremes(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let n = 5000;
    let value = |i: i64| match i {
        1234 => 99.0,
        3210 => -99.0,
        _ => (i as f64 / 300.0).sin() + ((i * 7919) % 97) as f64 / 1000.0,
    };
    let r = ingest(
        &t,
        &run,
        json!({"metrics": metrics("loss", (0..n).map(|i| (i, value(i))))}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let full = t.get(&format!("{STREAMS}/{run}/events/metric?names=loss")).await.body;
    assert_eq!(full["data"][0]["data"]["step"].as_array().unwrap().len(), n as usize);
    for sampling in ["lttb", "minmax"] {
        let read = t
            .get(&format!(
                "{STREAMS}/{run}/events/metric?names=loss&sample=100&sampling={sampling}"
            ))
            .await
            .body;
        let data = &read["data"][0]["data"];
        let steps: Vec<i64> = data["step"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_i64().unwrap())
            .collect();
        let values = floats(&data["metric"]);
        assert!(
            steps.len() <= 100 && steps.len() >= 90,
            "{sampling}: {} points",
            steps.len()
        );
        assert_eq!(data["timestamp"].as_array().unwrap().len(), steps.len());
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{sampling}: in step order");
        assert_eq!(
            (steps[0], *steps.last().unwrap()),
            (0, n - 1),
            "{sampling}: first and last kept"
        );
        assert!(
            steps.contains(&1234) && steps.contains(&3210),
            "{sampling}: extremes kept"
        );
        for (s, v) in steps.iter().zip(&values) {
            assert_eq!(*v, value(*s), "{sampling}: values stay with their steps");
        }
    }
    // Sampling applies to metrics only; a short series comes back whole.
    let short = t
        .get(&format!("{STREAMS}/{run}/events/metric?names=loss&sample=10000"))
        .await
        .body;
    assert_eq!(short["data"][0]["data"]["step"].as_array().unwrap().len(), n as usize);
}

async fn multi_run_reads(backend: Backend) {
    let t = support::spawn(backend).await;
    let a = setup(&t).await;
    let b = new_run(&t, "second").await;
    ingest(&t, &a, json!({"metrics": metrics("loss", [(0, 1.0), (1, 0.5)])})).await;
    ingest(
        &t,
        &b,
        json!({"metrics": [{"name": "loss", "value": 2.0, "step": 0}, {"name": "acc", "value": 0.1, "step": 0}]}),
    )
    .await;
    let read = t
        .get(&format!(
            "{STREAMS}/multi/events/metric?runs={b},{a},{b}&names=loss&orient=dict"
        ))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let data = read.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(
        (&data[0]["uuid"], &data[0]["data"]["metric"]),
        (&json!(b), &json!([2.0]))
    );
    assert_eq!(
        (&data[1]["uuid"], &data[1]["data"]["metric"]),
        (&json!(a), &json!([1.0, 0.5]))
    );
    let all = t.get(&format!("{STREAMS}/multi/events/metric?runs={a},{b}")).await.body;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);

    let missing = "0123456789abcdef0123456789abcdef";
    let r = t
        .get(&format!("{STREAMS}/multi/events/metric?runs={a},{missing}"))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.run_not_found"))
    );
    for bad in ["", "?runs=", "?runs=nope"] {
        let r = t.get(&format!("{STREAMS}/multi/events/metric{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn lineage_round_trip(backend: Backend) {
    let t = support::spawn(backend).await;
    let producer = setup(&t).await;
    let consumer = new_run(&t, "consumer").await;
    let url = |run: &str, tail: &str| format!("{PROJECT}/runs/{run}/lineage/{tail}");
    // What the polyaxon client posts.
    let loss = json!({"name": "loss", "kind": "metric", "path": "events/metric/loss.plx", "is_input": false,
        "summary": {"is_event": true, "metric": {"count": 5.0, "last": 0.2}}});
    let model = json!({"name": "model", "kind": "model", "path": "outputs/model.bin", "is_input": false});
    let r = t
        .post(&url(&producer, "artifacts"), json!({"artifacts": [loss, model]}))
        .await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::CREATED, Value::Null));
    let list = t.get(&url(&producer, "artifacts")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        (&list.body["count"], &list.body["next"], &list.body["previous"]),
        (&json!(2), &Value::Null, &Value::Null)
    );
    let first = &list.body["results"][0];
    assert_eq!(
        (
            &first["name"],
            &first["path"],
            &first["summary"],
            &first["run"],
            &first["state"]
        ),
        (
            &json!("loss"),
            &json!("events/metric/loss.plx"),
            &loss["summary"],
            &json!(producer),
            &json!(producer)
        )
    );
    assert_eq!(
        first["meta_info"],
        json!({"run": {"name": "tracked", "uuid": producer}})
    );

    // Upsert by name and direction; the same name as an input is another artifact.
    let moved = json!({"name": "model", "kind": "model", "path": "outputs/model-v2.bin", "is_input": false});
    let input = json!({"name": "model", "kind": "model", "path": "data/base.bin", "is_input": true});
    assert_eq!(
        t.post(&url(&producer, "artifacts"), json!({"artifacts": [moved, input]}))
            .await
            .status,
        StatusCode::CREATED
    );
    let list = t.get(&url(&producer, "artifacts?sort=path&limit=2")).await.body;
    assert_eq!(list["count"], 3);
    let paths: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["data/base.bin", "events/metric/loss.plx"]);
    assert!(list["next"].as_str().unwrap().contains("offset=2"));
    let names = t.get(&url(&producer, "artifacts/names")).await.body;
    assert_eq!(
        (&names["count"], &names["results"]),
        (&json!(2), &json!([{"name": "loss"}, {"name": "model"}]))
    );

    // The consumer read the producer's model: an edge each way.
    let read = json!({"name": "weights", "kind": "model", "path": "outputs/model-v2.bin", "is_input": true});
    t.post(&url(&consumer, "artifacts"), json!({"artifacts": [read]})).await;
    let up = t.get(&url(&consumer, "upstream")).await.body;
    assert_eq!(up["count"], 1);
    assert_eq!(up["results"][0]["upstream"]["uuid"], json!(producer));
    assert_eq!(up["results"][0]["upstream"]["name"], "tracked");
    assert_eq!(up["results"][0]["downstream"]["uuid"], json!(consumer));
    assert_eq!(up["results"][0]["values"], json!({"paths": ["outputs/model-v2.bin"]}));
    let down = t.get(&url(&producer, "downstream")).await.body;
    assert_eq!(
        (&down["count"], &down["results"][0]["downstream"]["uuid"]),
        (&json!(1), &json!(consumer))
    );
    assert_eq!(down["results"][0]["upstream"]["status"], "created");
    assert_eq!(t.get(&url(&producer, "upstream")).await.body["count"], 0);

    // Clones: restarts and copies of a run.
    let copy = t.post_empty(&format!("{PROJECT}/runs/{producer}/copy")).await.body;
    let clones = t.get(&url(&producer, "clones")).await.body;
    assert_eq!(
        (&clones["count"], &clones["results"][0]["uuid"]),
        (&json!(1), &copy["uuid"])
    );
    assert_eq!(t.get(&url(&consumer, "clones")).await.body["count"], 0);

    // Delete by name (input and output), then 404.
    let r = t.delete(&url(&producer, "artifacts/model")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&url(&producer, "artifacts")).await.body["count"], 1);
    let r = t.delete(&url(&producer, "artifacts/model")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.artifact_not_found"))
    );
    assert_eq!(t.get(&url(&consumer, "upstream")).await.body["count"], 0);

    let bad = t
        .post(&url(&producer, "artifacts"), json!({"artifacts": [{"name": "a b"}]}))
        .await;
    assert_eq!(bad.body["code"], "tracker.invalid_event_name");
    let missing = "0123456789abcdef0123456789abcdef";
    assert_eq!(t.get(&url(missing, "artifacts")).await.status, StatusCode::NOT_FOUND);
}

async fn rows_go_with_their_run(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let keep = new_run(&t, "kept").await;
    for r in [&run, &keep] {
        let batch = json!({
            "metrics": metrics("loss", [(0, 1.0), (1, 0.5)]),
            "events": [{"kind": "text", "name": "note", "data": "hello"}],
        });
        assert_eq!(ingest(&t, r, batch).await.status, StatusCode::OK);
        let artifacts = json!({"artifacts": [{"name": "loss", "path": "events/metric/loss.plx"}]});
        t.post(&format!("{PROJECT}/runs/{r}/lineage/artifacts"), artifacts)
            .await;
    }
    assert_eq!(counts(&t).await, [4, 2, 2, 2]);
    assert_eq!(
        t.delete(&format!("{PROJECT}/runs/{run}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        counts(&t).await,
        [2, 1, 1, 1],
        "the deleted run's rows are gone, the other's stay"
    );
    assert_eq!(t.delete(PROJECT).await.status, StatusCode::NO_CONTENT);
    assert_eq!(counts(&t).await, [0, 0, 0, 0]);
}

/// Batches to one run in parallel (several names each, in different orders) with patches of the run
/// in between: none deadlocks or is lost.
async fn concurrent_writers(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let writer = |w: i64| {
        let (t, run) = (&t, run.clone());
        async move {
            let mut names = ["a", "b", "c", "d"];
            if w % 2 == 1 {
                names.reverse();
            }
            let points: Vec<Value> = names
                .iter()
                .flat_map(|n| (0..50).map(move |i| json!({"name": n, "step": w * 50 + i, "value": i})))
                .collect();
            let batch = json!({"metrics": points, "events": [{"kind": "text", "name": "log", "data": "x"}]});
            let r = ingest(t, &run, batch).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let patch = json!({"meta_info": {format!("w{w}"): true}, "merge": true});
            let r = t.patch(&format!("{PROJECT}/runs/{run}"), patch).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    futures::future::join_all((0..8).map(writer)).await;
    let summary = t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body;
    assert_eq!(summary["results"].as_array().unwrap().len(), 4);
    for s in summary["results"].as_array().unwrap() {
        assert_eq!((&s["count"], &s["last_step"]), (&json!(400), &json!(399)), "{s}");
    }
    let meta = &t.get(&format!("{PROJECT}/runs/{run}")).await.body["meta_info"];
    assert_eq!(
        (&meta["has_metrics"], &meta["has_events"], &meta["w3"]),
        (&json!(true), &json!(true), &json!(true))
    );
}

/// Timings (printed, not asserted: debug builds on a shared machine): 1000-point batches and a
/// 20k-point history read.
async fn throughput(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let batches = 20;
    let bodies: Vec<String> = (0..batches)
        .map(|b| {
            let points = (0..1000).map(|i| {
                let step = b * 1000 + i;
                json!({"name": "loss", "step": step, "value": 1.0 / (1.0 + step as f64), "timestamp": "2026-12-04T20:21:06.458805Z"})
            });
            json!({"metrics": points.collect::<Vec<_>>()}).to_string()
        })
        .collect();
    let url = format!("{PROJECT}/runs/{run}/events");
    let started = Instant::now();
    for body in &bodies {
        let r = post_raw(&t, &url, body).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let elapsed = started.elapsed();
    println!(
        "{backend:?}: {batches} × 1000 points in {elapsed:?} → {:.0} points/s (debug build)",
        (batches * 1000) as f64 / elapsed.as_secs_f64()
    );
    let started = Instant::now();
    let read = t.get(&format!("{STREAMS}/{run}/events/metric?names=loss")).await;
    println!(
        "{backend:?}: 20k-point history read in {:?} (debug build)",
        started.elapsed()
    );
    assert_eq!(read.body["data"][0]["data"]["step"].as_array().unwrap().len(), 20_000);
    let started = Instant::now();
    let sampled = t
        .get(&format!("{STREAMS}/{run}/events/metric?names=loss&sample=500"))
        .await;
    println!(
        "{backend:?}: 20k points sampled to 500 in {:?} (debug build)",
        started.elapsed()
    );
    assert!(sampled.body["data"][0]["data"]["step"].as_array().unwrap().len() <= 500);
    let summary = t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body;
    assert_eq!(
        (&summary["results"][0]["count"], &summary["results"][0]["last_step"]),
        (&json!(20_000), &json!(19_999))
    );
}

async fn post_keyed(t: &TestApp, run: &str, key: &str, batch: &Value) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("{PROJECT}/runs/{run}/events"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(batch.to_string()))
        .unwrap();
    t.send(req).await
}

/// A batch sent again with the same `Idempotency-Key` (a client retrying after a timeout) is stored
/// once; keys are per run; a malformed key is refused with nothing stored.
async fn idempotent_batches(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let other = new_run(&t, "other").await;
    let batch = json!({"metrics": metrics("loss", [(0, 0.5), (1, 0.25)])});
    let first = post_keyed(&t, &run, "batch-1", &batch).await;
    assert_eq!(
        (first.status, &first.body),
        (StatusCode::OK, &json!({"metrics": 2, "events": 0}))
    );
    let again = post_keyed(&t, &run, "batch-1", &batch).await;
    assert_eq!(
        (again.status, &again.body),
        (StatusCode::OK, &json!({"metrics": 0, "events": 0, "duplicate": true}))
    );
    assert_eq!(counts(&t).await[0], 2, "the retried batch was not stored twice");
    assert_eq!(post_keyed(&t, &run, "batch-2", &batch).await.body["metrics"], json!(2));
    assert_eq!(
        post_keyed(&t, &other, "batch-1", &batch).await.body["metrics"],
        json!(2)
    );
    assert_eq!(counts(&t).await[0], 6);
    for bad in ["", "with space", &"k".repeat(129)] {
        let r = post_keyed(&t, &run, bad, &batch).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(r.body["code"], "tracker.invalid_idempotency_key");
    }
    assert_eq!(counts(&t).await[0], 6);
    let summary = t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body;
    assert_eq!(summary["results"][0]["count"], json!(4));
}
