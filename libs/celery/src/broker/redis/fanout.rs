//! Consuming a queue bound to a fanout exchange as kombu does: PSUBSCRIBE to the exchange's
//! topic `/<db>.<exchange>` (with `/<routing key>` when bound with one) on a connection of its
//! own. Messages are broadcast, not queued: a consumer sees what is published while it listens,
//! and settling is a no-op (kombu consumes fanout queues without acks; a nack cannot requeue).
//! The subscription is re-established after a connection loss (messages published meanwhile are
//! missed, as with kombu). Dropping the stream unsubscribes, and deletes the queue's bindings when
//! it was declared auto-delete (kombu's `Channel.close`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use myelin_common::bus::{Acker, Consumer, Delivery, Result};
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::envelope;
use super::routing::fanout_topic;
use super::{Inner, redis_err};

/// Subscribes now (so nothing published after this returns is missed), then spawns the reader.
pub(super) async fn start(inner: Arc<Inner>, queue: String, exchange: &str, routing_key: &str) -> Result<Consumer> {
    let topic = fanout_topic(inner.db, exchange, routing_key);
    let (sink, stream) = subscribe(&inner, &topic).await?;
    let (tx, rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let reader = Reader {
        inner,
        queue,
        topic,
        tx,
    };
    tokio::spawn(reader.run(sink, stream, stop.clone()));
    let guard = stop.drop_guard();
    Ok(futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|d| (d, (rx, guard)))
    })
    .boxed())
}

async fn subscribe(inner: &Inner, topic: &str) -> Result<(PubSubSink, PubSubStream)> {
    let mut pubsub = inner.client.get_async_pubsub().await.map_err(redis_err)?;
    pubsub.psubscribe(topic).await.map_err(redis_err)?;
    Ok(pubsub.split())
}

struct Reader {
    inner: Arc<Inner>,
    queue: String,
    topic: String,
    tx: mpsc::Sender<Result<Delivery>>,
}

impl Reader {
    async fn run(self, sink: PubSubSink, stream: PubSubStream, stop: CancellationToken) {
        let mut current = Some((sink, stream));
        loop {
            let Some((_, stream)) = current.as_mut() else {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                match subscribe(&self.inner, &self.topic).await {
                    Ok(pair) => {
                        info!(queue = %self.queue, "Redis fanout subscription re-established");
                        current = Some(pair);
                    }
                    Err(e) => warn!(queue = %self.queue, error = %e, "cannot resubscribe to the fanout topic"),
                }
                continue;
            };
            let msg = tokio::select! {
                () = stop.cancelled() => break,
                () = self.tx.closed() => break,
                msg = stream.next() => msg,
            };
            let Some(msg) = msg else {
                warn!(queue = %self.queue, "the Redis fanout subscription ended; resubscribing");
                current = None;
                continue;
            };
            let raw = String::from_utf8_lossy(msg.get_payload_bytes()).into_owned();
            match envelope::decode(&raw) {
                Ok(d) => {
                    let delivery = Delivery {
                        body: d.body,
                        properties: d.properties,
                        exchange: d.exchange,
                        routing_key: d.routing_key,
                        redelivered: false,
                        acker: Box::new(NoAck),
                    };
                    if self.tx.send(Ok(delivery)).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    warn!(queue = %self.queue, error = %e, "ignoring a fanout message that is not a kombu envelope")
                }
            }
        }
        drop(current);
        let auto_delete = self.inner.topology().auto_delete.contains(&self.queue);
        if auto_delete && let Err(e) = self.inner.delete_queue(&self.queue).await {
            warn!(queue = %self.queue, error = %e, "cannot delete the auto-delete fanout queue");
        }
    }
}

/// Fanout deliveries are not acknowledged (kombu's `no_ack`).
struct NoAck;

#[async_trait]
impl Acker for NoAck {
    async fn ack(&self) -> Result<()> {
        Ok(())
    }

    async fn nack(&self, _requeue: bool) -> Result<()> {
        Ok(())
    }
}
