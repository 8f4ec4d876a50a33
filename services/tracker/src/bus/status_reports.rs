//! The status-report consumer: applies the `run.status.reported` messages of the scheduler and the
//! executors (queue `status_reports_queue`, by default
//! [`TRACKER_STATUS_QUEUE`](myelin_contracts::execution::TRACKER_STATUS_QUEUE), durable, bound to
//! `myelin.events`).
//!
//! Each delivery is one [`Envelope`] holding a [`RunStatusReport`], applied in one transaction by
//! [`reports::apply`] (which also writes `run.status.changed`), and acked after the commit.
//! Deliveries are handled one at a time, in order, per replica.
//!
//! Failures are classified so no message loops forever:
//! - refused by the lifecycle rules (late, older attempt, done run), or for a deleted run: acked,
//!   logged at debug — duplicates and late reports are expected;
//! - undecodable (poison): nacked without requeue (dead-lettered or dropped), logged as an error;
//! - database unavailable: retried in place with backoff, then nacked with requeue;
//! - anything else (a corrupt row): nacked without requeue, logged as an error.

use myelin_common::bus::subscription::{self, DeliveryHandler, Subscription, backoff};
use myelin_common::bus::{Delivery, SharedBus};
use myelin_contracts::Envelope;
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::execution::{RUN_STATUS_REPORTED, RunStatusReport};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::store::Store;
use crate::store::reports::{self, Outcome};

/// Unacked deliveries held at once.
const PREFETCH: u16 = 32;
/// Attempts to apply a report while the database fails, before it is requeued.
const DB_ATTEMPTS: u32 = 5;

/// Consumes and applies status reports. See the module doc.
pub struct StatusReports {
    store: Store,
    bus: SharedBus,
    queue: String,
}

impl StatusReports {
    /// A consumer of `queue` (see [`crate::Settings::status_reports_queue`]).
    pub fn new(store: Store, bus: SharedBus, queue: String) -> Self {
        Self { store, bus, queue }
    }

    /// Consumes until `shutdown` (finishing the delivery in hand), reconnecting with backoff.
    pub async fn run(self, shutdown: CancellationToken) {
        let subscription = Subscription {
            exchange: EVENTS_EXCHANGE.to_owned(),
            queue: self.queue.clone(),
            routing_keys: vec![RUN_STATUS_REPORTED.to_owned()],
            prefetch: PREFETCH,
            label: "status reports",
        };
        let bus = self.bus.clone();
        subscription::run(&bus, &subscription, &self, shutdown).await;
    }

    /// Applies one delivery and settles it.
    pub async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        let (envelope, report) = match decode(&delivery.body) {
            Ok(decoded) => decoded,
            Err(reason) => {
                tracing::error!(
                    message_id = ?delivery.properties.message_id,
                    routing_key = %delivery.routing_key,
                    "status reports: dropping an undecodable message: {reason}"
                );
                subscription::settle("status reports", delivery.nack(false).await);
                return;
            }
        };
        let correlation = envelope
            .correlation_id
            .clone()
            .or_else(|| Some(envelope.id.to_string()));
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match reports::apply(&self.store, &report, correlation.clone()).await {
                Err(Error::Db(err)) if attempt < DB_ATTEMPTS && !shutdown.is_cancelled() => {
                    tracing::warn!(error = %err, run = %report.run, attempt, "status reports: database error; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => break other,
            }
        };
        let (run, status, source) = (report.run, report.condition.type_, report.source.as_str());
        match result {
            Ok(Outcome::Changed { previous, attempt }) => {
                tracing::debug!(%run, %previous, %status, attempt, source, "status report applied");
                subscription::settle("status reports", delivery.ack().await);
            }
            Ok(Outcome::Refreshed) => {
                tracing::debug!(%run, %status, source, "status report repeated the last condition");
                subscription::settle("status reports", delivery.ack().await);
            }
            Ok(Outcome::Ignored { current, reason }) => {
                tracing::debug!(%run, %current, requested = %status, attempt = report.attempt, source, reason, "status report ignored");
                subscription::settle("status reports", delivery.ack().await);
            }
            Ok(Outcome::RunGone) => {
                tracing::debug!(%run, %status, source, "status report for a deleted run");
                subscription::settle("status reports", delivery.ack().await);
            }
            Err(Error::Db(err)) => {
                tracing::warn!(error = %err, %run, %status, "status reports: database unavailable; requeued");
                subscription::settle("status reports", delivery.nack(true).await);
            }
            Err(err) => {
                tracing::error!(error = %err, %run, %status, "status reports: cannot apply a report; dropped");
                subscription::settle("status reports", delivery.nack(false).await);
            }
        }
    }
}

/// The envelope and its report, or why the message is poison.
fn decode(body: &[u8]) -> Result<(Envelope, RunStatusReport), String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| format!("not an event envelope: {e}"))?;
    if envelope.type_ != RUN_STATUS_REPORTED {
        return Err(format!("unexpected event type `{}`", envelope.type_));
    }
    let report = envelope
        .payload_as::<RunStatusReport>()
        .map_err(|e| format!("not a status report: {e}"))?;
    Ok((envelope, report))
}

#[async_trait::async_trait]
impl DeliveryHandler for StatusReports {
    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        StatusReports::handle(self, delivery, shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_is_told_apart() {
        assert!(decode(b"not json").unwrap_err().contains("envelope"));
        let other = Envelope::new("run.created", &serde_json::json!({}), None).unwrap();
        let body = serde_json::to_vec(&other).unwrap();
        assert!(decode(&body).unwrap_err().contains("unexpected event type"));
        let bad = Envelope::new(RUN_STATUS_REPORTED, &serde_json::json!({"run": 1}), None).unwrap();
        assert!(
            decode(&serde_json::to_vec(&bad).unwrap())
                .unwrap_err()
                .contains("not a status report")
        );
    }
}
