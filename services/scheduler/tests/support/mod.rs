//! Test support: scheduler `App`s on a fresh SQLite file or PostgreSQL database with an in-process
//! bus, driven by publishing run events as the tracker would, and watched through the status reports
//! they publish and the Celery tasks they send.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use myelin_celery::{Producer, TaskMessage};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, Consumer, ExchangeKind, OutgoingMessage, QueueSpec, SharedBus};
use myelin_common::db::testing::{fresh_postgres, fresh_sqlite};
use myelin_contracts::events::{EVENTS_EXCHANGE, RUN_CREATED, RUN_STATUS_CHANGED, RUN_STOP_REQUESTED, RunEvent};
use myelin_contracts::execution::{ExecuteRun, RUN_STATUS_REPORTED, RunStatusReport, run_queue};
use myelin_contracts::run::ManagedBy;
use myelin_contracts::{Envelope, RunKind, RunUuid, StatusCondition, Statuses};
use myelin_scheduler::bus::events::BINDINGS;
use myelin_scheduler::{App, Deps, Settings};
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(15);
pub const QUIET: Duration = Duration::from_millis(700);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database of `backend`, its URL, and the guard that keeps it alive.
pub async fn database(backend: Backend) -> (DatabaseConnection, String, Box<dyn Any + Send>) {
    match backend {
        Backend::Sqlite => {
            let (db, dir) = fresh_sqlite().await;
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (db, url, Box::new(dir))
        }
        Backend::Postgres => {
            let (db, url, guard) = fresh_postgres().await;
            (db, url, Box::new(guard))
        }
    }
}

/// Settings with a fast loop, the given limit and the events queue `queue`.
pub fn settings(max_concurrency: u32, queue: &str) -> Settings {
    let mut settings = Settings {
        max_concurrency,
        events_queue: queue.into(),
        artifacts_root: "/data/artifacts".into(),
        ..Settings::default()
    };
    settings.dispatch.interval_ms = 50;
    settings
}

/// A running scheduler `App` and what it runs on.
pub struct Scheduler {
    pub app: App,
    pub stop: CancellationToken,
    pub background: JoinHandle<()>,
}

impl Scheduler {
    /// Builds an `App` on `db` and `bus` and starts its background tasks. Its events queue is
    /// declared and bound first, so no event published afterwards is missed.
    pub async fn start(db: DatabaseConnection, bus: &SharedBus, settings: Settings) -> Self {
        bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
            .await
            .unwrap();
        bus.declare_queue(&QueueSpec::durable(&settings.events_queue))
            .await
            .unwrap();
        for key in BINDINGS {
            bus.bind_queue(&settings.events_queue, EVENTS_EXCHANGE, key)
                .await
                .unwrap();
        }
        let app = App::build(settings, Deps { db, bus: bus.clone() }).await.unwrap();
        let stop = CancellationToken::new();
        let background = app.spawn_background(stop.clone());
        Self { app, stop, background }
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.background).await.unwrap().unwrap();
    }
}

/// One scheduler on one bus, with consumers of its reports and of the default run queue.
pub struct Harness {
    pub bus: SharedBus,
    pub scheduler: Scheduler,
    pub reports: Consumer,
    pub tasks: Consumer,
    pub db: DatabaseConnection,
    _guard: Box<dyn Any + Send>,
}

/// A consumer of every status report published on `bus`.
pub async fn report_consumer(bus: &SharedBus) -> Consumer {
    bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
        .await
        .unwrap();
    bus.declare_queue(&QueueSpec::durable("test.reports")).await.unwrap();
    bus.bind_queue("test.reports", EVENTS_EXCHANGE, RUN_STATUS_REPORTED)
        .await
        .unwrap();
    bus.consume("test.reports", ConsumeOptions { prefetch: 0 })
        .await
        .unwrap()
}

/// A consumer of the Celery queue of run queue `default`, declared as the scheduler declares it.
pub async fn task_consumer(bus: &SharedBus) -> Consumer {
    let queue = run_queue("default");
    Producer::new(bus.clone()).declare_queue(&queue).await.unwrap();
    bus.consume(&queue, ConsumeOptions { prefetch: 0 }).await.unwrap()
}

pub async fn spawn(backend: Backend, max_concurrency: u32) -> Harness {
    myelin_common::install_crypto_provider();
    let (db, _url, guard) = database(backend).await;
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let reports = report_consumer(&bus).await;
    let tasks = task_consumer(&bus).await;
    let scheduler = Scheduler::start(db.clone(), &bus, settings(max_concurrency, "test.scheduler.events")).await;
    Harness {
        bus,
        scheduler,
        reports,
        tasks,
        db,
        _guard: guard,
    }
}

/// A run event as the tracker publishes it.
pub fn event(run: RunUuid, status: Statuses) -> RunEvent {
    RunEvent {
        owner: "default".into(),
        project: "demo".into(),
        run,
        name: Some("job".into()),
        kind: Some(RunKind::Job),
        status,
        previous_status: None,
        is_managed: true,
        managed_by: Some(ManagedBy::Cli),
        attempt: Some(1),
        condition: None,
        content: None,
        change: None,
    }
}

pub async fn publish(bus: &SharedBus, topic: &str, event: &RunEvent) {
    let envelope = Envelope::new(topic, event, Some("test".into())).unwrap();
    let mut message = OutgoingMessage::json(&envelope).unwrap();
    message.properties.message_id = Some(envelope.id.to_string());
    bus.publish(EVENTS_EXCHANGE, topic, message).await.unwrap();
}

/// `run.created` of a new managed run with `content`; returns its uuid.
pub async fn create(bus: &SharedBus, content: &str) -> RunUuid {
    let run = RunUuid::new();
    let mut created = event(run, Statuses::Created);
    created.content = Some(content.to_owned());
    publish(bus, RUN_CREATED, &created).await;
    run
}

/// `run.status.changed` to `status` (from `previous`) of `attempt`.
pub async fn changed(bus: &SharedBus, run: RunUuid, attempt: u32, status: Statuses, previous: Statuses) {
    let mut changed = event(run, status);
    changed.previous_status = Some(previous);
    changed.attempt = Some(attempt);
    changed.condition = Some(StatusCondition::new(status, "Test", "", chrono::Utc::now()));
    publish(bus, RUN_STATUS_CHANGED, &changed).await;
}

/// `run.stop.requested`.
pub async fn stop(bus: &SharedBus, run: RunUuid) {
    publish(bus, RUN_STOP_REQUESTED, &event(run, Statuses::Stopping)).await;
}

/// The next status report (acked).
pub async fn next_report(reports: &mut Consumer) -> RunStatusReport {
    let delivery = match tokio::time::timeout(WAIT, reports.next()).await {
        Ok(Some(Ok(d))) => d,
        other => panic!(
            "no status report within {WAIT:?}: {:?}",
            other.map(|o| o.map(|r| r.map(|_| ())))
        ),
    };
    assert_eq!(delivery.routing_key, RUN_STATUS_REPORTED);
    let envelope: Envelope = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(
        delivery.properties.message_id.as_deref(),
        Some(envelope.id.to_string().as_str())
    );
    delivery.ack().await.unwrap();
    let report: RunStatusReport = envelope.payload_as().unwrap();
    assert_eq!(report.source, "scheduler");
    report
}

/// The (status, attempt) of the next `n` reports about `run` (reports about other runs are skipped).
pub async fn reports_of(reports: &mut Consumer, run: RunUuid, n: usize) -> Vec<(Statuses, u32)> {
    let mut got = Vec::new();
    while got.len() < n {
        let report = next_report(reports).await;
        if report.run == run {
            got.push((report.condition.type_, report.attempt));
        }
    }
    got
}

/// The next Celery task (acked) and its `run` kwarg.
pub async fn next_task(tasks: &mut Consumer) -> (TaskMessage, ExecuteRun) {
    let delivery = match tokio::time::timeout(WAIT, tasks.next()).await {
        Ok(Some(Ok(d))) => d,
        other => panic!("no task within {WAIT:?}: {:?}", other.map(|o| o.map(|r| r.map(|_| ())))),
    };
    let task = TaskMessage::from_delivery(&delivery).unwrap();
    delivery.ack().await.unwrap();
    let run: ExecuteRun = serde_json::from_value(task.kwargs["run"].clone()).unwrap();
    (task, run)
}

/// Asserts no message arrives on `consumer` for [`QUIET`].
pub async fn quiet(consumer: &mut Consumer, what: &str) {
    if let Ok(Some(Ok(d))) = tokio::time::timeout(QUIET, consumer.next()).await {
        panic!(
            "{what}: unexpected message on {}: {}",
            d.routing_key,
            String::from_utf8_lossy(&d.body)
        );
    }
}

/// A job with one required input (`epochs`), given by the operation's params.
pub fn job(extra: &str) -> String {
    format!(
        r#"
version: 1.1
kind: operation
params:
  epochs: {{value: 3}}
component:
  kind: component
  name: train
  inputs:
  - {{name: epochs, type: int}}
  - {{name: msg, type: str, value: hi}}
{extra}
  run:
    kind: job
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo {{{{ msg }}}} {{{{ epochs }}}} $MYELIN_RUN_UUID > {{{{ globals.run_outputs_path }}}}/out"]
      env: [{{name: MODE, value: test}}]
"#
    )
}

/// Polls `check` until it holds, for at most [`WAIT`].
pub async fn wait_for<F, Fut>(check: F, what: &str)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
