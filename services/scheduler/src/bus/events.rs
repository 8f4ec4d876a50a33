//! The run-event consumer: queue `events_queue` (durable, default `myelin.scheduler.events`) bound
//! to `myelin.events` with `run.created`, `run.status.changed`, `run.stop.requested` and
//! `run.deleted`.
//!
//! Deliveries are handled one at a time, in order, per replica: an event whose envelope id was
//! processed before is acked at once; otherwise its handler runs, the id is remembered, and the
//! delivery is acked. Failures are classified so nothing loops forever: undecodable → nacked
//! without requeue (error log); database or broker unavailable → retried in place with backoff,
//! then nacked with requeue; anything else → nacked without requeue (error log).

use myelin_common::bus::subscription::{self, DeliveryHandler, Subscription, backoff};
use myelin_common::bus::{Delivery, SharedBus};
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
        let subscription = Subscription {
            exchange: EVENTS_EXCHANGE.to_owned(),
            queue: self.queue.clone(),
            routing_keys: BINDINGS.iter().map(|k| (*k).to_owned()).collect(),
            prefetch: PREFETCH,
            label: "run events",
        };
        let bus = self.bus.clone();
        subscription::run(&bus, &subscription, &self, shutdown).await;
    }

    /// Handles one delivery and settles it.
    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        let (envelope, event) = match decode(&delivery.body) {
            Ok(decoded) => decoded,
            Err(reason) => {
                tracing::error!(routing_key = %delivery.routing_key, "run events: dropping an undecodable message: {reason}");
                subscription::settle("run events", delivery.nack(false).await);
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
            Ok(()) => subscription::settle("run events", delivery.ack().await),
            Err(err) if err.is_transient() => {
                tracing::warn!(error = %err, run = %event.run, event = %envelope.type_, "run events: requeued");
                subscription::settle("run events", delivery.nack(true).await);
            }
            Err(err) => {
                tracing::error!(error = %err, run = %event.run, event = %envelope.type_, "run events: dropped");
                subscription::settle("run events", delivery.nack(false).await);
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

#[async_trait::async_trait]
impl DeliveryHandler for Events {
    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        Events::handle(self, delivery, shutdown).await
    }
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
}
