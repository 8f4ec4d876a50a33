//! The run-event consumer: queue `events_queue` (durable, default `myelin.scheduler.events`) bound
//! to `myelin.events` with `run.created`, `run.status.changed`, `run.stop.requested` and
//! `run.deleted`.
//!
//! Deliveries are handled one at a time, in order, per replica: an event whose envelope id was
//! processed before is acked at once; otherwise its handler runs, the id is remembered, and the
//! delivery is acked. Failures are classified so nothing loops forever: undecodable → nacked
//! without requeue (error log); database or broker unavailable → retried in place with backoff,
//! then nacked with requeue; anything else → nacked without requeue (error log).

use std::time::Duration;

use futures::StreamExt;
use myelin_common::bus::{ConsumeOptions, Consumer, Delivery, ExchangeKind, QueueSpec, SharedBus};
use myelin_contracts::Envelope;
use myelin_contracts::events::{
    EVENTS_EXCHANGE, RUN_CREATED, RUN_DELETED, RUN_STATUS_CHANGED, RUN_STOP_REQUESTED, RunEvent,
};
use tokio_util::sync::CancellationToken;

use super::handlers::Handlers;
use crate::error::Error;
use crate::store::dedupe;

/// The routing keys the queue is bound to.
pub const BINDINGS: [&str; 4] = [RUN_CREATED, RUN_STATUS_CHANGED, RUN_STOP_REQUESTED, RUN_DELETED];
/// Unacked deliveries held at once.
const PREFETCH: u16 = 64;
/// Tries of a handler that fails transiently, before the delivery is requeued.
const TRIES: u32 = 5;
/// Longest pause between two tries (and between two attempts to consume).
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Consumes run events. See the module doc.
pub struct Events {
    handlers: Handlers,
    bus: SharedBus,
    queue: String,
}

impl Events {
    pub fn new(handlers: Handlers, bus: SharedBus, queue: String) -> Self {
        Self { handlers, bus, queue }
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
                Err(err) => tracing::warn!(error = %err, queue = %self.queue, "run events: cannot consume"),
            }
            failures = failures.saturating_add(1);
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(backoff(failures)) => {}
            }
        }
    }

    /// Declares the exchange, the queue and its bindings, and starts consuming.
    pub async fn subscribe(&self) -> Result<Consumer, myelin_common::bus::Error> {
        self.bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic).await?;
        self.bus.declare_queue(&QueueSpec::durable(&self.queue)).await?;
        for key in BINDINGS {
            self.bus.bind_queue(&self.queue, EVENTS_EXCHANGE, key).await?;
        }
        self.bus
            .consume(&self.queue, ConsumeOptions { prefetch: PREFETCH })
            .await
    }

    async fn consume(&self, mut consumer: Consumer, shutdown: &CancellationToken) {
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => self.handle(delivery, shutdown).await,
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "run events: the consumer failed");
                    return;
                }
                None => {
                    tracing::warn!("run events: the consumer stream ended");
                    return;
                }
            }
        }
    }

    /// Handles one delivery and settles it.
    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        let (envelope, event) = match decode(&delivery.body) {
            Ok(decoded) => decoded,
            Err(reason) => {
                tracing::error!(routing_key = %delivery.routing_key, "run events: dropping an undecodable message: {reason}");
                settle(delivery.nack(false).await);
                return;
            }
        };
        let mut tries = 0;
        let result = loop {
            tries += 1;
            match self.dispatch(&envelope, &event).await {
                Err(err) if err.is_transient() && tries < TRIES && !shutdown.is_cancelled() => {
                    tracing::warn!(error = %err, run = %event.run, event = %envelope.type_, tries, "run events: retrying");
                    tokio::time::sleep(backoff(tries)).await;
                }
                other => break other,
            }
        };
        match result {
            Ok(()) => settle(delivery.ack().await),
            Err(err) if err.is_transient() => {
                tracing::warn!(error = %err, run = %event.run, event = %envelope.type_, "run events: requeued");
                settle(delivery.nack(true).await);
            }
            Err(err) => {
                tracing::error!(error = %err, run = %event.run, event = %envelope.type_, "run events: dropped");
                settle(delivery.nack(false).await);
            }
        }
    }

    /// Runs the handler of an event unless it was processed before, then remembers it.
    async fn dispatch(&self, envelope: &Envelope, event: &RunEvent) -> Result<(), Error> {
        let db = self.handlers.store.db();
        if dedupe::seen(db, envelope.id).await? {
            tracing::debug!(id = %envelope.id, "run events: duplicate");
            return Ok(());
        }
        let event = event.clone();
        match envelope.type_.as_str() {
            RUN_CREATED => self.handlers.created(envelope, event).await?,
            RUN_STATUS_CHANGED => self.handlers.status_changed(envelope, event).await?,
            RUN_STOP_REQUESTED => self.handlers.stop_requested(envelope, event).await?,
            RUN_DELETED => self.handlers.deleted(envelope, event).await?,
            _ => return Ok(()),
        }
        dedupe::remember(db, envelope.id).await
    }
}

/// The envelope and its run event, or why the message is poison.
fn decode(body: &[u8]) -> Result<(Envelope, RunEvent), String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| format!("not an event envelope: {e}"))?;
    let event = envelope
        .payload_as::<RunEvent>()
        .map_err(|e| format!("`{}` without a run event payload: {e}", envelope.type_))?;
    Ok((envelope, event))
}

fn settle(result: Result<(), myelin_common::bus::Error>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "run events: cannot settle a delivery (it will be redelivered)");
    }
}

/// 200 ms × 2^(n−1), at most [`MAX_BACKOFF`].
pub(crate) fn backoff(n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(8);
    Duration::from_millis(200u64.saturating_mul(1 << exp)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_is_told_apart() {
        assert!(decode(b"{").unwrap_err().contains("envelope"));
        let env = Envelope::new(RUN_CREATED, &serde_json::json!({"run": 1}), None).unwrap();
        assert!(
            decode(&serde_json::to_vec(&env).unwrap())
                .unwrap_err()
                .contains("run.created")
        );
    }

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
