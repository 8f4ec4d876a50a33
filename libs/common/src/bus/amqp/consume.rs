//! Consumer streams that outlive connections.
//!
//! Each stream owns one channel of the home connection with `basic.qos(prefetch)` and one
//! `basic.consume` on it. When the consumer ends (channel or connection closed, broker restart,
//! consumer cancelled by the broker) the stream re-establishes itself: it reconnects if needed,
//! redeclares the queue if this bus declared it, and consumes again, retrying with backoff for
//! as long as the stream lives. Deliveries unacked on the old channel are redelivered by the
//! broker (their ackers then fail). If the queue is gone for good (not found and not declared by
//! this bus, e.g. after `delete_queue`) the stream yields [`Error::NotFound`] and ends.
//!
//! Dropping the stream cancels the consumer and closes its channel, so its unacked deliveries
//! go back to the queue.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use tracing::{info, warn};

use super::convert::{from_basic_properties, short};
use super::{Backoff, Failure, Inner, classify};
use crate::bus::{Acker, ConsumeOptions, Consumer, Delivery, Error, Result};

/// Starts consuming `queue`. The first attempt retries connection failures until the reconnect
/// timeout and returns any other failure (e.g. unknown queue).
pub(super) async fn start(inner: Arc<Inner>, queue: &str, options: ConsumeOptions) -> Result<Consumer> {
    let queue = short(queue, "queue name")?;
    let mut state = State {
        inner,
        queue,
        prefetch: options.prefetch,
        active: None,
        finished: false,
    };
    let mut backoff = Backoff::until(state.inner.reconnect_timeout());
    loop {
        match state.establish(false).await {
            Ok(active) => break state.active = Some(active),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Transient(e)) => backoff.wait("consume", &e).await?,
        }
    }
    Ok(futures::stream::unfold(state, next).boxed())
}

struct State {
    inner: Arc<Inner>,
    queue: ShortString,
    prefetch: u16,
    active: Option<Active>,
    finished: bool,
}

/// A live `basic.consume` and its channel; closes the channel when dropped.
struct Active {
    channel: Channel,
    consumer: lapin::Consumer,
}

impl Drop for Active {
    fn drop(&mut self) {
        if !self.channel.status().connected() {
            return;
        }
        let channel = self.channel.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = channel.close(200, "consumer dropped".into()).await;
            });
        }
    }
}

impl State {
    async fn establish(&self, redeclare: bool) -> Result<Active, Failure> {
        let attempt = async {
            let channel = self.inner.home().await?.create_channel().await?;
            channel.basic_qos(self.prefetch, BasicQosOptions::default()).await?;
            if redeclare {
                self.inner.redeclare(&channel, self.queue.as_str()).await?;
            }
            let consumer = channel
                .basic_consume(
                    self.queue.clone(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            Ok(Active { channel, consumer })
        };
        attempt.await.map_err(classify)
    }
}

async fn next(mut state: State) -> Option<(Result<Delivery>, State)> {
    let mut backoff = Backoff::forever();
    loop {
        if state.finished {
            return None;
        }
        let Some(active) = state.active.as_mut() else {
            match state.establish(true).await {
                Ok(active) => {
                    info!(queue = %state.queue, "RabbitMQ consumer re-established");
                    state.active = Some(active);
                }
                Err(Failure::Fatal(e)) => {
                    warn!(queue = %state.queue, error = %e, "RabbitMQ consumer ended");
                    state.finished = true;
                    return Some((Err(e), state));
                }
                Err(Failure::Transient(e)) => {
                    let _ = backoff.wait("consume", &e).await;
                }
            }
            continue;
        };
        match active.consumer.next().await {
            Some(Ok(delivery)) => return Some((Ok(to_delivery(delivery)), state)),
            Some(Err(e)) => {
                warn!(queue = %state.queue, error = %e, "RabbitMQ consumer failed; re-establishing");
                state.active = None;
            }
            None => {
                warn!(queue = %state.queue, "RabbitMQ consumer cancelled; re-establishing");
                state.active = None;
            }
        }
    }
}

fn to_delivery(delivery: lapin::message::Delivery) -> Delivery {
    Delivery {
        body: Bytes::from(delivery.data),
        properties: from_basic_properties(&delivery.properties),
        exchange: delivery.exchange.as_str().to_owned(),
        routing_key: delivery.routing_key.as_str().to_owned(),
        redelivered: delivery.redelivered,
        acker: Box::new(AmqpAcker(delivery.acker)),
    }
}

struct AmqpAcker(lapin::Acker);

impl AmqpAcker {
    fn settled(result: lapin::Result<bool>) -> Result<()> {
        match result {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Channel(
                "the delivery was already settled or its channel is closed".into(),
            )),
            Err(e) => Err(Error::Connection(e.to_string())),
        }
    }
}

#[async_trait]
impl Acker for AmqpAcker {
    async fn ack(&self) -> Result<()> {
        Self::settled(self.0.ack(BasicAckOptions::default()).await)
    }

    async fn nack(&self, requeue: bool) -> Result<()> {
        Self::settled(
            self.0
                .nack(BasicNackOptions {
                    requeue,
                    ..BasicNackOptions::default()
                })
                .await,
        )
    }
}
