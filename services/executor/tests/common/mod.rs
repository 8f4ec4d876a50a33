//! Test harness: an executor `App` on a given bus and coordination store, a Celery producer to
//! dispatch `myelin.execute_run` tasks, and a queue bound to `run.status.reported` to read reports.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use myelin_celery::{Producer, TaskMessage};
use myelin_common::bus::{Consumer, ExchangeKind, QueueSpec, SharedBus};
use myelin_common::coord::SharedCoord;
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::execution::{
    EXECUTE_RUN_TASK, ExecuteRun, JobProcess, RUN_STATUS_REPORTED, RunStatusReport, log_stream, run_queue,
};
use myelin_contracts::{Envelope, RunUuid, Statuses};
use myelin_executor::{App, Deps, Settings};
use serde_json::{Map, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long any single expectation may take.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Harness {
    pub bus: SharedBus,
    pub coord: SharedCoord,
    pub settings: Settings,
    pub queue: String,
    pub reports_queue: String,
    pub reports: Consumer,
    /// Reports received while waiting for another run's, in order.
    pub pending: Vec<RunStatusReport>,
    pub producer: Producer,
    pub shutdown: CancellationToken,
    pub worker: Option<JoinHandle<()>>,
    pub artifacts: tempfile::TempDir,
}

/// Unique-per-test names.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Settings for a test executor consuming `queue`, with short leases and grace periods.
pub fn settings(queue: &str, artifacts: &Path) -> Settings {
    Settings {
        queues: vec![queue.to_owned()],
        artifacts_root: artifacts.join("artifacts"),
        hostname: unique("executor@test"),
        concurrency: 4,
        prefetch: 4,
        kill_grace_secs: 2,
        lease_secs: 2,
        shutdown_grace_secs: 1,
        public_host: "http://127.0.0.1:9".into(),
        ..Settings::default()
    }
}

impl Harness {
    /// Prepares the bus side (reports queue) without starting an executor.
    pub async fn prepare(bus: SharedBus, coord: SharedCoord) -> Harness {
        let artifacts = tempfile::tempdir().unwrap();
        let queue = unique("test-runs");
        let reports_queue = unique("test.executor.reports");
        bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
            .await
            .unwrap();
        let mut spec = QueueSpec::durable(&reports_queue);
        spec.durable = false;
        spec.auto_delete = true;
        bus.declare_queue(&spec).await.unwrap();
        bus.bind_queue(&reports_queue, EVENTS_EXCHANGE, RUN_STATUS_REPORTED)
            .await
            .unwrap();
        let reports = bus.consume(&reports_queue, Default::default()).await.unwrap();
        let producer = Producer::new(bus.clone());
        producer.declare_queue(&run_queue(&queue)).await.unwrap();
        Harness {
            settings: settings(&queue, artifacts.path()),
            bus,
            coord,
            queue,
            reports_queue,
            reports,
            pending: Vec::new(),
            producer,
            shutdown: CancellationToken::new(),
            worker: None,
            artifacts,
        }
    }

    /// Prepares and starts an executor.
    pub async fn start(bus: SharedBus, coord: SharedCoord) -> Harness {
        let mut harness = Harness::prepare(bus, coord).await;
        harness.start_executor().await;
        harness
    }

    /// Builds an `App` with the harness settings and runs its worker.
    pub async fn start_executor(&mut self) {
        let deps = Deps {
            bus: self.bus.clone(),
            coord: self.coord.clone(),
        };
        let app = App::build(self.settings.clone(), deps).await.unwrap();
        self.worker = Some(app.spawn_background(self.shutdown.clone()));
    }

    /// An `ExecuteRun` of `sh -c <script>` on the harness queue.
    pub fn run(&self, script: &str) -> ExecuteRun {
        ExecuteRun {
            owner: "acme".into(),
            project: "demo".into(),
            run: RunUuid::new(),
            name: Some("test".into()),
            attempt: 1,
            queue: self.queue.clone(),
            process: JobProcess {
                image: None,
                command: vec!["sh".into(), "-c".into()],
                args: vec![script.into()],
                env: BTreeMap::from([("FROM_SPEC".into(), "yes".into())]),
                working_dir: None,
            },
            timeout_secs: None,
            compiled: json!({"kind": "operation"}),
        }
    }

    /// Publishes an `execute_run` task for `run`; returns the task id.
    pub async fn dispatch(&self, run: &ExecuteRun) -> String {
        let mut kwargs = Map::new();
        kwargs.insert("run".into(), serde_json::to_value(run).unwrap());
        self.send(TaskMessage::new(EXECUTE_RUN_TASK, vec![], kwargs)).await
    }

    /// Publishes a raw task message on the harness queue; returns its id.
    pub async fn send(&self, msg: TaskMessage) -> String {
        self.producer.send(&run_queue(&self.queue), &msg).await.unwrap();
        msg.id
    }

    /// The next status report of `run` (reports of other runs are kept for later).
    pub async fn next_report(&mut self, run: &RunUuid) -> RunStatusReport {
        if let Some(i) = self.pending.iter().position(|r| &r.run == run) {
            return self.pending.remove(i);
        }
        loop {
            let delivery = tokio::time::timeout(PATIENCE, self.reports.next())
                .await
                .expect("no status report in time")
                .expect("the reports consumer ended")
                .unwrap();
            let envelope: Envelope = serde_json::from_slice(&delivery.body).unwrap();
            assert_eq!(envelope.type_, RUN_STATUS_REPORTED);
            assert_eq!(
                delivery.properties.message_id.as_deref(),
                Some(envelope.id.to_string().as_str())
            );
            delivery.ack().await.unwrap();
            let report: RunStatusReport = envelope.payload_as().unwrap();
            if &report.run == run {
                return report;
            }
            self.pending.push(report);
        }
    }

    /// Reports of `run` up to and including the first done status.
    pub async fn reports_until_done(&mut self, run: &RunUuid) -> Vec<RunStatusReport> {
        let mut reports = Vec::new();
        loop {
            let report = self.next_report(run).await;
            let done = report.condition.type_.is_done();
            reports.push(report);
            if done {
                return reports;
            }
        }
    }

    /// `(stream, line)` of every entry in the run's log stream; checks every `ts` is RFC 3339.
    pub async fn log_lines(&self, run: &RunUuid) -> Vec<(String, String)> {
        let entries = self.coord.xread(&log_stream(run), "0", 100_000, None).await.unwrap();
        entries
            .into_iter()
            .map(|entry| {
                let field = |name: &str| {
                    let value = entry.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                    String::from_utf8(value.unwrap_or_else(|| panic!("entry without `{name}`")).to_vec()).unwrap()
                };
                chrono::DateTime::parse_from_rfc3339(&field("ts")).unwrap();
                (field("stream"), field("line"))
            })
            .collect()
    }

    /// Stops the executor and waits for its worker to return.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(worker) = self.worker.take() {
            tokio::time::timeout(PATIENCE, worker).await.unwrap().unwrap();
        }
    }
}

/// The statuses of `reports`, in order.
pub fn statuses(reports: &[RunStatusReport]) -> Vec<Statuses> {
    reports.iter().map(|r| r.condition.type_).collect()
}

/// The pid in a `running` report's message (`process <pid> on <host>`).
pub fn pid_of(report: &RunStatusReport) -> i32 {
    let message = report.condition.message.as_deref().unwrap();
    message.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Waits until `pid` no longer runs (gone, or a zombie).
pub async fn assert_dies(pid: i32) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
            .unwrap_or(false);
        if !alive {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "process {pid} survived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
