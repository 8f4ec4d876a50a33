#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Status reports (`run.status.reported`) published on the bus reach the tracker's consumer and are
//! applied through the lifecycle rules, on SQLite and PostgreSQL: the scheduler/executor path, the
//! compiled operation and inputs stored, outputs merged, duplicates harmless, older attempts and
//! late reports ignored, done final, poison messages dropped without blocking the queue, and one
//! `run.status.changed` (with the attempt) per change.

mod support;

use std::time::Duration;

use myelin_common::bus::{ExchangeKind, OutgoingMessage, QueueSpec, SharedBus};
use myelin_contracts::events::{EVENTS_EXCHANGE, RUN_STATUS_CHANGED, RunEvent};
use myelin_contracts::execution::{RUN_STATUS_REPORTED, RunStatusReport, TRACKER_STATUS_QUEUE};
use myelin_contracts::{Envelope, RunUuid, StatusCondition, Statuses};
use serde_json::{Value, json};
use support::{Backend, TestApp};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);

/// Binds the report queue as the consumer will (so nothing published before it starts is lost).
async fn bind(bus: &SharedBus) {
    bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
        .await
        .unwrap();
    bus.declare_queue(&QueueSpec::durable(TRACKER_STATUS_QUEUE))
        .await
        .unwrap();
    bus.bind_queue(TRACKER_STATUS_QUEUE, EVENTS_EXCHANGE, RUN_STATUS_REPORTED)
        .await
        .unwrap();
}

async fn publish(bus: &SharedBus, report: &RunStatusReport) {
    let envelope = Envelope::new(RUN_STATUS_REPORTED, report, Some("test".into())).unwrap();
    let message = OutgoingMessage::json(&envelope).unwrap();
    bus.publish(EVENTS_EXCHANGE, RUN_STATUS_REPORTED, message)
        .await
        .unwrap();
}

fn report(run: &str, attempt: u32, status: Statuses) -> RunStatusReport {
    RunStatusReport {
        owner: "default".into(),
        project: "demo".into(),
        run: run.parse::<RunUuid>().unwrap(),
        attempt,
        condition: StatusCondition::new(
            status,
            "Test",
            format!("{status} of attempt {attempt}"),
            chrono::Utc::now(),
        ),
        compiled: None,
        inputs: None,
        outputs: None,
        source: "test".into(),
    }
}

async fn send(t: &TestApp, run: &str, attempt: u32, status: Statuses) {
    publish(&t.bus, &report(run, attempt, status)).await;
}

/// Polls the run until `check` holds.
async fn wait_for(t: &TestApp, run: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body = t.get(&format!("/api/v1/default/demo/runs/{run}")).await.body;
        if check(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {WAIT:?}; run is {}",
            body["status"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_status(t: &TestApp, run: &str, status: &str) -> Value {
    wait_for(t, run, &format!("status {status}"), |b| b["status"] == status).await
}

/// Condition types of the run, oldest first.
async fn timeline(t: &TestApp, run: &str) -> Vec<String> {
    let body = t.get(&format!("/api/v1/default/demo/runs/{run}/statuses")).await.body;
    body["status_conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_owned())
        .collect()
}

/// A report to another run, waited for: every report published before it has been handled.
async fn sentinel(t: &TestApp, other: &str, status: Statuses) {
    send(t, other, 1, status).await;
    wait_status(t, other, status.as_str()).await;
}

async fn reports_follow_the_lifecycle(t: TestApp) {
    bind(&t.bus).await;
    let stop = CancellationToken::new();
    let background = t.app.spawn_background(stop.clone());
    t.project("demo").await;
    let run = t.run("demo", support::cli_run()).await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = t.run("demo", support::cli_run()).await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    // compiled: the compiled operation goes to `content`, the submitted file stays in `raw_content`.
    let compiled = json!({"version": 1.1, "kind": "compiled_operation", "run": {"kind": "job"}});
    let mut first = report(&run, 1, Statuses::Compiled);
    first.compiled = Some(compiled.clone());
    first.inputs = Some(json!({"msg": "override"}));
    publish(&t.bus, &first).await;
    publish(&t.bus, &first).await; // a duplicate
    let body = wait_status(&t, &run, "compiled").await;
    assert_eq!(
        serde_json::from_str::<Value>(body["content"].as_str().unwrap()).unwrap(),
        compiled
    );
    assert_eq!(body["raw_content"], support::CLI_CONTENT);
    assert_eq!(body["inputs"], json!({"msg": "override"}));
    let restart = t
        .post(&format!("/api/v1/default/demo/runs/{run}/restart"), json!({}))
        .await;
    assert_eq!(
        (&restart.body["content"], &restart.body["raw_content"]),
        (&json!(support::CLI_CONTENT), &json!(support::CLI_CONTENT)),
        "a restart starts again from the submitted file, not the compiled operation"
    );

    // The path to running, with duplicates and late reports mixed in.
    for status in [
        Statuses::Queued,
        Statuses::Queued,
        Statuses::Scheduled,
        Statuses::Compiled,
    ] {
        send(&t, &run, 1, status).await;
    }
    for status in [
        Statuses::Starting,
        Statuses::Running,
        Statuses::Starting,
        Statuses::Running,
    ] {
        send(&t, &run, 1, status).await;
    }
    wait_status(&t, &run, "running").await;
    sentinel(&t, &other, Statuses::Compiled).await;
    assert_eq!(
        timeline(&t, &run).await,
        ["created", "compiled", "queued", "scheduled", "starting", "running"]
    );

    // Attempt 1 fails and is retried; its late reports are ignored once attempt 2 runs.
    send(&t, &run, 1, Statuses::Failed).await;
    let failed = wait_status(&t, &run, "failed").await;
    assert!(failed["finished_at"].is_string());
    send(&t, &run, 1, Statuses::Retrying).await;
    send(&t, &run, 1, Statuses::Failed).await; // late duplicate of the failure: refused while retrying
    send(&t, &run, 2, Statuses::Queued).await;
    let queued = wait_status(&t, &run, "queued").await;
    assert!(queued["finished_at"].is_null(), "a new attempt clears the finish");
    send(&t, &run, 1, Statuses::Running).await; // older attempt
    send(&t, &run, 2, Statuses::Scheduled).await;
    wait_status(&t, &run, "scheduled").await;
    sentinel(&t, &other, Statuses::Queued).await;
    assert_eq!(
        timeline(&t, &run).await[6..],
        ["failed", "retrying", "queued", "scheduled"],
        "the older attempt's report changed nothing"
    );

    // Attempt 2 succeeds with outputs, merged into the run's.
    send(&t, &run, 2, Statuses::Running).await;
    let mut done = report(&run, 2, Statuses::Succeeded);
    done.outputs = Some(json!({"loss": 0.25}));
    publish(&t.bus, &done).await;
    let mut more = report(&run, 2, Statuses::Succeeded);
    more.outputs = Some(json!({"accuracy": 0.9}));
    publish(&t.bus, &more).await; // a repeat of the last condition still merges its outputs
    wait_for(&t, &run, "outputs merged", |b| {
        b["status"] == "succeeded" && b["outputs"] == json!({"loss": 0.25, "accuracy": 0.9})
    })
    .await;

    // Done is final; a poison message is dropped and does not block what follows.
    send(&t, &run, 2, Statuses::Running).await;
    send(&t, &run, 3, Statuses::Queued).await;
    t.bus
        .publish(EVENTS_EXCHANGE, RUN_STATUS_REPORTED, OutgoingMessage::new("{not json"))
        .await
        .unwrap();
    let wrong = Envelope::new(RUN_STATUS_REPORTED, &json!({"run": 42}), None).unwrap();
    t.bus
        .publish(
            EVENTS_EXCHANGE,
            RUN_STATUS_REPORTED,
            OutgoingMessage::json(&wrong).unwrap(),
        )
        .await
        .unwrap();
    let mut gone = report(&run, 1, Statuses::Running);
    gone.run = RunUuid::new();
    publish(&t.bus, &gone).await; // a run that does not exist
    sentinel(&t, &other, Statuses::Scheduled).await;
    let body = t.get(&format!("/api/v1/default/demo/runs/{run}")).await.body;
    assert_eq!(body["status"], "succeeded");

    // One run.status.changed per change, carrying the attempt it belongs to.
    let changes: Vec<RunEvent> = t
        .outbox_of(RUN_STATUS_CHANGED)
        .await
        .into_iter()
        .map(|e| serde_json::from_value::<Envelope>(e).unwrap().payload_as().unwrap())
        .filter(|e: &RunEvent| e.run.to_string() == run)
        .collect();
    let seen: Vec<(Statuses, Option<u32>)> = changes.iter().map(|e| (e.status, e.attempt)).collect();
    use Statuses::*;
    assert_eq!(
        seen,
        [
            (Compiled, Some(1)),
            (Queued, Some(1)),
            (Scheduled, Some(1)),
            (Starting, Some(1)),
            (Running, Some(1)),
            (Failed, Some(1)),
            (Retrying, Some(1)),
            (Queued, Some(2)),
            (Scheduled, Some(2)),
            (Running, Some(2)),
            (Succeeded, Some(2)),
        ]
    );
    assert_eq!(changes[7].previous_status, Some(Retrying));

    stop.cancel();
    tokio::time::timeout(WAIT, background).await.unwrap().unwrap();
}

#[tokio::test]
async fn reports_follow_the_lifecycle_on_sqlite() {
    reports_follow_the_lifecycle(support::spawn(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn reports_follow_the_lifecycle_on_postgres() {
    reports_follow_the_lifecycle(support::spawn(Backend::Postgres).await).await;
}
