//! The in-process consumer stream and the acker of its deliveries.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;
use tokio::sync::mpsc;

use super::Broker;
use super::queue::{Pushed, Queue, Settle};
use crate::bus::{Acker, Delivery, Error, Result};

/// Deliveries of one consumer. Dropping it removes the consumer, which requeues its unacked
/// deliveries (marked redelivered) and deletes an exclusive or auto-delete queue left unused.
pub(super) struct MemoryConsumer {
    // Declared first so it drops first, while the receiver still exists.
    guard: Guard,
    rx: mpsc::UnboundedReceiver<Pushed>,
    /// Set once the end of the stream (queue deleted) was reported.
    finished: bool,
}

impl MemoryConsumer {
    pub(super) fn new(broker: Arc<Broker>, queue: Arc<Queue>, id: u64, rx: mpsc::UnboundedReceiver<Pushed>) -> Self {
        Self {
            guard: Guard { broker, queue, id },
            rx,
            finished: false,
        }
    }
}

struct Guard {
    broker: Arc<Broker>,
    queue: Arc<Queue>,
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let (dead, unused) = self.queue.remove_consumer(self.id);
        self.broker.route_dead_letters(dead);
        if unused {
            self.broker.delete_if_unused(&self.queue);
        }
    }
}

impl Stream for MemoryConsumer {
    type Item = Result<Delivery>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Pushed { tag, entry })) => {
                let guard = &self.guard;
                let msg = &entry.msg;
                let acker = MemoryAcker {
                    broker: guard.broker.clone(),
                    queue: guard.queue.clone(),
                    consumer: guard.id,
                    tag,
                };
                Poll::Ready(Some(Ok(Delivery {
                    body: msg.body.clone(),
                    properties: msg.properties.clone(),
                    exchange: msg.exchange.clone(),
                    routing_key: msg.routing_key.clone(),
                    redelivered: entry.redelivered,
                    acker: Box::new(acker),
                })))
            }
            Poll::Ready(None) => {
                // The sender only goes away when the queue is deleted: say so once, as RabbitMQ's
                // consumer cancel notification does, then end.
                self.finished = true;
                let name = self.guard.queue.spec.name.clone();
                Poll::Ready(Some(Err(Error::NotFound(format!("queue '{name}' was deleted")))))
            }
        }
    }
}

struct MemoryAcker {
    broker: Arc<Broker>,
    queue: Arc<Queue>,
    consumer: u64,
    tag: u64,
}

impl MemoryAcker {
    fn settle(&self, how: Settle) -> Result<()> {
        let dead = self.queue.settle(self.consumer, self.tag, how)?;
        self.broker.route_dead_letters(dead);
        Ok(())
    }
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(&self) -> Result<()> {
        self.settle(Settle::Ack)
    }

    async fn nack(&self, requeue: bool) -> Result<()> {
        self.settle(if requeue { Settle::Requeue } else { Settle::Reject })
    }
}
