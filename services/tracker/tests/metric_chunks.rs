#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Metric points stored as chunks, on SQLite and PostgreSQL: points written out of order across
//! batches read back in (step, timestamp, write) order; a series larger than one chunk reads back
//! whole; migration m0004 moves points from rows to chunks and back (`down`) with nothing lost.

mod support;

use myelin_tracker::store::entities::run_metric_chunk;
use myelin_tracker::store::migrations::Migrator;
use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{ConnectionTrait, EntityTrait};
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};
use support::{Backend, TestApp};

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
    out_of_order_batches_read_in_series_order,
    migration_moves_points_both_ways
);

const PROJECT: &str = "/api/v1/default/demo";
const STREAMS: &str = "/streams/v1/polyaxon/default/demo/runs";

async fn setup(t: &TestApp) -> String {
    t.project("demo").await;
    t.run("demo", json!({"name": "chunks", "is_managed": false})).await["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ingest(t: &TestApp, run: &str, metrics: Value) {
    let r = t
        .post(&format!("{PROJECT}/runs/{run}/events"), json!({ "metrics": metrics }))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn read(t: &TestApp, run: &str, names: &str) -> Value {
    let r = t
        .get(&format!("{STREAMS}/{run}/events/metric?names={names}&orient=dict"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn out_of_order_batches_read_in_series_order(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let point = |step: Option<i64>, ts: &str, value: f64| json!({"name": "loss", "step": step, "timestamp": format!("2026-12-05T10:00:0{ts}Z"), "value": value});
    ingest(
        &t,
        &run,
        json!([
            point(Some(5), "1", 5.0),
            point(Some(3), "2", 3.2),
            point(None, "9", -1.0),
            point(Some(3), "1", 3.1)
        ]),
    )
    .await;
    ingest(
        &t,
        &run,
        json!([
            point(Some(1), "5", 1.0),
            point(Some(3), "1", 3.15),
            point(Some(4), "0", 4.0)
        ]),
    )
    .await;
    let data = &read(&t, &run, "loss").await["data"][0]["data"];
    assert_eq!(data["step"], json!([null, 1, 3, 3, 3, 4, 5]));
    // Equal (step, timestamp): write order, across batches.
    assert_eq!(data["metric"], json!([-1.0, 1.0, 3.1, 3.15, 3.2, 4.0, 5.0]));
    assert_eq!(data["timestamp"][2], json!("2026-12-05 10:00:01+00:00"));
}

async fn migration_moves_points_both_ways(backend: Backend) {
    let t = support::spawn(backend).await;
    let run = setup(&t).await;
    let loss: Vec<Value> = (0..25_000)
        .map(|i| json!({"name": "loss", "step": i, "value": 1.0 / (1.0 + f64::from(i))}))
        .collect();
    ingest(&t, &run, Value::Array(loss)).await;
    ingest(
        &t,
        &run,
        json!([{"name": "acc", "value": 0.5}, {"name": "acc", "step": 2, "value": 0.75}]),
    )
    .await;
    let chunks = run_metric_chunk::Entity::find().all(&t.db).await.unwrap();
    assert_eq!(chunks.len(), 4, "25k points in chunks of 10k, and one chunk of acc");
    let before = read(&t, &run, "loss,acc").await;
    let loss = before["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "loss")
        .unwrap();
    assert_eq!(loss["data"]["step"].as_array().unwrap().len(), 25_000);

    // Back past m0006 (views), m0005 (batch keys) and m0004 (chunks).
    Migrator::down(&t.db, Some(3)).await.unwrap();
    let count = Query::select()
        .expr(Func::count(Expr::col(Alias::new("id"))))
        .from(Alias::new("run_metrics"))
        .to_owned();
    let rows: i64 =
        t.db.query_one(&count)
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
    assert_eq!(rows, 25_002, "every point is a row again");

    Migrator::up(&t.db, None).await.unwrap();
    assert_eq!(
        read(&t, &run, "loss,acc").await,
        before,
        "the same series after the round trip"
    );
    let summary = t.get(&format!("{PROJECT}/runs/{run}/metrics/summary")).await.body;
    let loss = summary["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "loss")
        .unwrap();
    assert_eq!(loss["count"], json!(25_000));
}
