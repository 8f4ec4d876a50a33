//! A durable subscription consumed until shutdown: the loop every service's event consumer shares.
//!
//! [`run`] declares the topic exchange, the durable queue and its bindings, consumes with the given
//! prefetch and hands each delivery to a [`DeliveryHandler`] (which settles it: ack, or nack with or
//! without requeue), one at a time, in order. When the consumer fails or its stream ends (the broker
//! went away), it subscribes again after a capped exponential [`backoff`]. Shutdown is honoured
//! between deliveries, so the delivery in hand is always finished.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{ConsumeOptions, Consumer, Delivery, Error, ExchangeKind, QueueSpec, SharedBus};

/// Longest pause of [`backoff`].
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What to consume: a durable `queue` bound to the topic `exchange` with `routing_keys`.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub exchange: String,
    pub queue: String,
    pub routing_keys: Vec<String>,
    /// Unacked deliveries held at once.
    pub prefetch: u16,
    /// Names the consumer in logs (`status reports`, `run events`).
    pub label: &'static str,
}

/// Handles (and settles) one delivery.
#[async_trait]
pub trait DeliveryHandler: Send + Sync {
    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken);
}

/// 200 ms × 2^(n−1), at most [`MAX_BACKOFF`] (n ≥ 1: the number of failures so far).
pub fn backoff(n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(8);
    Duration::from_millis(200u64.saturating_mul(1 << exp)).min(MAX_BACKOFF)
}

/// Declares the exchange, the queue and its bindings, and starts consuming.
pub async fn subscribe(bus: &SharedBus, sub: &Subscription) -> Result<Consumer, Error> {
    bus.declare_exchange(&sub.exchange, ExchangeKind::Topic).await?;
    bus.declare_queue(&QueueSpec::durable(&sub.queue)).await?;
    for key in &sub.routing_keys {
        bus.bind_queue(&sub.queue, &sub.exchange, key).await?;
    }
    bus.consume(&sub.queue, ConsumeOptions { prefetch: sub.prefetch }).await
}

/// Consumes `sub` until `shutdown`, reconnecting with backoff. See the module doc.
pub async fn run(bus: &SharedBus, sub: &Subscription, handler: &dyn DeliveryHandler, shutdown: CancellationToken) {
    let mut failures: u32 = 0;
    while !shutdown.is_cancelled() {
        match subscribe(bus, sub).await {
            Ok(consumer) => {
                failures = 0;
                consume(sub, consumer, handler, &shutdown).await;
            }
            Err(err) => tracing::warn!(error = %err, queue = %sub.queue, "{}: cannot consume", sub.label),
        }
        failures = failures.saturating_add(1);
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(backoff(failures)) => {}
        }
    }
}

/// Handles deliveries until `shutdown` or the stream ends (the caller subscribes again).
async fn consume(
    sub: &Subscription,
    mut consumer: Consumer,
    handler: &dyn DeliveryHandler,
    shutdown: &CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return,
            next = consumer.next() => next,
        };
        match next {
            Some(Ok(delivery)) => handler.handle(delivery, shutdown).await,
            Some(Err(err)) => {
                tracing::warn!(error = %err, "{}: the consumer failed", sub.label);
                return;
            }
            None => {
                tracing::warn!("{}: the consumer stream ended", sub.label);
                return;
            }
        }
    }
}

/// Logs a failed ack/nack (the broker redelivers the message).
pub fn settle(label: &str, result: Result<(), Error>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "{label}: cannot settle a delivery (it will be redelivered)");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::bus::OutgoingMessage;
    use crate::bus::memory::MemoryBus;

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    struct Count(Arc<AtomicUsize>);

    #[async_trait]
    impl DeliveryHandler for Count {
        async fn handle(&self, delivery: Delivery, _shutdown: &CancellationToken) {
            self.0.fetch_add(1, Ordering::SeqCst);
            settle("test", delivery.ack().await);
        }
    }

    #[tokio::test]
    async fn deliveries_of_every_binding_reach_the_handler_until_shutdown() {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        let sub = Subscription {
            exchange: "ex".into(),
            queue: "q".into(),
            routing_keys: vec!["a".into(), "b".into()],
            prefetch: 4,
            label: "test",
        };
        let seen = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let task = {
            let (bus, sub, seen, shutdown) = (bus.clone(), sub.clone(), seen.clone(), shutdown.clone());
            tokio::spawn(async move { run(&bus, &sub, &Count(seen), shutdown).await })
        };
        // Declared before the loop runs (declaring is idempotent), so nothing published is unroutable.
        bus.declare_exchange("ex", ExchangeKind::Topic).await.unwrap();
        bus.declare_queue(&QueueSpec::durable("q")).await.unwrap();
        for key in ["a", "b"] {
            bus.bind_queue("q", "ex", key).await.unwrap();
        }
        for key in ["a", "b", "c"] {
            bus.publish("ex", key, OutgoingMessage::new(key.as_bytes().to_vec()))
                .await
                .unwrap();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while seen.load(Ordering::SeqCst) < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bound keys were not consumed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(seen.load(Ordering::SeqCst), 2, "only the bound keys arrive");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
