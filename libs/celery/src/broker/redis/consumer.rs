//! Consuming a list queue as kombu does: BRPOP over the priority sub-queues on a connection of the
//! consumer's own, at most `prefetch` unacked deliveries, each recorded in `unacked` /
//! `unacked_index` until settled.
//!
//! A background task pops only when the stream has room for a delivery (and the prefetch allows),
//! so nothing is popped that nobody reads. It reconnects with backoff when Redis goes away and
//! runs `restore_visible` every `restore_interval`. When the stream is dropped the task finishes
//! its BRPOP in flight and puts every delivery still unsettled back at the head of its queue,
//! marked redelivered (kombu's `restore_unacked` on channel close). If the process dies instead,
//! the visibility timeout brings them back.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use myelin_common::bus::{Acker, Consumer, Delivery, Error, Result};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::envelope::{self, Decoded};
use super::routing::priority_lists;
use super::{Inner, redis_err};

/// The deliveries a consumer holds unsettled, shared with their ackers.
struct Held {
    tags: Mutex<HashSet<String>>,
    credit: Notify,
}

impl Held {
    fn lock(&self) -> MutexGuard<'_, HashSet<String>> {
        self.tags.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes `tag` out (false when it was settled already or handed back).
    fn take(&self, tag: &str) -> bool {
        let removed = self.lock().remove(tag);
        self.credit.notify_one();
        removed
    }
}

/// Starts consuming `queue`: checks a dedicated connection can be opened, then spawns the loop.
pub(super) async fn start(inner: Arc<Inner>, queue: String, prefetch: u16) -> Result<Consumer> {
    let conn = connect(&inner).await?;
    let held = Arc::new(Held {
        tags: Mutex::new(HashSet::new()),
        credit: Notify::new(),
    });
    let (tx, rx) = mpsc::channel(1);
    let stop = CancellationToken::new();
    let looper = Loop {
        inner,
        queue,
        prefetch: usize::from(prefetch),
        held,
        tx,
    };
    tokio::spawn(looper.run(conn, stop.clone()));
    let guard = stop.drop_guard();
    Ok(futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|d| (d, (rx, guard)))
    })
    .boxed())
}

async fn connect(inner: &Inner) -> Result<MultiplexedConnection> {
    // BRPOP blocks for `polling_interval`: give replies that much more than the default.
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(inner.options.polling_interval + Duration::from_secs(10)))
        .set_connection_timeout(Some(Duration::from_secs(5)));
    inner
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(redis_err)
}

struct Loop {
    inner: Arc<Inner>,
    queue: String,
    prefetch: usize,
    held: Arc<Held>,
    tx: mpsc::Sender<Result<Delivery>>,
}

impl Loop {
    async fn run(self, conn: MultiplexedConnection, stop: CancellationToken) {
        let lists = priority_lists(&self.inner.options.priority_steps, &self.queue);
        let mut conn = Some(conn);
        let mut failures: u32 = 0;
        // kombu restores overdue messages when a consumer starts (`on_poll_init`).
        let mut next_restore = Instant::now();
        let mut next_refresh = Instant::now() + self.refresh_every();
        loop {
            if Instant::now() >= next_restore {
                next_restore = Instant::now() + self.inner.options.restore_interval;
                if let Err(e) = self.inner.restore_visible().await {
                    warn!(queue = %self.queue, error = %e, "restore_visible failed");
                }
            }
            if Instant::now() >= next_refresh {
                next_refresh = Instant::now() + self.refresh_every();
                if let Err(e) = self.inner.refresh_bindings(&self.queue).await {
                    warn!(queue = %self.queue, error = %e, "cannot refresh the queue's bindings");
                }
            }
            // Prefetch: wait for a settlement (waking up now and then for the chores above).
            if self.prefetch > 0 && self.held.lock().len() >= self.prefetch {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = self.held.credit.notified() => {}
                    () = tokio::time::sleep(self.inner.options.polling_interval) => {}
                }
                continue;
            }
            let permit = tokio::select! {
                () = stop.cancelled() => break,
                permit = self.tx.reserve() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let Some(c) = conn.as_mut() else {
                match connect(&self.inner).await {
                    Ok(c) => {
                        info!(queue = %self.queue, "Redis consumer reconnected");
                        conn = Some(c);
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        warn!(queue = %self.queue, error = %e, "cannot reconnect the Redis consumer");
                        tokio::select! {
                            () = stop.cancelled() => break,
                            () = tokio::time::sleep(backoff(failures)) => {}
                        }
                    }
                }
                continue;
            };
            let timeout = self.inner.options.polling_interval.as_secs_f64().max(0.01);
            let popped: redis::RedisResult<Option<(String, String)>> =
                redis::cmd("BRPOP").arg(&lists).arg(timeout).query_async(c).await;
            match popped {
                Ok(None) => {}
                Ok(Some((list, raw))) => {
                    failures = 0;
                    if let Some(delivery) = self.accept(&list, raw).await {
                        permit.send(Ok(delivery));
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    warn!(queue = %self.queue, error = %e, "BRPOP failed; reconnecting");
                    conn = None;
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(backoff(failures)) => {}
                    }
                }
            }
        }
        self.hand_back().await;
    }

    /// How often the bindings of an expiring queue are refreshed (kombu: a third of their TTL).
    fn refresh_every(&self) -> Duration {
        let ms = self.inner.topology().expires.get(&self.queue).copied();
        match ms {
            Some(ms) => Duration::from_millis(ms.saturating_mul(2).max(3_600_000) / 3),
            None => Duration::from_secs(86_400 * 365),
        }
    }

    /// Records a popped message as unacked and makes its delivery.
    async fn accept(&self, list: &str, raw: String) -> Option<Delivery> {
        let decoded = match envelope::decode(&raw) {
            Ok(d) => d,
            Err(e) => {
                // kombu would fail on it as well; it cannot be tracked without a delivery tag.
                warn!(queue = %self.queue, error = %e, "dropping a message that is not a kombu envelope");
                return None;
            }
        };
        let Decoded {
            body,
            properties,
            exchange,
            routing_key,
            delivery_tag,
            redelivered,
        } = decoded;
        if let Err(e) = self
            .inner
            .append_unacked(&delivery_tag, &raw, &exchange, &routing_key)
            .await
        {
            // Not recorded: put it back where it was rather than hold it untracked.
            warn!(queue = %self.queue, error = %e, "cannot record an unacked message; putting it back");
            let mut conn = self.inner.conn.clone();
            let back: redis::RedisResult<()> = redis::cmd("RPUSH").arg(list).arg(&raw).query_async(&mut conn).await;
            if let Err(e) = back {
                warn!(queue = %self.queue, error = %e, "cannot put a message back; the message is lost");
            }
            return None;
        }
        self.held.lock().insert(delivery_tag.clone());
        Some(Delivery {
            body,
            properties,
            exchange,
            routing_key,
            redelivered,
            acker: Box::new(RedisAcker {
                inner: self.inner.clone(),
                held: self.held.clone(),
                tag: delivery_tag,
            }),
        })
    }

    /// Puts every unsettled delivery back at the head of its queue (kombu's `restore_unacked`).
    async fn hand_back(&self) {
        let tags: Vec<String> = self.held.lock().drain().collect();
        for tag in tags {
            if let Err(e) = self.inner.restore_by_tag(&tag, false).await {
                warn!(queue = %self.queue, tag, error = %e, "cannot restore an unacked message (the visibility timeout will)");
            }
        }
    }
}

/// 200 ms × 2^(n−1), at most 5 s.
fn backoff(n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(5);
    Duration::from_millis(200u64 << exp).min(Duration::from_secs(5))
}

struct RedisAcker {
    inner: Arc<Inner>,
    held: Arc<Held>,
    tag: String,
}

impl RedisAcker {
    fn take(&self) -> Result<()> {
        if self.held.take(&self.tag) {
            Ok(())
        } else {
            Err(Error::Channel(
                "the delivery was already settled or its consumer is gone".into(),
            ))
        }
    }
}

#[async_trait]
impl Acker for RedisAcker {
    async fn ack(&self) -> Result<()> {
        self.take()?;
        self.inner.remove_unacked(&self.tag).await
    }

    async fn nack(&self, requeue: bool) -> Result<()> {
        self.take()?;
        if requeue {
            // kombu's `reject(requeue=True)`: `restore_by_tag(leftmost=True)`.
            self.inner.restore_by_tag(&self.tag, true).await
        } else {
            self.inner.remove_unacked(&self.tag).await
        }
    }
}
