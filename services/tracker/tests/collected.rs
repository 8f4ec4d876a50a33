#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Collected series (`run.events.collected`) published on the in-process bus reach the tracker's
//! consumer, on SQLite and PostgreSQL: a series replaces what was stored for `(run, kind, name)` (HTTP
//! points included) and its summary is recomputed; collecting again is harmless; non-finite metric
//! points are dropped; other kinds are replaced the same way; unknown runs and poison messages are
//! dropped without blocking the queue.

mod support;

use std::time::Duration;

use myelin_common::bus::{ExchangeKind, OutgoingMessage, QueueSpec, SharedBus};
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::tracking::{
    EventKind, RUN_EVENTS_COLLECTED, SeriesCollected, SeriesPoint, TRACKER_COLLECTED_QUEUE,
};
use myelin_contracts::{Envelope, RunUuid};
use serde_json::{Value, json};
use support::{Backend, TestApp};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);
const PROJECT: &str = "/api/v1/default/demo";
const STREAMS: &str = "/streams/v1/polyaxon/default/demo/runs";

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

on_both_databases!(collected_series_replace_stored_ones, bad_messages_do_not_block);

/// Binds the queue as the consumer will (so nothing published before it starts is lost).
async fn bind(bus: &SharedBus) {
    bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
        .await
        .unwrap();
    bus.declare_queue(&QueueSpec::durable(TRACKER_COLLECTED_QUEUE))
        .await
        .unwrap();
    bus.bind_queue(TRACKER_COLLECTED_QUEUE, EVENTS_EXCHANGE, RUN_EVENTS_COLLECTED)
        .await
        .unwrap();
}

async fn publish_raw(bus: &SharedBus, body: Vec<u8>) {
    bus.publish(EVENTS_EXCHANGE, RUN_EVENTS_COLLECTED, OutgoingMessage::new(body))
        .await
        .unwrap();
}

async fn publish(bus: &SharedBus, series: &SeriesCollected) {
    let envelope = Envelope::new(RUN_EVENTS_COLLECTED, series, Some("test".into())).unwrap();
    publish_raw(bus, serde_json::to_vec(&envelope).unwrap()).await;
}

fn series(run: &str, kind: EventKind, name: &str, points: Vec<(Option<i64>, Value)>) -> SeriesCollected {
    SeriesCollected {
        owner: "default".into(),
        project: "demo".into(),
        run: run.parse::<RunUuid>().unwrap(),
        kind,
        name: name.into(),
        points: points
            .into_iter()
            .map(|(step, value)| SeriesPoint {
                step,
                timestamp: Some("2018-12-11T10:24:57Z".parse().unwrap()),
                value,
            })
            .collect(),
    }
}

/// Polls `uri` until `check` holds on its body.
async fn wait_for(t: &TestApp, uri: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body = t.get(uri).await.body;
        if check(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {WAIT:?}; last {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn new_run(t: &TestApp, name: &str) -> String {
    t.run("demo", json!({"name": name, "is_managed": false})).await["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn metric_of(body: &Value) -> Value {
    body["data"][0]["data"]["metric"].clone()
}

async fn collected_series_replace_stored_ones(t: TestApp) {
    bind(&t.bus).await;
    let stop = CancellationToken::new();
    let background = t.app.spawn_background(stop.clone());
    t.project("demo").await;
    let run = new_run(&t, "tracked").await;
    let loss_uri = format!("{STREAMS}/{run}/events/metric?names=loss");
    let summary_uri = format!("{PROJECT}/runs/{run}/metrics/summary");

    // Points ingested over HTTP first, then the collected file replaces the whole series.
    let batch =
        json!({"metrics": (0..10).map(|i| json!({"name": "loss", "step": i, "value": 9.0})).collect::<Vec<_>>()});
    t.post(&format!("{PROJECT}/runs/{run}/events"), batch).await;
    let collected = series(
        &run,
        EventKind::Metric,
        "loss",
        vec![(Some(12), json!(0.1)), (Some(13), json!(0.2)), (Some(14), json!(0.3))],
    );
    publish(&t.bus, &collected).await;
    let body = wait_for(&t, &loss_uri, "the collected series", |b| {
        metric_of(b) == json!([0.1, 0.2, 0.3])
    })
    .await;
    assert_eq!(body["data"][0]["data"]["step"], json!([12, 13, 14]));
    assert_eq!(body["data"][0]["data"]["timestamp"][0], "2018-12-11 10:24:57+00:00");
    let summary = t.get(&summary_uri).await.body;
    assert_eq!(
        summary["results"][0],
        json!({"name": "loss", "last": 0.3, "last_step": 14, "min": 0.1, "max": 0.3, "mean": (0.1 + 0.2 + 0.3) / 3.0, "count": 3})
    );

    // Collecting the same file again changes nothing; a grown file replaces it; points without a
    // finite number are dropped.
    publish(&t.bus, &collected).await;
    let grown = series(
        &run,
        EventKind::Metric,
        "loss",
        vec![
            (Some(12), json!(0.1)),
            (Some(13), json!("NaN")),
            (None, Value::Null),
            (Some(14), json!(0.3)),
            (Some(15), json!(0.05)),
        ],
    );
    publish(&t.bus, &grown).await;
    wait_for(&t, &loss_uri, "the grown series", |b| {
        metric_of(b) == json!([0.1, 0.3, 0.05])
    })
    .await;
    let summary = t.get(&summary_uri).await.body;
    assert_eq!(
        (&summary["results"][0]["count"], &summary["results"][0]["last"]),
        (&json!(3), &json!(0.05))
    );

    // Other kinds, replaced the same way; the run gains `has_events`.
    let images = |paths: &[&str]| {
        let points = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (Some(i as i64), json!({"path": p})))
            .collect();
        series(&run, EventKind::Image, "samples", points)
    };
    publish(&t.bus, &images(&["a.png", "b.png"])).await;
    publish(&t.bus, &images(&["c.png"])).await;
    let image_uri = format!("{STREAMS}/{run}/events/image");
    let body = wait_for(&t, &image_uri, "the image series", |b| {
        b["data"][0]["data"]["image"] == json!([{"path": "c.png"}])
    })
    .await;
    assert_eq!(body["data"][0]["data"]["step"], json!([0]));
    let meta = t.get(&format!("{PROJECT}/runs/{run}")).await.body["meta_info"].clone();
    assert_eq!(
        (&meta["has_metrics"], &meta["has_events"]),
        (&json!(true), &json!(true))
    );

    // An empty collection empties the series and removes the summary.
    publish(&t.bus, &series(&run, EventKind::Metric, "loss", vec![])).await;
    wait_for(&t, &summary_uri, "the summary gone", |b| b["results"] == json!([])).await;
    assert_eq!(t.get(&loss_uri).await.body, json!({"data": []}));

    stop.cancel();
    background.await.unwrap();
}

async fn bad_messages_do_not_block(t: TestApp) {
    bind(&t.bus).await;
    let stop = CancellationToken::new();
    let background = t.app.spawn_background(stop.clone());
    t.project("demo").await;
    let run = new_run(&t, "tracked").await;
    let missing = "0123456789abcdef0123456789abcdef";

    publish_raw(&t.bus, b"not json".to_vec()).await;
    let wrong_type = Envelope::new("run.created", &json!({}), None).unwrap();
    publish_raw(&t.bus, serde_json::to_vec(&wrong_type).unwrap()).await;
    publish(
        &t.bus,
        &series(missing, EventKind::Metric, "loss", vec![(Some(0), json!(1.0))]),
    )
    .await;
    let mut elsewhere = series(&run, EventKind::Metric, "loss", vec![(Some(0), json!(1.0))]);
    elsewhere.project = "nope".into();
    publish(&t.bus, &elsewhere).await;
    publish(
        &t.bus,
        &series(&run, EventKind::Metric, "../up", vec![(Some(0), json!(1.0))]),
    )
    .await;
    // The sentinel: handled after every message above.
    publish(
        &t.bus,
        &series(&run, EventKind::Metric, "acc", vec![(Some(0), json!(0.5))]),
    )
    .await;

    let uri = format!("{STREAMS}/{run}/events/metric");
    let body = wait_for(&t, &uri, "the sentinel series", |b| {
        b["data"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acc"], "nothing else was stored");

    stop.cancel();
    background.await.unwrap();
}
