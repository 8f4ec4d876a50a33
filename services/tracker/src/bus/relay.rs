//! The outbox relay: publishes committed outbox rows on the `myelin.events` topic exchange.
//!
//! Each round claims up to `batch_size` due rows, oldest first, publishes each (routing key = event
//! type, `message_id` = event id, body = the JSON envelope) and waits for the broker's confirm, then
//! marks it published. A failed publish keeps the row, defers it with exponential backoff and ends
//! the round. On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED` inside a transaction
//! held until the rows are marked, so two replicas never publish the same row concurrently. On
//! SQLite (one process) rows are read, published and marked without holding a write transaction.
//!
//! Delivery is at least once (a crash between confirm and mark republishes): consumers dedupe on
//! the envelope id.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use myelin_common::bus::{ExchangeKind, OutgoingMessage, SharedBus};
use myelin_contracts::events::EVENTS_EXCHANGE;
use sea_orm::{ConnectionTrait, TransactionTrait};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::OutboxSettings;
use crate::error::Error;
use crate::store::entities::outbox as row;
use crate::store::{Store, now, outbox};

/// Longest backoff of a row that keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Publishes the outbox. See the module doc.
pub struct Relay {
    store: Store,
    bus: SharedBus,
    settings: OutboxSettings,
    wake: Arc<Notify>,
}

impl Relay {
    pub fn new(store: Store, bus: SharedBus, settings: OutboxSettings, wake: Arc<Notify>) -> Self {
        Self {
            store,
            bus,
            settings,
            wake,
        }
    }

    /// Runs until `shutdown` is cancelled, then publishes what is due once more and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(1));
        let mut declared = false;
        let mut failures: u32 = 0;
        loop {
            if !declared {
                match self.bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic).await {
                    Ok(()) => declared = true,
                    Err(err) => tracing::warn!(error = %err, "outbox relay: cannot declare {EVENTS_EXCHANGE}"),
                }
            }
            let mut full = false;
            if declared {
                match self.round().await {
                    Ok(published) => {
                        failures = 0;
                        full = published as u64 >= self.settings.batch_size;
                    }
                    Err(err) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(error = %err, "outbox relay round failed");
                    }
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            if full {
                continue;
            }
            let pause = if failures > 0 || !declared {
                backoff(failures.max(1)).min(poll * 10)
            } else {
                poll
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        if declared && let Err(err) = self.round().await {
            tracing::warn!(error = %err, "outbox relay: final round failed; rows stay for the next start");
        }
    }

    /// One claim-publish-mark round. Returns how many rows were published.
    pub async fn round(&self) -> Result<usize, Error> {
        let limit = self.settings.batch_size.max(1);
        if self.store.is_postgres() {
            let txn = self.store.db().begin().await?;
            let rows = outbox::due(&txn, limit, now(), true).await?;
            let published = self.publish_all(&txn, rows).await?;
            txn.commit().await?;
            Ok(published)
        } else {
            let rows = outbox::due(self.store.db(), limit, now(), false).await?;
            self.publish_all(self.store.db(), rows).await
        }
    }

    async fn publish_all(&self, conn: &impl ConnectionTrait, rows: Vec<row::Model>) -> Result<usize, Error> {
        let mut published = 0;
        for row in rows {
            match self.publish(&row).await {
                Ok(()) => {
                    outbox::mark_published(conn, row.id).await?;
                    published += 1;
                }
                Err(err) => {
                    let attempts = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
                    let delay = TimeDelta::from_std(backoff(attempts)).unwrap_or(TimeDelta::MAX);
                    tracing::warn!(error = %err, event = %row.event_id, topic = %row.topic, attempts, "cannot publish an outbox event");
                    outbox::mark_failed(conn, row.id, &err.to_string(), now() + delay).await?;
                    break;
                }
            }
        }
        Ok(published)
    }

    async fn publish(&self, row: &row::Model) -> Result<(), myelin_common::bus::Error> {
        let mut message = OutgoingMessage::new(serde_json::to_vec(&row.payload).unwrap_or_default());
        message.properties.content_type = Some("application/json".into());
        message.properties.content_encoding = Some("utf-8".into());
        message.properties.message_id = Some(row.event_id.to_string());
        message.properties.correlation_id = row
            .payload
            .get("correlation_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        message
            .properties
            .headers
            .insert("type".into(), row.topic.clone().into());
        self.bus.publish(EVENTS_EXCHANGE, &row.topic, message).await
    }
}

/// 100 ms × 2^(attempts−1), at most [`MAX_BACKOFF`].
fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    Duration::from_millis(100u64.saturating_mul(1 << exp)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(5), Duration::from_millis(1600));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
