//! The coordination port: short-lived shared state between replicas.
//!
//! Two adapters implement [`Coord`]: [`redis::RedisCoord`] (deadpool-redis) and
//! [`memory::MemoryCoord`] (in-process). Both pass the conformance suite in
//! `tests/coord_conformance.rs`.
//!
//! Every key a caller passes is used as given; callers build keys with the builders in
//! `myelin-contracts` so that replicas agree. Adapters may be created with a prefix that is
//! prepended to every key and channel (tests use a unique one).

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

pub type SharedCoord = Arc<dyn Coord>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the coordination store: {0}")]
    Connection(String),
    #[error("coordination store error: {0}")]
    Backend(String),
    #[error("value at {0} has the wrong type")]
    WrongType(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One stream entry: its id (monotonic, `"<ms>-<seq>"` like Redis) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: String,
    pub fields: Vec<(String, Bytes)>,
}

#[async_trait]
pub trait Coord: Send + Sync + 'static {
    // ---- key/value with TTL
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()>;
    /// Sets only when absent; true when it set (a lock or a leader lease).
    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool>;
    /// Deletes only when the current value equals `expected` (releasing a lease you hold).
    async fn delete_if_eq(&self, key: &str, expected: &[u8]) -> Result<bool>;
    async fn delete(&self, key: &str) -> Result<bool>;
    /// Remaining time to live; None when the key is absent or has no TTL.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>>;

    // ---- atomic counters
    /// Adds `by` (may be negative) and returns the new value; a missing key counts as 0.
    async fn incr(&self, key: &str, by: i64) -> Result<i64>;

    // ---- counting semaphores (holders expire after `lease`, so a crashed holder frees its slot)
    /// Takes one of `limit` slots for `holder`; true when taken (or already held by `holder`).
    async fn try_acquire(&self, name: &str, holder: &str, limit: u32, lease: Duration) -> Result<bool>;
    async fn release(&self, name: &str, holder: &str) -> Result<()>;
    /// Live holders (expired ones are not counted).
    async fn holders(&self, name: &str) -> Result<u32>;

    // ---- pub/sub (fire and forget: only current subscribers get a message)
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<()>;
    /// Subscribes; the subscription is active when this returns.
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, Bytes>>;

    // ---- streams (append-only logs with ids; used for live log lines)
    /// Appends and returns the new entry id; keeps about `max_len` newest entries when given.
    async fn xadd(&self, stream: &str, fields: Vec<(String, Bytes)>, max_len: Option<usize>) -> Result<String>;
    /// Entries with id greater than `after` (`"0"` for all), at most `count`; waits up to `block`
    /// for at least one when there are none.
    async fn xread(&self, stream: &str, after: &str, count: usize, block: Option<Duration>)
    -> Result<Vec<StreamEntry>>;
    async fn xlen(&self, stream: &str) -> Result<u64>;

    async fn is_healthy(&self) -> bool;
}
