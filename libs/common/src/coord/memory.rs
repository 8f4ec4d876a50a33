//! In-process coordination adapter: the [`Coord`] port on plain memory, for embedded mode and tests.
//!
//! State is split into shards (a `Mutex` each, chosen by key hash) so unrelated keys do not contend.
//! Keys with a TTL expire lazily (a read of an expired key removes it) and every write also pops a
//! few due entries from the shard's expiry heap, so forgotten keys do not pile up. Semaphore holders
//! carry a lease deadline and are dropped when it passes. Pub/sub uses one tokio `broadcast`
//! channel per channel name: a subscriber that falls more than [`CHANNEL_CAPACITY`] messages behind
//! loses the oldest ones instead of slowing publishers. Values live in `kv`, streams in `streams`.
//!
//! Unlike Redis the kinds of state (values, semaphores, streams) have separate namespaces, so using
//! one name as two kinds never reports [`Error::WrongType`]; `delete` removes the name in all three.
//! Clones share the same state.

mod kv;
mod streams;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::wrappers::BroadcastStream;

use self::kv::{KvShard, Sharded, parse_counter};
use super::{Coord, Error, Result, StreamEntry};

/// Messages a pub/sub subscriber may fall behind before it loses the oldest ones.
pub const CHANNEL_CAPACITY: usize = 1024;

/// The in-process [`Coord`]; cheap to clone (clones share state).
#[derive(Clone, Default)]
pub struct MemoryCoord {
    inner: Arc<Inner>,
    prefix: Arc<str>,
}

#[derive(Default)]
struct Inner {
    kv: Sharded<KvShard>,
    semaphores: Sharded<HashMap<String, HashMap<String, Instant>>>,
    channels: RwLock<HashMap<String, broadcast::Sender<Bytes>>>,
    streams: Sharded<HashMap<String, Arc<streams::Stream>>>,
}

impl MemoryCoord {
    /// An empty store without key prefix.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that prepends `prefix` to every key, semaphore, channel and stream name.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            inner: Arc::default(),
            prefix: Arc::from(prefix.into()),
        }
    }

    fn key<'a>(&self, key: &'a str) -> Cow<'a, str> {
        if self.prefix.is_empty() {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(format!("{}{key}", self.prefix))
        }
    }
}

impl std::fmt::Debug for MemoryCoord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCoord")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Coord for MemoryCoord {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let key = self.key(key);
        let mut shard = self.inner.kv.lock(&key);
        Ok(shard.live(&key, Instant::now()).map(|entry| entry.value.clone()))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        let key = self.key(key);
        let now = Instant::now();
        let mut shard = self.inner.kv.lock(&key);
        shard.sweep(now);
        shard.put(key.into_owned(), value, ttl, now);
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        let key = self.key(key);
        let now = Instant::now();
        let mut shard = self.inner.kv.lock(&key);
        shard.sweep(now);
        if shard.live(&key, now).is_some() {
            return Ok(false);
        }
        shard.put(key.into_owned(), value, ttl, now);
        Ok(true)
    }

    async fn delete_if_eq(&self, key: &str, expected: &[u8]) -> Result<bool> {
        let key = self.key(key);
        let mut shard = self.inner.kv.lock(&key);
        if shard
            .live(&key, Instant::now())
            .is_some_and(|entry| entry.value == expected)
        {
            shard.map.remove(key.as_ref());
            return Ok(true);
        }
        Ok(false)
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let key = self.key(key);
        let value = {
            let mut shard = self.inner.kv.lock(&key);
            shard.live(&key, Instant::now()).is_some() && shard.map.remove(key.as_ref()).is_some()
        };
        let semaphore = self.inner.semaphores.lock(&key).remove(key.as_ref()).is_some();
        let stream = self.inner.streams.lock(&key).remove(key.as_ref());
        if let Some(stream) = &stream {
            stream.wake_readers();
        }
        Ok(value || semaphore || stream.is_some())
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let key = self.key(key);
        let now = Instant::now();
        let mut shard = self.inner.kv.lock(&key);
        Ok(shard
            .live(&key, now)
            .and_then(|entry| entry.expires_at)
            .map(|at| at - now))
    }

    async fn incr(&self, key: &str, by: i64) -> Result<i64> {
        let key = self.key(key);
        let now = Instant::now();
        let mut shard = self.inner.kv.lock(&key);
        shard.sweep(now);
        let current = match shard.live(&key, now) {
            Some(entry) => parse_counter(&entry.value).ok_or_else(|| Error::WrongType(key.to_string()))?,
            None => 0,
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| Error::Backend(format!("incrementing {key} by {by} would overflow")))?;
        let value = Bytes::from(next.to_string());
        match shard.live(&key, now) {
            // Like Redis INCRBY, an existing key keeps its TTL.
            Some(entry) => entry.value = value,
            None => shard.put(key.into_owned(), value, None, now),
        }
        Ok(next)
    }

    async fn try_acquire(&self, name: &str, holder: &str, limit: u32, lease: Duration) -> Result<bool> {
        let name = self.key(name);
        let now = Instant::now();
        // A lease too long to represent is as good as a century.
        let expires_at = now
            .checked_add(lease)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        let mut shard = self.inner.semaphores.lock(&name);
        if let Some(holders) = shard.get_mut(name.as_ref()) {
            holders.retain(|_, at| *at > now);
            if let Some(at) = holders.get_mut(holder) {
                *at = expires_at;
                return Ok(true);
            }
            if holders.len() >= limit as usize {
                return Ok(false);
            }
            holders.insert(holder.to_owned(), expires_at);
            return Ok(true);
        }
        if limit == 0 {
            return Ok(false);
        }
        shard.insert(name.into_owned(), HashMap::from([(holder.to_owned(), expires_at)]));
        Ok(true)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        let name = self.key(name);
        let mut shard = self.inner.semaphores.lock(&name);
        if let Some(holders) = shard.get_mut(name.as_ref()) {
            holders.remove(holder);
            if holders.is_empty() {
                shard.remove(name.as_ref());
            }
        }
        Ok(())
    }

    async fn holders(&self, name: &str) -> Result<u32> {
        let name = self.key(name);
        let now = Instant::now();
        let mut shard = self.inner.semaphores.lock(&name);
        let Some(holders) = shard.get_mut(name.as_ref()) else {
            return Ok(0);
        };
        holders.retain(|_, at| *at > now);
        let live = holders.len();
        if live == 0 {
            shard.remove(name.as_ref());
        }
        Ok(u32::try_from(live).unwrap_or(u32::MAX))
    }

    async fn publish(&self, channel: &str, payload: Bytes) -> Result<()> {
        let channel = self.key(channel);
        let unheard = {
            let channels = self.inner.channels.read().unwrap_or_else(PoisonError::into_inner);
            channels
                .get(channel.as_ref())
                .is_some_and(|sender| sender.send(payload).is_err())
        };
        if unheard {
            // Every subscriber is gone: forget the channel (unless someone subscribed meanwhile).
            let mut channels = self.inner.channels.write().unwrap_or_else(PoisonError::into_inner);
            if channels
                .get(channel.as_ref())
                .is_some_and(|sender| sender.receiver_count() == 0)
            {
                channels.remove(channel.as_ref());
            }
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, Bytes>> {
        let channel = self.key(channel);
        let receiver = {
            let mut channels = self.inner.channels.write().unwrap_or_else(PoisonError::into_inner);
            match channels.get(channel.as_ref()) {
                Some(sender) => sender.subscribe(),
                None => {
                    let (sender, receiver) = broadcast::channel(CHANNEL_CAPACITY);
                    channels.insert(channel.into_owned(), sender);
                    receiver
                }
            }
        };
        // A lagging subscriber gets a `Lagged` error in place of the messages it lost: skip it.
        Ok(BroadcastStream::new(receiver)
            .filter_map(|message| futures::future::ready(message.ok()))
            .boxed())
    }

    async fn xadd(&self, stream: &str, fields: Vec<(String, Bytes)>, max_len: Option<usize>) -> Result<String> {
        if fields.is_empty() {
            return Err(Error::Backend("a stream entry needs at least one field".to_owned()));
        }
        let stream = self.stream_or_create(&self.key(stream));
        Ok(stream.append(fields, max_len))
    }

    async fn xread(
        &self,
        stream: &str,
        after: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<StreamEntry>> {
        let after = streams::StreamId::parse(after)?;
        let name = self.key(stream);
        if count == 0 {
            return Ok(Vec::new());
        }
        let Some(block) = block.filter(|block| !block.is_zero()) else {
            let stream = self.inner.streams.lock(&name).get(name.as_ref()).cloned();
            return Ok(stream.map(|stream| stream.read_after(after, count)).unwrap_or_default());
        };
        let deadline = Instant::now() + block;
        loop {
            // Looked up on every round: a delete replaces the stream and wakes its readers.
            let stream = self.stream_or_create(&name);
            let woken = stream.appended();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let entries = stream.read_after(after, count);
            if !entries.is_empty() {
                return Ok(entries);
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn xlen(&self, stream: &str) -> Result<u64> {
        let name = self.key(stream);
        let stream = self.inner.streams.lock(&name).get(name.as_ref()).cloned();
        Ok(stream.map_or(0, |stream| stream.len()))
    }

    async fn is_healthy(&self) -> bool {
        true
    }
}

impl MemoryCoord {
    fn stream_or_create(&self, name: &str) -> Arc<streams::Stream> {
        let mut shard = self.inner.streams.lock(name);
        if let Some(stream) = shard.get(name) {
            return Arc::clone(stream);
        }
        let stream = Arc::new(streams::Stream::default());
        shard.insert(name.to_owned(), Arc::clone(&stream));
        stream
    }
}
