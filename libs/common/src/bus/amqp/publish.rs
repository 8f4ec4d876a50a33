//! Publishing with publisher confirms.
//!
//! `pool_size` slots, used round robin, each hold a connection checked out of the deadpool-lapin
//! pool and one channel on it in confirm mode. Many publishes share a slot's channel at once
//! (lapin pipelines them and resolves each confirm separately). A slot whose channel or
//! connection died is refilled on next use: the dead connection goes back to the pool, whose
//! recycle check discards it, and a fresh one is created.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deadpool_lapin::{Pool, PoolConfig, Runtime, Timeouts};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{Channel, Confirmation};
use tracing::info;

use super::convert::{short, to_basic_properties};
use super::{AmqpSettings, Backoff, CONNECT_TIMEOUT, Failure, classify};
use crate::bus::{Error, OutgoingMessage, Result};

pub(super) struct Publisher {
    pool: Pool,
    slots: Vec<tokio::sync::Mutex<Slot>>,
    next: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    /// Keeps the connection checked out of the pool while its channel is in use.
    connection: Option<deadpool_lapin::Connection>,
    channel: Option<Channel>,
}

impl Publisher {
    pub(super) fn new(url: &str, properties: lapin::ConnectionProperties, settings: &AmqpSettings) -> Result<Self> {
        let size = settings.pool_size.max(1);
        let timeouts = Timeouts {
            wait: Some(Duration::from_secs(settings.reconnect_timeout_secs.max(1))),
            create: Some(CONNECT_TIMEOUT),
            recycle: Some(CONNECT_TIMEOUT),
        };
        let config = deadpool_lapin::Config {
            url: Some(url.to_owned()),
            pool: Some(PoolConfig {
                max_size: size,
                timeouts,
                ..PoolConfig::default()
            }),
        };
        let pool = config
            .create_pool(move || properties.clone(), Runtime::Tokio1)
            .map_err(|e| Error::Connection(format!("cannot create the RabbitMQ connection pool: {e}")))?;
        let slots = (0..size).map(|_| tokio::sync::Mutex::new(Slot::default())).collect();
        Ok(Self {
            pool,
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// Publishes and waits for the broker's confirm, retrying on connection failures until
    /// `timeout`. A nack is [`Error::NotConfirmed`]; a channel-level refusal (e.g. unknown
    /// exchange) is returned after one retry on a fresh channel (the refusal closes the shared
    /// channel, so it may have been caused by a concurrent publish).
    pub(super) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        message: &OutgoingMessage,
        timeout: Duration,
    ) -> Result<()> {
        let exchange = short(exchange, "exchange name")?;
        let routing_key = short(routing_key, "routing key")?;
        let properties = to_basic_properties(&message.properties)?;
        let mut backoff = Backoff::until(timeout);
        let mut refused_once = false;
        loop {
            let attempt = async {
                let channel = self.channel().await?;
                let confirm = channel
                    .basic_publish(
                        exchange.clone(),
                        routing_key.clone(),
                        BasicPublishOptions::default(),
                        &message.body,
                        properties.clone(),
                    )
                    .await?;
                confirm.await
            };
            let outcome = match tokio::time::timeout(backoff.remaining(), attempt).await {
                Ok(result) => result.map_err(classify),
                Err(_) => Err(Failure::Transient(
                    "no publisher confirm before the reconnect timeout".into(),
                )),
            };
            match outcome {
                Ok(Confirmation::Ack(_)) => return Ok(()),
                Ok(Confirmation::Nack(_)) => return Err(Error::NotConfirmed),
                Ok(Confirmation::NotRequested) => {
                    return Err(Error::Channel(
                        "publisher confirms are not enabled on the channel".into(),
                    ));
                }
                Err(Failure::Fatal(e)) if refused_once => return Err(e),
                Err(Failure::Fatal(_)) => refused_once = true,
                Err(Failure::Transient(e)) => backoff.wait("publish", &e).await?,
            }
        }
    }

    /// A live confirm-mode channel from the next slot, refilling the slot if needed.
    async fn channel(&self) -> lapin::Result<Channel> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[index].lock().await;
        let alive = |s: &Slot| {
            s.connection.as_ref().is_some_and(|c| c.status().connected())
                && s.channel.as_ref().is_some_and(|c| c.status().connected())
        };
        if alive(&slot)
            && let Some(channel) = &slot.channel
        {
            return Ok(channel.clone());
        }
        let replacing = slot.connection.is_some();
        // Return a dead connection to the pool first: the pool's recycle check drops it.
        *slot = Slot::default();
        let connection = self.pool.get().await.map_err(|e| match e {
            deadpool_lapin::PoolError::Backend(e) => e,
            other => std::io::Error::other(other.to_string()).into(),
        })?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        if replacing {
            info!(slot = index, "RabbitMQ publisher channel re-established");
        }
        *slot = Slot {
            connection: Some(connection),
            channel: Some(channel.clone()),
        };
        Ok(channel)
    }
}
