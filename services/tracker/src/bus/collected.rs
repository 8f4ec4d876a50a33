//! The collected-series consumer: applies the `run.events.collected` messages of the executors'
//! collectors and the logs service (queue `tracking.collected_queue`, by default
//! [`TRACKER_COLLECTED_QUEUE`](myelin_contracts::tracking::TRACKER_COLLECTED_QUEUE), durable, bound to
//! `myelin.events`).
//!
//! Each delivery is one [`Envelope`] holding a [`SeriesCollected`]: the whole series `(run, kind,
//! name)` read from a traceml `.plx` file. [`events::replace`] swaps the stored series for it and
//! recomputes the metric's summary in one transaction, so collecting a file again is harmless; the
//! delivery is acked after the commit. Metric points whose value is not a finite number are dropped
//! (logged as a warning).
//!
//! Failures, as for status reports:
//! - unknown run (deleted, or never tracked here), or a name the tracker refuses: acked, logged as a warning;
//! - undecodable (poison): nacked without requeue, logged as an error;
//! - database unavailable: retried in place with backoff, then nacked with requeue;
//! - anything else: nacked without requeue, logged as an error.

use myelin_common::bus::subscription::{self, DeliveryHandler, Subscription, backoff};
use myelin_common::bus::{Delivery, SharedBus};
use myelin_contracts::Envelope;
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::tracking::{RUN_EVENTS_COLLECTED, SeriesCollected};
use tokio_util::sync::CancellationToken;

use crate::domain::events::check_name;
use crate::error::Error;
use crate::store::Store;
use crate::store::events::{self, Replaced};

/// Unacked deliveries held at once (a series can be large).
const PREFETCH: u16 = 8;
/// Attempts to store a series while the database fails, before it is requeued.
const DB_ATTEMPTS: u32 = 5;

/// Consumes and stores collected series. See the module doc.
pub struct Collected {
    store: Store,
    bus: SharedBus,
    queue: String,
}

impl Collected {
    /// A consumer of `queue` (see [`crate::config::TrackingSettings::collected_queue`]).
    pub fn new(store: Store, bus: SharedBus, queue: String) -> Self {
        Self { store, bus, queue }
    }

    /// Consumes until `shutdown` (finishing the delivery in hand), reconnecting with backoff.
    pub async fn run(self, shutdown: CancellationToken) {
        let subscription = Subscription {
            exchange: EVENTS_EXCHANGE.to_owned(),
            queue: self.queue.clone(),
            routing_keys: vec![RUN_EVENTS_COLLECTED.to_owned()],
            prefetch: PREFETCH,
            label: "collected series",
        };
        let bus = self.bus.clone();
        subscription::run(&bus, &subscription, &self, shutdown).await;
    }

    /// Stores one delivery's series and settles it.
    pub async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        let series = match decode(&delivery.body) {
            Ok(series) => series,
            Err(reason) => {
                tracing::error!(
                    message_id = ?delivery.properties.message_id,
                    routing_key = %delivery.routing_key,
                    "collected series: dropping an undecodable message: {reason}"
                );
                subscription::settle("collected series", delivery.nack(false).await);
                return;
            }
        };
        let (run, kind, name) = (series.run, series.kind, series.name.as_str());
        if let Err(why) = check_name(name) {
            tracing::warn!(%run, %kind, name, "collected series: refused name ({why}); dropped");
            subscription::settle("collected series", delivery.ack().await);
            return;
        }
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match events::replace(&self.store, &series).await {
                Err(Error::Db(err)) if attempt < DB_ATTEMPTS && !shutdown.is_cancelled() => {
                    tracing::warn!(error = %err, %run, attempt, "collected series: database error; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => break other,
            }
        };
        match result {
            Ok(Replaced::Stored { points, dropped }) => {
                if dropped > 0 {
                    tracing::warn!(%run, %kind, name, dropped, "collected series: points without a finite value dropped");
                }
                tracing::debug!(%run, %kind, name, points, "collected series stored");
                subscription::settle("collected series", delivery.ack().await);
            }
            Ok(Replaced::RunGone) => {
                tracing::warn!(%run, %kind, name, project = %series.project, "collected series for an unknown run; dropped");
                subscription::settle("collected series", delivery.ack().await);
            }
            Err(Error::Db(err)) => {
                tracing::warn!(error = %err, %run, "collected series: database unavailable; requeued");
                subscription::settle("collected series", delivery.nack(true).await);
            }
            Err(err) => {
                tracing::error!(error = %err, %run, %kind, name, "collected series: cannot store; dropped");
                subscription::settle("collected series", delivery.nack(false).await);
            }
        }
    }
}

/// The series in an envelope, or why the message is poison.
fn decode(body: &[u8]) -> Result<SeriesCollected, String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| format!("not an event envelope: {e}"))?;
    if envelope.type_ != RUN_EVENTS_COLLECTED {
        return Err(format!("unexpected event type `{}`", envelope.type_));
    }
    envelope
        .payload_as::<SeriesCollected>()
        .map_err(|e| format!("not a collected series: {e}"))
}

#[async_trait::async_trait]
impl DeliveryHandler for Collected {
    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        Collected::handle(self, delivery, shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_is_told_apart() {
        assert!(decode(b"not json").unwrap_err().contains("envelope"));
        let other = Envelope::new("run.created", &serde_json::json!({}), None).unwrap();
        assert!(
            decode(&serde_json::to_vec(&other).unwrap())
                .unwrap_err()
                .contains("unexpected event type")
        );
        let bad = Envelope::new(RUN_EVENTS_COLLECTED, &serde_json::json!({"run": 1}), None).unwrap();
        assert!(
            decode(&serde_json::to_vec(&bad).unwrap())
                .unwrap_err()
                .contains("not a collected series")
        );
    }
}
