#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The logs service on real services: RabbitMQ (`AMQP_URL`), Redis (`REDIS_URL`) and a local blob
//! directory. Its own event queue and Redis key prefix keep it apart from other tests; the exchange
//! is the shared `myelin.events`, so other tests' run events reach it too (and are harmless).
//! A missing RabbitMQ or Redis fails the test.

mod support;

use std::sync::Arc;

use axum::body::Body;
use http::Request;
use myelin_common::blob::LocalBlob;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::coord::redis::{RedisCoord, RedisSettings};
use myelin_contracts::RunUuid;
use myelin_contracts::execution::log_stream;
use myelin_logs::store::{follow_key, state_key};
use serde_json::Value;
use support::{Ports, SseReader, logs_path, settings, start, values};
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_persists_and_tails_a_run_on_rabbitmq_redis_and_a_directory() {
    myelin_common::install_crypto_provider();
    let amqp_url = std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let amqp = AmqpSettings {
        reconnect_timeout_secs: 5,
        connection_name: "logs-test".into(),
        ..AmqpSettings::default()
    };
    let bus = AmqpBus::connect(&amqp_url, amqp)
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ must run at {amqp_url}: {e}"));
    let redis = RedisSettings {
        key_prefix: format!("logs-test:{unique}:"),
        ..RedisSettings::default()
    };
    let coord = RedisCoord::connect(&redis_url, &redis)
        .await
        .unwrap_or_else(|e| panic!("Redis must run at {redis_url}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports {
        bus: Arc::new(bus),
        coord: Arc::new(coord),
        blob: Arc::new(LocalBlob::new(dir.path()).unwrap()),
    };
    let mut s = settings(5);
    s.events_queue = format!("logs-test.events.{unique}");
    s.status_ttl_secs = 120; // states of other tests' runs expire soon
    let h = start(s.clone(), ports.clone()).await;

    let run = RunUuid::new();
    h.publish(&run, "running").await;
    for i in 0..7 {
        h.append(&run, &format!("line {i}")).await;
    }
    h.wait_chunks(&run, &[5]).await;
    let expected: Vec<String> = (0..7).map(|i| format!("line {i}")).collect();
    assert_eq!(
        values(&h.page(&run, "").await),
        expected,
        "a chunk plus the live stream"
    );

    let request = Request::get(format!("{}/tail", logs_path(&run)))
        .body(Body::empty())
        .unwrap();
    let mut events = SseReader::new(h.app.router().oneshot(request).await.unwrap().into_body());
    for line in &expected {
        let event = events.next().await.unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&event.data).unwrap()["value"],
            line.as_str()
        );
    }
    h.append(&run, "line 7").await;
    assert_eq!(
        serde_json::from_str::<Value>(&events.next().await.unwrap().data).unwrap()["value"],
        "line 7"
    );
    h.publish(&run, "succeeded").await;
    assert_eq!(events.next().await.unwrap().event, "done");
    assert!(events.next().await.is_none());

    let chunks = h.wait_chunks(&run, &[5, 3]).await;
    let persisted: Vec<String> = chunks.into_iter().flat_map(|(_, lines)| lines).collect();
    assert_eq!(persisted, (0..8).map(|i| format!("line {i}")).collect::<Vec<_>>());

    // Short runs: `running` and `succeeded` back to back, handled concurrently (prefetch 16).
    let burst: Vec<RunUuid> = (0..24).map(|_| RunUuid::new()).collect();
    for run in &burst {
        h.append(run, &format!("I am {run}")).await;
        h.publish(run, "running").await;
        h.publish(run, "succeeded").await;
    }
    for run in &burst {
        let chunks = h.wait_chunks(run, &[1]).await;
        assert_eq!(chunks[0].1, [format!("I am {run}")]);
        let state = h.app.store().state(run).await.unwrap().unwrap();
        assert_eq!(state.status.as_str(), "succeeded", "{run}");
    }
    support::eventually("every burst run is unregistered", || async {
        let registered = h.app.store().registered().await.unwrap();
        burst.iter().all(|run| !registered.contains(run)).then_some(())
    })
    .await;
    h.stop().await;
    for run in &burst {
        for key in [
            log_stream(run),
            state_key(run, true),
            state_key(run, false),
            follow_key(run),
        ] {
            ports.coord.delete(&key).await.unwrap();
        }
    }

    // Clean up: the queue, and this run's keys (other keys under the prefix expire).
    ports.bus.delete_queue(&s.events_queue).await.unwrap();
    let keys = [
        log_stream(&run),
        state_key(&run, true),
        state_key(&run, false),
        follow_key(&run),
    ];
    for key in keys {
        ports.coord.delete(&key).await.unwrap();
    }
}
