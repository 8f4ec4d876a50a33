#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The executor on real RabbitMQ (`AMQP_URL`) and Redis (`REDIS_URL`): runs, log streams, revoke,
//! and a task redelivered after its worker died. A missing server fails these tests.

mod common;

use std::sync::Arc;

use common::{Harness, assert_dies, pid_of, statuses, unique};
use myelin_celery::control;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::coord::redis::{RedisCoord, RedisSettings};
use myelin_contracts::Statuses::{Failed, Running, Starting, Stopped, Succeeded};
use myelin_contracts::execution::{log_stream, run_queue};

async fn harness() -> Harness {
    myelin_common::install_crypto_provider();
    let amqp = std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let bus = AmqpBus::connect(&amqp, AmqpSettings::default())
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ at {amqp} is required: {e}"));
    let settings = RedisSettings {
        key_prefix: format!("{}:", unique("test-executor")),
        ..RedisSettings::default()
    };
    let coord = RedisCoord::connect(&redis, &settings)
        .await
        .unwrap_or_else(|e| panic!("Redis at {redis} is required: {e}"));
    Harness::prepare(Arc::new(bus), Arc::new(coord)).await
}

async fn cleanup(h: &mut Harness, runs: &[&myelin_contracts::RunUuid]) {
    h.stop().await;
    for run in runs {
        h.coord.delete(&log_stream(run)).await.unwrap();
    }
    h.bus.delete_queue(&run_queue(&h.queue)).await.unwrap();
    h.bus.delete_exchange(&run_queue(&h.queue)).await.unwrap();
    h.bus.delete_queue(&h.reports_queue).await.unwrap();
}

#[tokio::test]
async fn runs_report_and_stream_logs_on_rabbitmq_and_redis() {
    let mut h = harness().await;
    h.start_executor().await;
    let ok = h.run("for i in 1 2 3; do echo line$i; done; echo $MYELIN_RUN_UUID >&2");
    let failing = h.run("exit 2");
    let endless = h.run("sleep 100");
    h.dispatch(&ok).await;
    h.dispatch(&failing).await;
    let endless_task = h.dispatch(&endless).await;

    assert_eq!(
        statuses(&h.reports_until_done(&ok.run).await),
        vec![Starting, Running, Succeeded]
    );
    let lines = h.log_lines(&ok.run).await;
    let stdout: Vec<_> = lines
        .iter()
        .filter(|(s, _)| s == "stdout")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(stdout, vec!["line1", "line2", "line3"]);
    assert!(lines.contains(&("stderr".into(), ok.run.to_string())));

    let reports = h.reports_until_done(&failing.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Running, Failed]);
    assert_eq!(reports[2].condition.message.as_deref(), Some("exited with code 2"));

    assert_eq!(h.next_report(&endless.run).await.condition.type_, Starting);
    let running = h.next_report(&endless.run).await;
    assert_eq!(running.condition.type_, Running);
    control::revoke(&h.bus, &[endless_task], true, "SIGTERM").await.unwrap();
    assert_eq!(h.next_report(&endless.run).await.condition.type_, Stopped);
    assert_dies(pid_of(&running)).await;
    cleanup(&mut h, &[&ok.run, &failing.run, &endless.run]).await;
}

#[tokio::test]
async fn the_task_of_a_dead_worker_is_redelivered_and_runs_again() {
    let mut h = harness().await;
    h.start_executor().await;
    let run = h.run("echo go; sleep 2");
    h.dispatch(&run).await;
    assert_eq!(h.next_report(&run.run).await.condition.type_, Starting);
    let running = h.next_report(&run.run).await;
    assert_eq!(running.condition.type_, Running);
    // Let the first execution's line reach the stream before the worker dies, so the count below
    // says how many times the command ran (not how fast the dying worker shipped its output).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.log_lines(&run.run).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first execution's line never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The worker dies (its future is dropped: no report, no ack; its workload is killed).
    h.worker.take().unwrap().abort();
    assert_dies(pid_of(&running)).await;
    // Another executor gets the task again, waits for the dead one's lease, and starts over.
    h.settings.hostname = unique("executor@second");
    h.start_executor().await;
    let reports = h.reports_until_done(&run.run).await;
    assert_eq!(statuses(&reports), vec![Starting, Running, Succeeded]);
    assert_eq!(reports[0].condition.reason.as_deref(), Some("redelivered"));
    assert_eq!(reports[2].source, h.settings.hostname);
    let lines = h.log_lines(&run.run).await;
    assert_eq!(
        lines,
        vec![("stdout".to_owned(), "go".to_owned()); 2],
        "one line per execution"
    );
    cleanup(&mut h, &[&run.run]).await;
}
