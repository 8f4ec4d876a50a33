#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The scheduler end to end on the in-process bus: run events in, status reports and Celery tasks
//! out. SQLite for the behaviour, PostgreSQL for two replicas sharing one database.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Body;
use futures::StreamExt;
use http_body_util::BodyExt;
use myelin_celery::control::PIDBOX_EXCHANGE;
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, ExchangeKind, QueueSpec, SharedBus};
use myelin_contracts::events::{RUN_CREATED, RUN_DELETED};
use myelin_contracts::execution::EXECUTE_RUN_TASK;
use myelin_contracts::{RunUuid, Statuses};
use serde_json::{Value, json};
use support::{Backend, Harness, Scheduler, changed, create, next_report, next_task, quiet, reports_of};
use tower::ServiceExt;

use Statuses::*;

async fn queue_stats(h: &Harness) -> Value {
    let request = axum::http::Request::get("/internal/queue").body(Body::empty()).unwrap();
    let response = h.scheduler.app.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn a_created_run_is_compiled_queued_and_dispatched() {
    let mut h = support::spawn(Backend::Sqlite, 50).await;
    let content = support::job("  termination: {maxRetries: 2, timeout: 30}");
    let run = create(&h.bus, &content).await;

    let compiled = next_report(&mut h.reports).await;
    assert_eq!(
        (compiled.run, compiled.attempt, compiled.condition.type_),
        (run, 1, Compiled)
    );
    let operation = compiled.compiled.unwrap();
    assert_eq!(operation["kind"], "compiled_operation");
    assert_eq!(compiled.inputs, Some(json!({"epochs": 3, "msg": "hi"})));
    assert_eq!(reports_of(&mut h.reports, run, 2).await, [(Queued, 1), (Scheduled, 1)]);

    let (task, execute) = next_task(&mut h.tasks).await;
    assert_eq!(task.task, EXECUTE_RUN_TASK);
    assert!(task.args.is_empty());
    assert_eq!(
        (execute.run, execute.attempt, execute.queue.as_str()),
        (run, 1, "default")
    );
    assert_eq!((execute.owner.as_str(), execute.project.as_str()), ("default", "demo"));
    assert_eq!(execute.process.command, ["sh", "-c"]);
    let outputs = format!("/data/artifacts/{run}/outputs");
    assert_eq!(
        execute.process.args,
        [format!("echo hi 3 $MYELIN_RUN_UUID > {outputs}/out")]
    );
    assert_eq!(execute.process.env["MODE"], "test");
    assert_eq!(execute.timeout_secs, Some(30));
    assert_eq!(execute.compiled, operation);
    let stats = queue_stats(&h).await;
    assert_eq!(
        stats,
        json!({"max_concurrency": 50, "pending": 0, "queued": 0, "dispatched": 1, "done": 0})
    );

    // A redelivered run.created (same run, new envelope) changes nothing; unmanaged runs are not ours.
    let mut again = support::event(run, Created);
    again.content = Some(content.clone());
    support::publish(&h.bus, RUN_CREATED, &again).await;
    let mut unmanaged = support::event(RunUuid::new(), Created);
    unmanaged.content = Some(content);
    unmanaged.is_managed = false;
    support::publish(&h.bus, RUN_CREATED, &unmanaged).await;
    quiet(&mut h.tasks, "no second dispatch").await;
    quiet(&mut h.reports, "no report for a duplicate or an unmanaged run").await;

    changed(&h.bus, run, 1, Succeeded, Running).await;
    support::wait_for(|| async { queue_stats(&h).await["done"] == 1 }, "the slot is freed").await;
    h.scheduler.shutdown().await;
}

#[tokio::test]
async fn the_concurrency_limit_holds_and_the_queue_is_fifo() {
    let mut h = support::spawn(Backend::Sqlite, 2).await;
    let mut runs = Vec::new();
    for _ in 0..5 {
        runs.push(create(&h.bus, &support::job("")).await);
    }
    let mut dispatched = Vec::new();
    for _ in 0..2 {
        dispatched.push(next_task(&mut h.tasks).await.1.run);
    }
    assert_eq!(dispatched, runs[..2]);
    quiet(&mut h.tasks, "two slots, two runs").await;
    for i in 0..3 {
        changed(&h.bus, runs[i], 1, Succeeded, Running).await;
        let (_, next) = next_task(&mut h.tasks).await;
        assert_eq!(next.run, runs[i + 2], "one more per freed slot, oldest first");
        quiet(&mut h.tasks, "still two at most").await;
    }
    let stats = queue_stats(&h).await;
    assert_eq!(
        (stats["dispatched"].as_u64(), stats["done"].as_u64()),
        (Some(2), Some(3))
    );
    h.scheduler.shutdown().await;
}

#[tokio::test]
async fn failed_attempts_are_retried_up_to_max_retries() {
    let mut h = support::spawn(Backend::Sqlite, 50).await;
    let run = create(&h.bus, &support::job("  termination: {maxRetries: 1}")).await;
    let (first, execute) = next_task(&mut h.tasks).await;
    assert_eq!(execute.attempt, 1);
    assert_eq!(
        reports_of(&mut h.reports, run, 3).await,
        [(Compiled, 1), (Queued, 1), (Scheduled, 1)]
    );

    changed(&h.bus, run, 1, Failed, Running).await;
    let (second, execute) = next_task(&mut h.tasks).await;
    assert_eq!((execute.run, execute.attempt), (run, 2));
    assert_ne!(second.id, first.id, "a new attempt is a new task");
    assert_eq!(
        reports_of(&mut h.reports, run, 3).await,
        [(Retrying, 1), (Queued, 2), (Scheduled, 2)]
    );

    // A late failure of attempt 1 is ignored; attempt 2 failing is final.
    changed(&h.bus, run, 1, Failed, Running).await;
    changed(&h.bus, run, 2, Failed, Running).await;
    quiet(&mut h.tasks, "maxRetries 1: two attempts in all").await;
    quiet(&mut h.reports, "no retry after the last attempt").await;
    assert_eq!(queue_stats(&h).await["done"], 1);

    // A failure while stopping is not retried either.
    let other = create(&h.bus, &support::job("  termination: {maxRetries: 3}")).await;
    next_task(&mut h.tasks).await;
    changed(&h.bus, other, 1, Failed, Stopping).await;
    quiet(&mut h.tasks, "a run being stopped is not retried").await;
    h.scheduler.shutdown().await;
}

#[tokio::test]
async fn a_stop_before_dispatch_reports_stopped() {
    let mut h = support::spawn(Backend::Sqlite, 1).await;
    let first = create(&h.bus, &support::job("")).await;
    let waiting = create(&h.bus, &support::job("")).await;
    assert_eq!(next_task(&mut h.tasks).await.1.run, first);
    assert_eq!(
        reports_of(&mut h.reports, waiting, 2).await,
        [(Compiled, 1), (Queued, 1)]
    );
    support::stop(&h.bus, waiting).await;
    assert_eq!(reports_of(&mut h.reports, waiting, 1).await, [(Stopped, 1)]);
    changed(&h.bus, first, 1, Succeeded, Running).await;
    quiet(&mut h.tasks, "a stopped run is never dispatched").await;
    let stats = queue_stats(&h).await;
    assert_eq!((stats["queued"].as_u64(), stats["done"].as_u64()), (Some(0), Some(2)));
    h.scheduler.shutdown().await;
}

#[tokio::test]
async fn deleted_runs_and_runs_stopped_between_attempts_are_never_dispatched() {
    let mut h = support::spawn(Backend::Sqlite, 1).await;
    let first = create(&h.bus, &support::job("  termination: {maxRetries: 1}")).await;
    let blocker = create(&h.bus, &support::job("")).await;
    let deleted = create(&h.bus, &support::job("")).await;
    assert_eq!(next_task(&mut h.tasks).await.1.run, first);
    assert_eq!(
        reports_of(&mut h.reports, deleted, 2).await,
        [(Compiled, 1), (Queued, 1)]
    );
    // The first run fails and is retried behind the others; the blocker takes the slot.
    changed(&h.bus, first, 1, Failed, Running).await;
    assert_eq!(reports_of(&mut h.reports, first, 2).await, [(Retrying, 1), (Queued, 2)]);
    assert_eq!(next_task(&mut h.tasks).await.1.run, blocker);
    // One run is deleted; the user stops the other while the tracker still shows attempt 1 retrying.
    support::publish(&h.bus, RUN_DELETED, &support::event(deleted, Created)).await;
    changed(&h.bus, first, 1, Stopped, Retrying).await;
    support::wait_for(
        || async { queue_stats(&h).await["queued"] == 0 },
        "both leave the queue",
    )
    .await;
    changed(&h.bus, blocker, 1, Succeeded, Running).await;
    quiet(&mut h.tasks, "neither the deleted nor the stopped run is dispatched").await;
    assert_eq!(queue_stats(&h).await["done"], 3);
    h.scheduler.shutdown().await;
}

#[tokio::test]
async fn a_stop_after_dispatch_revokes_the_task() {
    let mut h = support::spawn(Backend::Sqlite, 50).await;
    h.bus
        .declare_exchange(PIDBOX_EXCHANGE, ExchangeKind::Fanout)
        .await
        .unwrap();
    h.bus.declare_queue(&QueueSpec::durable("test.pidbox")).await.unwrap();
    h.bus.bind_queue("test.pidbox", PIDBOX_EXCHANGE, "").await.unwrap();
    let mut pidbox = h.bus.consume("test.pidbox", ConsumeOptions::default()).await.unwrap();

    let run = create(&h.bus, &support::job("  termination: {maxRetries: 2}")).await;
    let (task, _) = next_task(&mut h.tasks).await;
    support::stop(&h.bus, run).await;
    let delivery = tokio::time::timeout(support::WAIT, pidbox.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let command: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(command["method"], "revoke");
    assert_eq!(
        command["arguments"],
        json!({"task_id": [task.id], "terminate": true, "signal": "SIGTERM"})
    );
    // The executor reports the kill as a failure: it is not retried once a stop was requested.
    changed(&h.bus, run, 1, Failed, Running).await;
    quiet(&mut h.tasks, "no retry of a stopped run").await;
    assert_eq!(queue_stats(&h).await["done"], 1);
    h.scheduler.shutdown().await;
}

#[tokio::test]
async fn a_compile_error_fails_the_run_with_scheduler_prepare() {
    let mut h = support::spawn(Backend::Sqlite, 50).await;
    let missing = support::job("").replace("params:\n  epochs: {value: 3}\n", "");
    let run = create(&h.bus, &missing).await;
    let report = next_report(&mut h.reports).await;
    assert_eq!((report.run, report.attempt, report.condition.type_), (run, 1, Failed));
    assert_eq!(report.condition.reason.as_deref(), Some("SchedulerPrepare"));
    let message = report.condition.message.unwrap();
    assert!(message.contains("`epochs`"), "the message names the input: {message}");

    let service = "kind: component\nrun: {kind: service, container: {image: x, command: [a]}}\n";
    let run = create(&h.bus, service).await;
    let report = next_report(&mut h.reports).await;
    assert_eq!((report.run, report.condition.type_), (run, Failed));
    quiet(&mut h.tasks, "nothing is dispatched").await;
    let stats = queue_stats(&h).await;
    assert_eq!(
        stats["pending"].as_u64().unwrap() + stats["queued"].as_u64().unwrap(),
        0
    );
    h.scheduler.shutdown().await;
}

/// Two replicas on one PostgreSQL database, each receiving every event (their own queues), with a
/// limit of 7: 20 runs are each dispatched exactly once, never more than 7 at a time.
#[tokio::test]
async fn two_replicas_never_double_dispatch() {
    myelin_common::install_crypto_provider();
    let (db, url, _guard) = support::database(Backend::Postgres).await;
    let other = myelin_common::db::connect(&url, &Default::default()).await.unwrap();
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut tasks = support::task_consumer(&bus).await;
    let a = Scheduler::start(db, &bus, support::settings(7, "test.replica-a")).await;
    let b = Scheduler::start(other, &bus, support::settings(7, "test.replica-b")).await;
    let mut runs = HashSet::new();
    for _ in 0..20 {
        runs.insert(create(&bus, &support::job("")).await);
    }
    let mut dispatches: HashMap<RunUuid, u32> = HashMap::new();
    let mut task_ids = HashSet::new();
    while dispatches.len() < runs.len() {
        let mut outstanding = Vec::new();
        loop {
            let next = tokio::time::timeout(support::QUIET, tasks.next()).await;
            let Ok(Some(Ok(delivery))) = next else { break };
            let task = myelin_celery::TaskMessage::from_delivery(&delivery).unwrap();
            delivery.ack().await.unwrap();
            let execute: myelin_contracts::execution::ExecuteRun =
                serde_json::from_value(task.kwargs["run"].clone()).unwrap();
            assert!(task_ids.insert(task.id), "a task id was sent twice");
            *dispatches.entry(execute.run).or_default() += 1;
            outstanding.push(execute.run);
        }
        assert!(
            !outstanding.is_empty(),
            "no progress: {} of 20 dispatched",
            dispatches.len()
        );
        assert!(
            outstanding.len() <= 7,
            "{} runs dispatched at once over a limit of 7",
            outstanding.len()
        );
        for run in outstanding {
            changed(&bus, run, 1, Succeeded, Running).await;
        }
    }
    assert_eq!(dispatches.keys().copied().collect::<HashSet<_>>(), runs);
    assert!(
        dispatches.values().all(|n| *n == 1),
        "a run was dispatched twice: {dispatches:?}"
    );
    assert_eq!(task_ids.len(), 20);
    a.shutdown().await;
    b.shutdown().await;
}
