//! The Celery task `myelin.execute_run`: runs one attempt of a run and reports its statuses.
//!
//! 1. Decode `kwargs["run"]` as [`ExecuteRun`] (a bad message is rejected without requeue).
//! 2. If the attempt has a final record, republish it and stop there; otherwise take its lease,
//!    waiting while another live executor holds it (see [`crate::lease`]).
//! 3. Report `starting` (reason `redelivered` when a previous worker was lost holding the task: the
//!    attempt starts over from the beginning), prepare the directory, start the workload, report
//!    `running`, ship every output line to the run's log stream, and collect the traceml event files
//!    it writes ([`crate::collector`]).
//! 4. Race the workload's exit, `timeout_secs` and the task's cancellation. A timeout or a revoke
//!    kills the process group (SIGTERM, SIGKILL after the grace period).
//! 5. Wait for the last lines to be shipped, record and publish the final status: `succeeded` (exit 0),
//!    `failed` (exit code, signal, start error — also written to the log — or reason `timeout`) or
//!    `stopped` (revoked). The message is acked after that (late ack, by the worker).
//!
//! A cancellation caused by the worker's own hard stop is not a stop of the run: the workload is
//! killed, nothing is reported and the task is requeued, to start over elsewhere.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use myelin_celery::{Task, TaskContext, TaskMessage, TaskOutcome};
use myelin_common::coord::SharedCoord;
use myelin_contracts::execution::{ExecuteRun, RunStatusReport};
use myelin_contracts::{StatusCondition, Statuses};
use serde::Deserialize as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::collector::Collector;
use crate::launch;
use crate::lease::Leases;
use crate::logship::Shipper;
use crate::report::{Reporter, reason};
use crate::runtime::{LogLine, Runtime, Stream, Workload};

/// Longest wait for the last output lines once the workload ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the task needs; shared by every execution.
pub struct ExecuteRunTask {
    pub runtime: Arc<dyn Runtime>,
    pub reporter: Reporter,
    pub coord: SharedCoord,
    pub leases: Leases,
    pub launch: launch::Context,
    pub hostname: String,
    pub kill_grace: Duration,
    pub log_stream_max_len: usize,
    /// Publishes the tracking events the workload writes.
    pub collector: Collector,
    /// The worker's shutdown: a cancellation seen while it is cancelled is a hard stop, not a revoke.
    pub shutdown: CancellationToken,
}

/// How the race of step 4 ended.
enum Race {
    Exited,
    TimedOut(u64),
    Cancelled,
}

#[async_trait]
impl Task for ExecuteRunTask {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        let run = match msg.kwargs.get("run").map(ExecuteRun::deserialize) {
            Some(Ok(run)) => run,
            Some(Err(err)) => {
                tracing::error!(task_id = %ctx.task_id, error = %err, "invalid `run` in an execute_run task; rejecting it");
                return TaskOutcome::Reject { requeue: false };
            }
            None => {
                tracing::error!(task_id = %ctx.task_id, "execute_run task without a `run` kwarg; rejecting it");
                return TaskOutcome::Reject { requeue: false };
            }
        };
        let span = tracing::info_span!("execute_run", run = %run.run, attempt = run.attempt, task_id = %ctx.task_id);
        self.execute(ctx, run).instrument(span).await
    }
}

impl ExecuteRunTask {
    async fn execute(&self, ctx: TaskContext, run: ExecuteRun) -> TaskOutcome {
        let holder = format!("{}/{}/{}", self.hostname, ctx.task_id, uuid::Uuid::new_v4().simple());
        if let Some(outcome) = self.claim(&ctx, &run, &holder).await {
            return outcome;
        }
        let keep_alive = AbortOnDrop(self.leases.keep_alive(run.run, run.attempt, holder.clone()));
        let outcome = match self.attempt(&ctx, &run).await {
            Some(report) => self.finish(&ctx, report).await,
            None => {
                tracing::info!("worker stopping: the workload was killed and the task goes back to the queue");
                TaskOutcome::Reject { requeue: true }
            }
        };
        drop(keep_alive);
        self.leases.release(&run.run, run.attempt, &holder).await;
        outcome
    }

    /// Step 2. `Some(outcome)` when the task is settled without running.
    async fn claim(&self, ctx: &TaskContext, run: &ExecuteRun, holder: &str) -> Option<TaskOutcome> {
        let mut waiting = false;
        loop {
            if let Some(report) = self.leases.final_report(&run.run, run.attempt).await {
                tracing::info!(status = %report.condition.type_, "attempt already finished; republishing its final status");
                return Some(self.finish(ctx, report).await);
            }
            match self.leases.acquire(&run.run, run.attempt, holder).await {
                Ok(true) => return None,
                Ok(false) if !waiting => {
                    tracing::info!(
                        redelivered = ctx.redelivered,
                        "another executor holds this attempt; waiting for its lease"
                    );
                    waiting = true;
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "cannot take the run's lease; running without it");
                    return None;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.leases.poll_interval()) => {}
                () = ctx.cancel.cancelled() => {
                    if self.shutdown.is_cancelled() {
                        return Some(TaskOutcome::Reject { requeue: true });
                    }
                    let report = self.condition(run, Statuses::Stopped, reason::STOPPED, "stopped before it started here");
                    return Some(self.finish(ctx, report).await);
                }
            }
        }
    }

    /// Step 3–5 up to the final report; `None` on a hard stop of the worker.
    async fn attempt(&self, ctx: &TaskContext, run: &ExecuteRun) -> Option<RunStatusReport> {
        let (starting_reason, starting_message) = if ctx.redelivered {
            tracing::warn!("task redelivered: the worker that held it was lost; starting the attempt over");
            (
                reason::REDELIVERED,
                format!("the worker holding it was lost; starting over on {}", self.hostname),
            )
        } else {
            (reason::STARTING, format!("starting on {}", self.hostname))
        };
        self.progress(ctx, run, Statuses::Starting, starting_reason, &starting_message)
            .await;
        let shipper = Shipper::new(self.coord.clone(), &run.run, self.log_stream_max_len);
        let mut workload = match self.start(run, &shipper).await {
            Ok(workload) => workload,
            Err(message) => return Some(self.condition(run, Statuses::Failed, reason::FAILED, &message)),
        };
        let running = match workload.pid() {
            Some(pid) => format!("process {pid} on {}", self.hostname),
            None => format!("running on {}", self.hostname),
        };
        self.progress(ctx, run, Statuses::Running, reason::RUNNING, &running)
            .await;
        let shipping = workload.take_output().map(|lines| tokio::spawn(shipper.ship(lines)));
        let collecting = self.collector.watch(run, &launch::run_dir(&self.launch, run));

        let timeout = run.timeout_secs.filter(|secs| *secs > 0);
        let deadline = async {
            match timeout {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                None => std::future::pending().await,
            }
        };
        let race = tokio::select! {
            _ = workload.wait() => Race::Exited,
            () = deadline => Race::TimedOut(timeout.unwrap_or_default()),
            () = ctx.cancel.cancelled() => Race::Cancelled,
        };
        if !matches!(race, Race::Exited) {
            tracing::info!(timeout_secs = ?timeout, cancelled = ctx.cancel.is_cancelled(), "killing the workload");
            workload.kill(self.kill_grace).await;
        }
        let exit = workload.wait().await;
        if let Some(shipping) = shipping
            && tokio::time::timeout(DRAIN_TIMEOUT, shipping).await.is_err()
        {
            tracing::warn!("output still open after the workload ended; not waiting for more lines");
        }
        collecting.finish().await;
        let (status, reason, message) = match race {
            Race::Exited if exit.is_success() => (Statuses::Succeeded, reason::SUCCEEDED, exit.to_string()),
            Race::Exited => (Statuses::Failed, reason::FAILED, exit.to_string()),
            Race::TimedOut(secs) => (
                Statuses::Failed,
                reason::TIMEOUT,
                format!("timed out after {secs}s; {exit}"),
            ),
            Race::Cancelled if self.shutdown.is_cancelled() => return None,
            Race::Cancelled => (
                Statuses::Stopped,
                reason::STOPPED,
                format!("stopped on request; {exit}"),
            ),
        };
        Some(self.condition(run, status, reason, &message))
    }

    /// Prepares and starts the workload; a failure is also written to the run's log.
    async fn start(&self, run: &ExecuteRun, shipper: &Shipper) -> Result<Box<dyn Workload>, String> {
        let started = match launch::prepare(&self.launch, run) {
            Ok(spec) => self.runtime.start(&spec).await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(message) = &started {
            tracing::warn!(error = %message, "the workload did not start");
            let line = LogLine {
                ts: Utc::now(),
                stream: Stream::Stderr,
                line: message.clone(),
            };
            if let Err(err) = shipper.write(&line).await {
                tracing::warn!(error = %err, "cannot write the start error to the log stream");
            }
        }
        started
    }

    /// A report of `status` for `run`, stamped now.
    fn condition(&self, run: &ExecuteRun, status: Statuses, reason: &str, message: &str) -> RunStatusReport {
        self.reporter
            .report(run, StatusCondition::new(status, reason, message, Utc::now()))
    }

    /// Reports an intermediate status (a lost one is only logged: the final report follows).
    async fn progress(&self, ctx: &TaskContext, run: &ExecuteRun, status: Statuses, reason: &str, message: &str) {
        if let Err(err) = self.reporter.send(run, status, reason, message, &ctx.task_id).await {
            tracing::warn!(error = %err, %status, "cannot report a status");
        }
    }

    /// Records and publishes the final report; the task outcome follows from it.
    async fn finish(&self, ctx: &TaskContext, report: RunStatusReport) -> TaskOutcome {
        self.leases.record_final(&report).await;
        if let Err(err) = self.reporter.send_final(&report, &ctx.task_id).await {
            tracing::error!(error = %err, "cannot publish the final status; requeueing the task to publish it later");
            return TaskOutcome::Reject { requeue: true };
        }
        let status = report.condition.type_;
        let message = report.condition.message.clone().unwrap_or_default();
        tracing::info!(%status, %message, "attempt finished");
        match status {
            Statuses::Succeeded => TaskOutcome::Success(json!({ "status": status, "message": message })),
            Statuses::Stopped => TaskOutcome::Failure {
                exc_type: "TaskRevokedError".into(),
                message,
            },
            _ => TaskOutcome::Failure {
                exc_type: "RunFailed".into(),
                message,
            },
        }
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
