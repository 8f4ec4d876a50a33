#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `myelin.execute_run` task end to end over the in-process bus and coordination store: a Celery
//! producer dispatches, the executor's worker runs, reports arrive on `run.status.reported` and the
//! output lands in the run's log stream.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Harness, PATIENCE, assert_dies, pid_of, statuses};
use futures::StreamExt;
use myelin_celery::{TaskMessage, control};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::coord::memory::MemoryCoord;
use myelin_contracts::Statuses::{Failed, Running, Starting, Stopped, Succeeded};
use myelin_contracts::execution::{EXECUTE_RUN_TASK, run_queue};
use myelin_executor::{App, Deps};
use serde_json::{Map, json};

#[tokio::test]
async fn readiness_follows_the_worker() {
    use tower::ServiceExt;
    let status = |app: &App, path: &'static str| {
        let router = app.router();
        async move {
            let request = http::Request::get(path).body(axum::body::Body::empty()).unwrap();
            router.oneshot(request).await.unwrap().status().as_u16()
        }
    };
    let h = Harness::prepare(Arc::new(MemoryBus::new()), Arc::new(MemoryCoord::new())).await;
    let deps = Deps {
        bus: h.bus.clone(),
        coord: h.coord.clone(),
    };
    let app = App::build(h.settings.clone(), deps).await.unwrap();
    assert_eq!(status(&app, "/healthz").await, 200);
    assert_eq!(status(&app, "/readyz").await, 503, "not consuming yet");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = app.spawn_background(shutdown.clone());
    assert_eq!(status(&app, "/readyz").await, 200);
    shutdown.cancel();
    tokio::time::timeout(PATIENCE, worker).await.unwrap().unwrap();
    assert_eq!(status(&app, "/readyz").await, 503, "stopped");
}

async fn harness() -> Harness {
    Harness::start(Arc::new(MemoryBus::new()), Arc::new(MemoryCoord::new())).await
}

#[tokio::test]
async fn a_run_succeeds_with_its_reports_and_logs() {
    let mut h = harness().await;
    let mut run = h.run("echo \"hello $MYELIN_RUN_UUID $FROM_SPEC\"; echo oops >&2; pwd");
    run.attempt = 3;
    let task_id = h.dispatch(&run).await;
    let reports = h.reports_until_done(&run.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Running, Succeeded]);
    for report in &reports {
        assert_eq!(report.attempt, 3);
        assert_eq!(report.source, h.settings.hostname);
        assert_eq!((report.owner.as_str(), report.project.as_str()), ("acme", "demo"));
    }
    assert_eq!(reports[0].condition.reason.as_deref(), Some("ExecutorStarting"));
    assert_eq!(reports[2].condition.message.as_deref(), Some("exited with code 0"));
    assert!(!task_id.is_empty());

    let lines = h.log_lines(&run.run).await;
    let run_dir = h.artifacts.path().join("artifacts").join(run.run.to_string());
    assert!(lines.contains(&("stdout".into(), format!("hello {} yes", run.run))));
    assert!(lines.contains(&("stderr".into(), "oops".into())));
    assert!(
        lines.contains(&("stdout".into(), run_dir.display().to_string())),
        "{lines:?}"
    );
    assert!(run_dir.is_dir());
    h.stop().await;
}

#[tokio::test]
async fn failures_carry_the_exit_code_or_the_os_error() {
    let mut h = harness().await;
    let failing = h.run("echo about to fail; exit 7");
    let mut missing = h.run("");
    missing.process.command = vec!["no-such-program-8d1c".into()];
    missing.process.args = vec![];
    h.dispatch(&failing).await;
    h.dispatch(&missing).await;

    let reports = h.reports_until_done(&failing.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Running, Failed]);
    assert_eq!(reports[2].condition.message.as_deref(), Some("exited with code 7"));
    assert_eq!(reports[2].condition.reason.as_deref(), Some("ExecutorFailed"));

    let reports = h.reports_until_done(&missing.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Failed]);
    let message = reports[1].condition.message.clone().unwrap();
    assert!(message.contains("No such file or directory"), "{message}");
    assert!(message.contains("no-such-program-8d1c"), "{message}");
    let lines = h.log_lines(&missing.run).await;
    assert_eq!(
        lines,
        vec![("stderr".to_owned(), message)],
        "the OS error is in the logs too"
    );
    h.stop().await;
}

#[tokio::test]
async fn the_timeout_kills_the_run() {
    let mut h = harness().await;
    let mut run = h.run("echo started; sleep 60");
    run.timeout_secs = Some(1);
    let started = Instant::now();
    h.dispatch(&run).await;
    let reports = h.reports_until_done(&run.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Running, Failed]);
    let pid = pid_of(&reports[1]);
    let failed = &reports[2].condition;
    assert_eq!(failed.reason.as_deref(), Some("timeout"));
    assert_eq!(
        failed.message.as_deref(),
        Some("timed out after 1s; killed by signal SIGTERM (15)")
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_dies(pid).await;
    assert_eq!(h.log_lines(&run.run).await, vec![("stdout".into(), "started".into())]);
    h.stop().await;
}

#[tokio::test]
async fn a_revoke_with_terminate_stops_the_run() {
    let mut h = harness().await;
    let run = h.run("sleep 100 & sleep 100; wait");
    let task_id = h.dispatch(&run).await;
    assert_eq!(h.next_report(&run.run).await.condition.type_, Starting);
    let running = h.next_report(&run.run).await;
    assert_eq!(running.condition.type_, Running);
    control::revoke(&h.bus, &[task_id], true, "SIGTERM").await.unwrap();
    let stopped = h.next_report(&run.run).await;
    assert_eq!(stopped.condition.type_, Stopped);
    assert_eq!(stopped.condition.reason.as_deref(), Some("revoked"));
    assert_dies(pid_of(&running)).await;
    h.stop().await;
}

#[tokio::test]
async fn one_attempt_runs_once_even_when_delivered_twice() {
    let mut h = harness().await;
    let run = h.run("echo once; sleep 1");
    // Two deliveries of the same attempt at the same time: the second waits for the first's lease,
    // then finds its final record and only republishes it.
    h.dispatch(&run).await;
    h.dispatch(&run).await;
    let mut seen = h.reports_until_done(&run.run).await;
    seen.push(h.next_report(&run.run).await);
    assert_eq!(statuses(&seen), vec![Starting, Running, Succeeded, Succeeded]);
    assert_eq!(seen[2], seen[3], "the very same final report is published again");
    // A later delivery too.
    h.dispatch(&run).await;
    assert_eq!(h.next_report(&run.run).await, seen[2]);
    assert_eq!(h.log_lines(&run.run).await, vec![("stdout".into(), "once".into())]);
    h.stop().await;
}

#[tokio::test]
async fn a_redelivered_task_starts_over() {
    let mut h = Harness::prepare(Arc::new(MemoryBus::new()), Arc::new(MemoryCoord::new())).await;
    let run = h.run("echo run");
    h.dispatch(&run).await;
    // A worker takes the task and dies without acking it.
    {
        let mut consumer = h.bus.consume(&run_queue(&h.queue), Default::default()).await.unwrap();
        let delivery = tokio::time::timeout(PATIENCE, consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(!delivery.redelivered);
    }
    h.start_executor().await;
    let reports = h.reports_until_done(&run.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Running, Succeeded]);
    assert_eq!(reports[0].condition.reason.as_deref(), Some("redelivered"));
    assert_eq!(h.log_lines(&run.run).await, vec![("stdout".into(), "run".into())]);
    h.stop().await;
}

#[tokio::test]
async fn a_hard_stop_kills_the_run_and_hands_the_task_back() {
    let mut h = harness().await;
    let run = h.run("sleep 100");
    h.dispatch(&run).await;
    assert_eq!(h.next_report(&run.run).await.condition.type_, Starting);
    let running = h.next_report(&run.run).await;
    // Shutdown: after `shutdown_grace_secs` (1 s) the worker cancels the task.
    h.stop().await;
    assert_dies(pid_of(&running)).await;
    // No final status was reported, and the task is back in its queue.
    let mut consumer = h.bus.consume(&run_queue(&h.queue), Default::default()).await.unwrap();
    let delivery = tokio::time::timeout(PATIENCE, consumer.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let msg = TaskMessage::from_delivery(&delivery).unwrap();
    assert_eq!(msg.kwargs["run"]["run"], json!(run.run.to_string()));
    let late = tokio::time::timeout(Duration::from_millis(300), h.next_report(&run.run)).await;
    assert!(late.is_err(), "nothing is reported for a run handed back: {late:?}");
}

#[tokio::test]
async fn a_malformed_run_is_rejected_without_reports() {
    let mut h = harness().await;
    let mut kwargs = Map::new();
    kwargs.insert("run".into(), json!({"owner": "acme"}));
    h.send(TaskMessage::new(EXECUTE_RUN_TASK, vec![], kwargs)).await;
    let good = h.run("true");
    h.dispatch(&good).await;
    assert_eq!(
        statuses(&h.reports_until_done(&good.run).await),
        vec![Starting, Running, Succeeded]
    );
    h.stop().await;
    // The malformed task was dropped, not requeued: the queue is empty.
    let mut consumer = h.bus.consume(&run_queue(&h.queue), Default::default()).await.unwrap();
    let left = tokio::time::timeout(Duration::from_millis(300), consumer.next()).await;
    assert!(left.is_err(), "the malformed task must not come back");
}

#[tokio::test]
async fn traceml_event_files_are_collected_while_running_and_at_the_end() {
    use myelin_common::bus::{QueueSpec, SharedBus};
    use myelin_contracts::events::EVENTS_EXCHANGE;
    use myelin_contracts::tracking::{EventKind, RUN_EVENTS_COLLECTED, SeriesCollected};

    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut h = Harness::prepare(bus.clone(), Arc::new(MemoryCoord::new())).await;
    h.settings.collect_interval_ms = 100;
    let queue = common::unique("test.collected");
    let mut spec = QueueSpec::durable(&queue);
    spec.durable = false;
    spec.auto_delete = true;
    bus.declare_queue(&spec).await.unwrap();
    bus.bind_queue(&queue, EVENTS_EXCHANGE, RUN_EVENTS_COLLECTED)
        .await
        .unwrap();
    let mut collected = bus.consume(&queue, Default::default()).await.unwrap();
    h.start_executor().await;

    // Two points, a pause long enough for a periodic pass, then a third point just before exiting.
    let run = h.run(
        "mkdir -p events/metric && printf 'timestamp|step|metric\\n2018-12-11T10:24:57|1|0.5\\n2018-12-11T10:25:57|2|0.25\\n' > events/metric/loss.plx \
         && sleep 0.5 && printf '2018-12-11T10:26:57|3|0.125\\n' >> events/metric/loss.plx",
    );
    h.dispatch(&run).await;
    let reports = h.reports_until_done(&run.run).await;
    assert_eq!(statuses(&reports).last(), Some(&Succeeded));

    let mut seen = Vec::new();
    while seen.last().map(|s: &SeriesCollected| s.points.len()) != Some(3) {
        let delivery = tokio::time::timeout(PATIENCE, collected.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let envelope: myelin_contracts::Envelope = serde_json::from_slice(&delivery.body).unwrap();
        let series: SeriesCollected = envelope.payload_as().unwrap();
        delivery.ack().await.unwrap();
        assert_eq!(
            (series.run, series.kind, series.name.as_str()),
            (run.run, EventKind::Metric, "loss")
        );
        seen.push(series);
    }
    assert!(seen.len() >= 2, "a periodic pass and a final one: {seen:?}");
    assert_eq!(seen[0].points.len(), 2, "the periodic pass saw the first two points");
    let last = seen.last().unwrap();
    assert_eq!(last.points[2].step, Some(3));
    assert_eq!(last.points[2].value, serde_json::json!(0.125));
    h.stop().await;
}
