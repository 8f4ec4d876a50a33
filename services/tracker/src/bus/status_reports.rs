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

use std::time::Duration;

use futures::StreamExt;
use myelin_common::bus::{ConsumeOptions, Consumer, Delivery, ExchangeKind, QueueSpec, SharedBus};
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
/// Longest pause between two attempts (and between two tries to consume).
const MAX_BACKOFF: Duration = Duration::from_secs(5);

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
        let mut failures: u32 = 0;
        while !shutdown.is_cancelled() {
            match self.subscribe().await {
                Ok(consumer) => {
                    failures = 0;
                    self.consume(consumer, &shutdown).await;
                }
                Err(err) => tracing::warn!(error = %err, queue = %self.queue, "status reports: cannot consume"),
            }
            failures = failures.saturating_add(1);
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(backoff(failures)) => {}
            }
        }
    }

    /// Declares the exchange, the queue and its binding, and starts consuming.
    async fn subscribe(&self) -> Result<Consumer, myelin_common::bus::Error> {
        self.bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic).await?;
        self.bus.declare_queue(&QueueSpec::durable(&self.queue)).await?;
        self.bus
            .bind_queue(&self.queue, EVENTS_EXCHANGE, RUN_STATUS_REPORTED)
            .await?;
        self.bus
            .consume(&self.queue, ConsumeOptions { prefetch: PREFETCH })
            .await
    }

    /// Handles deliveries until `shutdown` or the stream ends (the caller reconnects).
    async fn consume(&self, mut consumer: Consumer, shutdown: &CancellationToken) {
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => self.handle(delivery, shutdown).await,
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "status reports: the consumer failed");
                    return;
                }
                None => {
                    tracing::warn!("status reports: the consumer stream ended");
                    return;
                }
            }
        }
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
                settle(delivery.nack(false).await);
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
                settle(delivery.ack().await);
            }
            Ok(Outcome::Refreshed) => {
                tracing::debug!(%run, %status, source, "status report repeated the last condition");
                settle(delivery.ack().await);
            }
            Ok(Outcome::Ignored { current, reason }) => {
                tracing::debug!(%run, %current, requested = %status, attempt = report.attempt, source, reason, "status report ignored");
                settle(delivery.ack().await);
            }
            Ok(Outcome::RunGone) => {
                tracing::debug!(%run, %status, source, "status report for a deleted run");
                settle(delivery.ack().await);
            }
            Err(Error::Db(err)) => {
                tracing::warn!(error = %err, %run, %status, "status reports: database unavailable; requeued");
                settle(delivery.nack(true).await);
            }
            Err(err) => {
                tracing::error!(error = %err, %run, %status, "status reports: cannot apply a report; dropped");
                settle(delivery.nack(false).await);
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

fn settle(result: Result<(), myelin_common::bus::Error>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "status reports: cannot settle a delivery (it will be redelivered)");
    }
}

/// 200 ms × 2^(n−1), at most [`MAX_BACKOFF`].
fn backoff(n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(8);
    Duration::from_millis(200u64.saturating_mul(1 << exp)).min(MAX_BACKOFF)
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

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
