//! Redis coordination adapter: the [`Coord`] port on Redis through deadpool-redis.
//!
//! - kv: GET / SET PX / SET NX PX / DEL / PTTL / INCRBY; `delete_if_eq` is a Lua script.
//! - semaphores: a sorted set of holders scored by lease expiry (ms), maintained by Lua scripts that
//!   read the server clock (`TIME`), so replicas with skewed clocks agree on who expired.
//! - pub/sub: one dedicated RESP2 pub/sub connection per subscription (not from the pool); dropping
//!   the returned stream closes it. A subscription whose connection breaks ends its stream.
//! - streams: XADD with `MAXLEN ~` (Redis trims whole nodes, so "about" `max_len` entries are kept),
//!   XREAD, XLEN. Blocking reads run on a second pool without response timeout, so they never starve
//!   the main pool; a blocking read cancelled mid-flight discards its connection.
//!
//! Every key, semaphore, channel and stream name gets [`RedisSettings::key_prefix`] prepended.

mod reply;
mod scripts;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use deadpool_redis::{Connection, Manager, Pool, Runtime};
use futures::StreamExt;
use futures::stream::BoxStream;
use redis::{AsyncConnectionConfig, RedisError};
use serde::{Deserialize, Serialize};

use self::scripts::{DELETE_IF_EQ, HOLDERS, TRY_ACQUIRE};
use super::{Coord, Error, Result, StreamEntry};

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for a reply to a non-blocking command (and added to a blocking read's own wait).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of the Redis adapter (the URL is passed apart: it may carry a password).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct RedisSettings {
    /// Connections in the command pool (and, separately, in the blocking-read pool).
    pub pool_size: usize,
    /// Prepended to every key, semaphore, channel and stream name.
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            pool_size: 16,
            key_prefix: "myelin:".to_owned(),
        }
    }
}

/// The Redis [`Coord`]. Cheap to share behind an `Arc`; the pools are internally synchronized.
pub struct RedisCoord {
    pool: Pool,
    /// Connections for XREAD BLOCK: no response timeout (the call has its own deadline).
    blocking: Pool,
    client: redis::Client,
    prefix: String,
}

impl std::fmt::Debug for RedisCoord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCoord")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCoord {
    /// Connects to `url` (`redis://[:password@]host:port[/db]`) and checks the server answers PING.
    pub async fn connect(url: &str, settings: &RedisSettings) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|err| Error::Connection(format!("invalid redis url: {err}")))?;
        let pool_size = settings.pool_size.max(1);
        let coord = Self {
            pool: build_pool(url, pool_size, Some(RESPONSE_TIMEOUT))?,
            blocking: build_pool(url, pool_size, None)?,
            client,
            prefix: settings.key_prefix.clone(),
        };
        coord.ping().await?;
        Ok(coord)
    }

    /// The prefix prepended to every name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn conn(&self) -> Result<Connection> {
        self.pool
            .get()
            .await
            .map_err(|err| Error::Connection(format!("cannot get a redis connection: {err}")))
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(|err| map_err(err, ""))
    }

    async fn xread_blocking(&self, cmd: &redis::Cmd, stream: &str, block: Duration) -> Result<redis::Value> {
        let conn = self
            .blocking
            .get()
            .await
            .map_err(|err| Error::Connection(format!("cannot get a redis connection: {err}")))?;
        let mut guard = InFlight { conn: Some(conn) };
        let Some(conn) = guard.conn.as_mut() else {
            return Err(Error::Backend("connection vanished".to_owned()));
        };
        let reply = tokio::time::timeout(block + RESPONSE_TIMEOUT, cmd.query_async(conn))
            .await
            .map_err(|_| Error::Connection("redis did not answer a blocking XREAD in time".to_owned()))?
            .map_err(|err| map_err(err, stream))?;
        guard.finish();
        Ok(reply)
    }
}

/// A blocking-pool connection with a command in flight: dropped before `finish` (the read was
/// cancelled or timed out), the connection is detached from the pool and closed instead of
/// being handed to the next reader while the server still blocks on it.
struct InFlight {
    conn: Option<Connection>,
}

impl InFlight {
    fn finish(mut self) {
        drop(self.conn.take());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(Connection::take(conn));
        }
    }
}

fn build_pool(url: &str, size: usize, response_timeout: Option<Duration>) -> Result<Pool> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(response_timeout);
    let manager =
        Manager::new_with_config(url, config).map_err(|err| Error::Connection(format!("invalid redis url: {err}")))?;
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(RESPONSE_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|err| Error::Connection(format!("cannot build the redis pool: {err}")))
}

/// Maps a Redis error: WRONGTYPE to [`Error::WrongType`] (for `key`), IO to [`Error::Connection`].
fn map_err(err: RedisError, key: &str) -> Error {
    if err.code() == Some("WRONGTYPE") {
        Error::WrongType(key.to_owned())
    } else if err.is_io_error() || err.is_connection_refusal() || err.is_connection_dropped() || err.is_timeout() {
        Error::Connection(err.to_string())
    } else {
        Error::Backend(err.to_string())
    }
}

/// Milliseconds for PX/PEXPIRE: at least 1 (0 is rejected by Redis), saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Coord for RedisCoord {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let key = self.key(key);
        let mut conn = self.conn().await?;
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &key))?;
        Ok(value.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        let key = self.key(key);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(&value[..]);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        let mut conn = self.conn().await?;
        cmd.query_async::<()>(&mut conn).await.map_err(|err| map_err(err, &key))
    }

    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        let key = self.key(key);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(&value[..]).arg("NX");
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        let mut conn = self.conn().await?;
        let reply: redis::Value = cmd.query_async(&mut conn).await.map_err(|err| map_err(err, &key))?;
        Ok(!matches!(reply, redis::Value::Nil))
    }

    async fn delete_if_eq(&self, key: &str, expected: &[u8]) -> Result<bool> {
        let key = self.key(key);
        let mut conn = self.conn().await?;
        let deleted: i64 = DELETE_IF_EQ
            .key(&key)
            .arg(expected)
            .invoke_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &key))?;
        Ok(deleted > 0)
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let key = self.key(key);
        let mut conn = self.conn().await?;
        let deleted: i64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &key))?;
        Ok(deleted > 0)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let key = self.key(key);
        let mut conn = self.conn().await?;
        let ms: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &key))?;
        // -2: no key, -1: no TTL.
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    async fn incr(&self, key: &str, by: i64) -> Result<i64> {
        let key = self.key(key);
        let mut conn = self.conn().await?;
        redis::cmd("INCRBY")
            .arg(&key)
            .arg(by)
            .query_async(&mut conn)
            .await
            .map_err(|err| {
                if err.to_string().contains("not an integer") {
                    Error::WrongType(key.clone())
                } else {
                    map_err(err, &key)
                }
            })
    }

    async fn try_acquire(&self, name: &str, holder: &str, limit: u32, lease: Duration) -> Result<bool> {
        let name = self.key(name);
        let mut conn = self.conn().await?;
        let taken: i64 = TRY_ACQUIRE
            .key(&name)
            .arg(holder)
            .arg(limit)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &name))?;
        Ok(taken == 1)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        let name = self.key(name);
        let mut conn = self.conn().await?;
        redis::cmd("ZREM")
            .arg(&name)
            .arg(holder)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|err| map_err(err, &name))
    }

    async fn holders(&self, name: &str) -> Result<u32> {
        let name = self.key(name);
        let mut conn = self.conn().await?;
        HOLDERS
            .key(&name)
            .invoke_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &name))
    }

    async fn publish(&self, channel: &str, payload: Bytes) -> Result<()> {
        let channel = self.key(channel);
        let mut conn = self.conn().await?;
        redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&payload[..])
            .query_async::<()>(&mut conn)
            .await
            .map_err(|err| map_err(err, &channel))
    }

    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, Bytes>> {
        let channel = self.key(channel);
        let subscribe = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            // Returns once the server confirmed the subscription.
            pubsub.subscribe(&channel).await?;
            Ok::<_, RedisError>(pubsub)
        };
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT + RESPONSE_TIMEOUT, subscribe)
            .await
            .map_err(|_| Error::Connection(format!("redis did not confirm the subscription to {channel} in time")))?
            .map_err(|err| map_err(err, &channel))?;
        Ok(pubsub
            .into_on_message()
            .map(|message| Bytes::copy_from_slice(message.get_payload_bytes()))
            .boxed())
    }

    async fn xadd(&self, stream: &str, fields: Vec<(String, Bytes)>, max_len: Option<usize>) -> Result<String> {
        let stream = self.key(stream);
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&stream);
        if let Some(max_len) = max_len {
            cmd.arg("MAXLEN").arg("~").arg(max_len);
        }
        cmd.arg("*");
        for (field, value) in &fields {
            cmd.arg(field).arg(&value[..]);
        }
        let mut conn = self.conn().await?;
        cmd.query_async(&mut conn).await.map_err(|err| map_err(err, &stream))
    }

    async fn xread(
        &self,
        stream: &str,
        after: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<StreamEntry>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let stream = self.key(stream);
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(count);
        // BLOCK 0 would wait forever; a zero `block` means "do not wait".
        let block = block.filter(|block| !block.is_zero());
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(millis(block));
        }
        cmd.arg("STREAMS").arg(&stream).arg(after);
        let reply = match block {
            Some(block) => self.xread_blocking(&cmd, &stream, block).await?,
            None => {
                let mut conn = self.conn().await?;
                cmd.query_async(&mut conn).await.map_err(|err| map_err(err, &stream))?
            }
        };
        reply::stream_entries(reply).map_err(|err| Error::Backend(format!("unexpected XREAD reply: {err}")))
    }

    async fn xlen(&self, stream: &str) -> Result<u64> {
        let stream = self.key(stream);
        let mut conn = self.conn().await?;
        redis::cmd("XLEN")
            .arg(&stream)
            .query_async(&mut conn)
            .await
            .map_err(|err| map_err(err, &stream))
    }

    async fn is_healthy(&self) -> bool {
        matches!(tokio::time::timeout(RESPONSE_TIMEOUT, self.ping()).await, Ok(Ok(())))
    }
}
