//! Status reports: [`RunStatusReport`] envelopes published on `myelin.events` with routing key
//! `run.status.reported`, `message_id` = envelope id, `correlation_id` = the Celery task id.

use std::time::Duration;

use chrono::Utc;
use myelin_common::bus::{OutgoingMessage, SharedBus};
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::execution::{ExecuteRun, RUN_STATUS_REPORTED, RunStatusReport};
use myelin_contracts::{Envelope, StatusCondition, Statuses};

/// Reasons of the conditions the executor reports.
pub mod reason {
    /// `starting`: the executor took the task.
    pub const STARTING: &str = "ExecutorStarting";
    /// `starting`: the task came back after the worker holding it was lost; the run starts over.
    pub const REDELIVERED: &str = myelin_contracts::execution::REDELIVERED_REASON;
    /// `running`: the workload started.
    pub const RUNNING: &str = "ExecutorRunning";
    /// `succeeded`: exit code 0.
    pub const SUCCEEDED: &str = "ExecutorSucceeded";
    /// `failed`: a non-zero exit, a signal, or a start error.
    pub const FAILED: &str = "ExecutorFailed";
    /// `failed`: `termination.timeout` elapsed and the workload was killed.
    pub const TIMEOUT: &str = "timeout";
    /// `stopped`: the task was revoked (the run was stopped) and the workload killed.
    pub const STOPPED: &str = "revoked";
}

/// Why a report was not published.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot encode a status report: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot publish a status report: {0}")]
    Bus(#[from] myelin_common::bus::Error),
}

/// How many times the final report is tried before giving up, and the first pause between tries.
const FINAL_ATTEMPTS: u32 = 6;
const FINAL_BACKOFF: Duration = Duration::from_millis(500);

/// Publishes the reports of one executor.
#[derive(Clone)]
pub struct Reporter {
    bus: SharedBus,
    source: String,
}

impl Reporter {
    /// Reports signed `source` (the worker hostname).
    pub fn new(bus: SharedBus, source: impl Into<String>) -> Self {
        Self {
            bus,
            source: source.into(),
        }
    }

    /// The report of `condition` for `run`, as published.
    pub fn report(&self, run: &ExecuteRun, condition: StatusCondition) -> RunStatusReport {
        RunStatusReport {
            owner: run.owner.clone(),
            project: run.project.clone(),
            run: run.run,
            attempt: run.attempt,
            condition,
            compiled: None,
            inputs: None,
            outputs: None,
            source: self.source.clone(),
        }
    }

    /// Publishes `status` (with `reason` and `message`) for `run`, once.
    pub async fn send(
        &self,
        run: &ExecuteRun,
        status: Statuses,
        reason: &str,
        message: &str,
        task_id: &str,
    ) -> Result<(), Error> {
        let condition = StatusCondition::new(status, reason, message, Utc::now());
        self.publish(&self.report(run, condition), task_id).await
    }

    /// Publishes `report`, retrying with backoff (for the final report, which must not be lost).
    pub async fn send_final(&self, report: &RunStatusReport, task_id: &str) -> Result<(), Error> {
        let mut pause = FINAL_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.publish(report, task_id).await {
                Ok(()) => return Ok(()),
                Err(err) if attempt >= FINAL_ATTEMPTS => return Err(err),
                Err(err) => {
                    tracing::warn!(error = %err, run = %report.run, attempt, "cannot publish the final status; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
            }
        }
    }

    async fn publish(&self, report: &RunStatusReport, task_id: &str) -> Result<(), Error> {
        let envelope = Envelope::new(RUN_STATUS_REPORTED, report, Some(task_id.to_owned()))?;
        let message = OutgoingMessage::envelope(&envelope)?;
        Ok(self.bus.publish(EVENTS_EXCHANGE, RUN_STATUS_REPORTED, message).await?)
    }
}
