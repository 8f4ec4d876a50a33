#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The outbox relay end to end: events committed with a change reach a consumer bound to
//! `myelin.events`, exactly once, on the in-process bus and on real RabbitMQ (`AMQP_URL`), and two
//! tracker replicas on one PostgreSQL database never publish a row twice.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use http::StatusCode;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, Consumer, ExchangeKind, QueueSpec, SharedBus};
use myelin_contracts::Envelope;
use myelin_contracts::events::{EVENTS_EXCHANGE, RUN_CREATED, RunEvent};
use myelin_tracker::{App, Deps, Settings};
use serde_json::json;
use support::{Backend, TestApp};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(600);

/// A queue bound to `myelin.events` with `#`, consumed.
async fn listen(bus: &SharedBus, queue: &str) -> Consumer {
    bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
        .await
        .unwrap();
    let mut spec = QueueSpec::durable(queue);
    spec.durable = false;
    spec.auto_delete = true;
    bus.declare_queue(&spec).await.unwrap();
    bus.bind_queue(queue, EVENTS_EXCHANGE, "#").await.unwrap();
    bus.consume(queue, ConsumeOptions::default()).await.unwrap()
}

/// Receives envelopes until `done` says so; each delivery is acked and must carry its event id as
/// `message_id` and its type as routing key.
async fn receive(consumer: &mut Consumer, mut done: impl FnMut(&[Envelope]) -> bool) -> Vec<Envelope> {
    let mut got = Vec::new();
    while !done(&got) {
        let delivery = match timeout(WAIT, consumer.next()).await {
            Ok(Some(Ok(d))) => d,
            other => panic!(
                "no event within {WAIT:?} after {} events: {:?}",
                got.len(),
                other.map(|o| o.map(|r| r.map(|_| ())))
            ),
        };
        let env: Envelope = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(
            delivery.properties.message_id.as_deref(),
            Some(env.id.to_string().as_str())
        );
        assert_eq!(delivery.routing_key, env.type_);
        delivery.ack().await.unwrap();
        got.push(env);
    }
    got
}

async fn quiet(consumer: &mut Consumer, what: &str, mine: impl Fn(&Envelope) -> bool) {
    let deadline = tokio::time::Instant::now() + QUIET;
    while let Ok(Some(Ok(d))) = tokio::time::timeout_at(deadline, consumer.next()).await {
        let env: Envelope = serde_json::from_slice(&d.body).unwrap();
        d.ack().await.unwrap();
        assert!(
            !mine(&env),
            "{what}: unexpected extra event {} {}",
            env.type_,
            env.payload
        );
    }
}

fn run_created_for(project: &str) -> impl Fn(&Envelope) -> bool + '_ {
    move |e| e.type_ == RUN_CREATED && e.payload["project"] == project
}

async fn exactly_one_run_created(t: TestApp, queue: &str, project: &str) {
    let mut consumer = listen(&t.bus, queue).await;
    let stop = CancellationToken::new();
    let relay = t.app.spawn_background(stop.clone());
    t.project(project).await;
    let run = t.run(project, json!({"name": "r", "is_managed": false})).await;
    let mine = run_created_for(project);
    let got = receive(&mut consumer, |got| got.iter().any(&mine)).await;
    let created: Vec<_> = got.iter().filter(|e| mine(e)).collect();
    assert_eq!(created.len(), 1);
    let payload: RunEvent = created[0].payload_as().unwrap();
    assert_eq!(payload.run.to_string(), run["uuid"].as_str().unwrap());
    quiet(&mut consumer, "run.created is published once", &mine).await;
    stop.cancel();
    relay.await.unwrap();
    let pending = myelin_tracker::store::outbox::pending_count(&t.db).await.unwrap();
    assert_eq!(pending, 0, "every row is marked published");
}

#[tokio::test]
async fn memory_bus_gets_one_run_created() {
    let t = support::spawn(Backend::Sqlite).await;
    exactly_one_run_created(t, "tracker-test.events", "demo").await;
}

#[tokio::test]
async fn rabbitmq_gets_one_run_created() {
    myelin_common::install_crypto_provider();
    let url = std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let settings = AmqpSettings {
        connection_name: format!("tracker-test-{unique}"),
        ..AmqpSettings::default()
    };
    let bus: SharedBus = match AmqpBus::connect(&url, settings).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!("RabbitMQ must be reachable at AMQP_URL ({url}): {e}"),
    };
    let (db, guard) = support::database(Backend::Sqlite).await;
    // Its own status-report queue, so it never takes reports meant for another tracker on this broker.
    let reports_queue = format!("tracker-test.reports.{unique}");
    let settings = Settings {
        status_reports_queue: reports_queue.clone(),
        ..Settings::default()
    };
    let app = App::build(
        settings,
        Deps {
            db: db.clone(),
            bus: bus.clone(),
        },
    )
    .await
    .unwrap();
    let router = myelin_common::http::common_layers(app.router(), &Settings::default().http);
    let t = TestApp::from_parts(app, router, bus.clone(), db, guard);
    // Other tests publish on the shared exchange too: a unique project name tells ours apart.
    exactly_one_run_created(t, &format!("tracker-test.{unique}"), &format!("p{unique}")).await;
    bus.delete_queue(&reports_queue).await.unwrap();
}

/// Two replicas relaying one PostgreSQL outbox (`FOR UPDATE SKIP LOCKED`) publish every row once.
#[tokio::test]
async fn two_replicas_publish_each_row_once() {
    myelin_common::install_crypto_provider();
    let (db, url, _guard) = myelin_common::db::testing::fresh_postgres().await;
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let settings = || Settings {
        outbox: myelin_tracker::config::OutboxSettings {
            poll_interval_ms: 5,
            batch_size: 7,
        },
        ..Settings::default()
    };
    let other_db = myelin_common::db::connect(&url, &Default::default()).await.unwrap();
    let (a, b) = tokio::join!(
        App::build(
            settings(),
            Deps {
                db: db.clone(),
                bus: bus.clone()
            }
        ),
        App::build(
            settings(),
            Deps {
                db: other_db,
                bus: bus.clone()
            }
        ),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut consumer = listen(&bus, "tracker-test.replicas").await;
    let stop = CancellationToken::new();
    let relays = [a.spawn_background(stop.clone()), b.spawn_background(stop.clone())];
    let router = myelin_common::http::common_layers(a.router(), &Settings::default().http);
    let t = TestApp::from_parts(a, router, bus.clone(), db, Box::new(()));
    t.project("demo").await;
    let runs = 60;
    let creates = (0..runs).map(|i| t.run("demo", json!({"name": format!("r{i}"), "is_managed": false})));
    futures::future::join_all(creates).await;
    let got = receive(&mut consumer, |got| got.len() > runs).await;
    let ids: HashSet<_> = got.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), got.len(), "no event published twice");
    assert_eq!(got.iter().filter(|e| e.type_ == RUN_CREATED).count(), runs);
    quiet(&mut consumer, "nothing more", |_| true).await;
    stop.cancel();
    for relay in relays {
        relay.await.unwrap();
    }
    assert_eq!(t.get("/api/v1/default/demo/runs").await.status, StatusCode::OK);
    let _ = b;
}
