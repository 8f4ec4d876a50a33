//! Status reports to the tracker: [`RunStatusReport`] envelopes published on `myelin.events` with
//! routing key `run.status.reported` (publisher confirms; `message_id` = the envelope id).

use myelin_common::bus::{ExchangeKind, OutgoingMessage, SharedBus};
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::execution::{RUN_STATUS_REPORTED, RunStatusReport};
use myelin_contracts::{Envelope, RunUuid, StatusCondition, Statuses};
use serde_json::Value;

use crate::error::Error;

/// The `source` of every report the scheduler sends.
pub const SOURCE: &str = "scheduler";

/// Reason of the `failed` condition of a run that cannot be compiled or scheduled.
pub const PREPARE_FAILED: &str = "SchedulerPrepare";

/// The run a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub owner: String,
    pub project: String,
    pub run: RunUuid,
}

/// One report: its status, reason and message, and the data it carries.
#[derive(Debug, Clone)]
pub struct Report {
    pub attempt: u32,
    pub status: Statuses,
    pub reason: &'static str,
    pub message: String,
    pub compiled: Option<Value>,
    pub inputs: Option<Value>,
}

impl Report {
    /// A report of `status` for `attempt`, with no data.
    pub fn new(attempt: u32, status: Statuses, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            attempt,
            status,
            reason,
            message: message.into(),
            compiled: None,
            inputs: None,
        }
    }
}

/// Publishes reports.
#[derive(Clone)]
pub struct Reporter {
    bus: SharedBus,
}

impl Reporter {
    pub fn new(bus: SharedBus) -> Self {
        Self { bus }
    }

    /// Declares `myelin.events` (topic, durable), which reports are published on.
    pub async fn declare(&self) -> Result<(), Error> {
        Ok(self.bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic).await?)
    }

    /// Publishes `report` about `target` and waits for the broker's confirm.
    pub async fn send(&self, target: &Target, report: Report, correlation_id: Option<String>) -> Result<(), Error> {
        let status = report.status;
        let payload = RunStatusReport {
            owner: target.owner.clone(),
            project: target.project.clone(),
            run: target.run,
            attempt: report.attempt,
            condition: StatusCondition::new(status, report.reason, report.message, chrono::Utc::now()),
            compiled: report.compiled,
            inputs: report.inputs,
            outputs: None,
            source: SOURCE.into(),
        };
        let envelope = Envelope::new(RUN_STATUS_REPORTED, &payload, correlation_id)?;
        let message = OutgoingMessage::envelope(&envelope)?;
        self.bus.publish(EVENTS_EXCHANGE, RUN_STATUS_REPORTED, message).await?;
        tracing::debug!(run = %target.run, attempt = report.attempt, %status, "reported");
        Ok(())
    }
}
