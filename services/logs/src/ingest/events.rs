//! The run-event consumer: a queue (by default `myelin.logs.events`) bound to `run.created` and
//! `run.status.changed` on `myelin.events`, each event handed to [`Ingestor::on_event`] and acked
//! once handled. A malformed message is acked and dropped (it would never parse); a failure to
//! handle one is retried: the message goes back to the queue after a short pause.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use myelin_common::bus::{ConsumeOptions, Delivery, ExchangeKind, QueueSpec, SharedBus};
use myelin_contracts::events::{EVENTS_EXCHANGE, Envelope, RUN_CREATED, RUN_STATUS_CHANGED, RunEvent};
use tokio_util::sync::CancellationToken;

use super::Ingestor;
use crate::error::Error;

/// Pause before a message that could not be handled goes back to the queue.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Pause before consuming again after the consumer ended.
const RECONSUME_PAUSE: Duration = Duration::from_secs(2);

/// Declares the exchange, `queue` and its bindings (idempotent).
pub async fn declare(bus: &SharedBus, queue: &str) -> Result<(), Error> {
    bus.declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic).await?;
    bus.declare_queue(&QueueSpec::durable(queue)).await?;
    for key in [RUN_CREATED, RUN_STATUS_CHANGED] {
        bus.bind_queue(queue, EVENTS_EXCHANGE, key).await?;
    }
    Ok(())
}

/// Consumes run events from `queue` until `shutdown`; messages being handled then are finished first.
pub async fn consume(
    bus: SharedBus,
    queue: String,
    ingestor: Arc<Ingestor>,
    prefetch: u16,
    shutdown: CancellationToken,
) {
    let prefetch = prefetch.max(1);
    while !shutdown.is_cancelled() {
        let started = async {
            declare(&bus, &queue).await?;
            Ok::<_, Error>(bus.consume(&queue, ConsumeOptions { prefetch }).await?)
        };
        match started.await {
            Ok(consumer) => {
                consumer
                    .take_until(shutdown.clone().cancelled_owned())
                    .for_each_concurrent(usize::from(prefetch), |delivery| {
                        let ingestor = ingestor.clone();
                        async move {
                            match delivery {
                                Ok(delivery) => handle(&ingestor, delivery).await,
                                Err(err) => tracing::warn!(error = %err, "run event consumer error"),
                            }
                        }
                    })
                    .await;
                if !shutdown.is_cancelled() {
                    tracing::warn!(%queue, "the run event consumer ended; consuming again");
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot consume run events; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(RECONSUME_PAUSE) => {}
        }
    }
}

async fn handle(ingestor: &Arc<Ingestor>, delivery: Delivery) {
    let event = serde_json::from_slice::<Envelope>(&delivery.body)
        .and_then(|envelope| Ok((envelope.payload_as::<RunEvent>()?, envelope)));
    let (event, envelope) = match event {
        Ok(parsed) => parsed,
        Err(err) => {
            tracing::warn!(routing_key = %delivery.routing_key, error = %err, "dropping a malformed run event");
            if let Err(err) = delivery.ack().await {
                tracing::warn!(error = %err, "cannot ack a run event");
            }
            return;
        }
    };
    let correlation = envelope
        .correlation_id
        .clone()
        .unwrap_or_else(|| envelope.id.to_string());
    let handled =
        myelin_common::http::with_request_id(correlation, ingestor.on_event(&event, envelope.occurred_at)).await;
    let settled = match handled {
        Ok(()) => delivery.ack().await,
        Err(err) => {
            tracing::warn!(run = %event.run, status = %event.status, error = %err, "cannot handle a run event; retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
            delivery.nack(true).await
        }
    };
    if let Err(err) = settled {
        tracing::warn!(error = %err, "cannot settle a run event");
    }
}
