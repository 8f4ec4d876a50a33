//! [`KombuRedisBus`]: the bus port on Redis with kombu's exact layout (`kombu/transport/redis.py`),
//! so Python Celery clients and workers using `broker='redis://...'` share queues with us.
//!
//! - Messages are kombu's JSON envelopes ([`envelope`]) in lists; publishing LPUSHes, consuming
//!   BRPOPs (one dedicated connection per consumer) across the priority sub-queues.
//! - The default exchange `""` pushes to the list named by the routing key. Direct and topic
//!   exchanges route through the binding sets `_kombu.binding.<exchange>`; fanout exchanges use
//!   PUB/SUB on `/<db>.<exchange>` (kombu's `keyprefix_fanout`), so Celery's `celery.pidbox`
//!   remote control reaches our workers and theirs.
//! - Priorities follow kombu: message priority `p` (clamped to 0..=9) goes to the sub-queue of the
//!   largest priority step ≤ `p`, and BRPOP lists the step-0 list first. So on Redis, as in
//!   Celery, **lower numbers are served first** (Celery: "0 being highest priority").
//! - Ack emulation, visibility timeout and restores: see [`unacked`].
//!
//! Redis stores no exchange types; as in kombu each process knows the kinds it declared. An
//! exchange this bus did not declare counts as direct, except Celery's well-known
//! `celery.pidbox` and `celeryev` (fanout: Celery's `get_exchange` turns the events exchange
//! into fanout on Redis). Binding to an exchange of unknown kind fails
//! with [`Error::NotFound`] (kombu raises too). Redis has no message TTL: `expiration` is carried
//! but not enforced; dead-letter exchanges are not supported (a nack without requeue drops).

mod consumer;
mod envelope;
mod fanout;
pub mod routing;
mod unacked;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use myelin_common::bus::{
    Bus, ConsumeOptions, Consumer, Error, ExchangeKind, ExchangeSpec, OutgoingMessage, QueueSpec, Result,
};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use self::routing::{
    BINDING_DEADLINES, PRIORITY_STEPS, binding_key, binding_permanent_key, fanout_topic, member, parse_member,
    priority_lists, queue_for_priority, topic_matches,
};
pub use self::unacked::{UNACKED, UNACKED_INDEX, UNACKED_MUTEX};

/// kombu's `REFRESH_BINDING`: SADD the member and push the exchange's sweep deadline.
const REFRESH_BINDING: &str = r"
redis.call('SADD', KEYS[1], ARGV[1])
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], 'GT', ms + tonumber(ARGV[3]), ARGV[2])
";
/// kombu's `MIN_BINDING_TTL` (ms) and `BINDING_EXPIRES_FACTOR`.
const MIN_BINDING_TTL_MS: u64 = 3_600_000;
const BINDING_EXPIRES_FACTOR: u64 = 2;

/// Tuning, with kombu's defaults (transport options of the same names).
#[derive(Debug, Clone, PartialEq)]
pub struct RedisBrokerOptions {
    /// Unacked messages older than this are delivered again (kombu: 3600 s). Must exceed the
    /// longest task run plus ETA/countdown wait, or tasks run twice.
    pub visibility_timeout: Duration,
    /// kombu's `priority_steps` (default `[0, 3, 6, 9]`, ascending).
    pub priority_steps: Vec<u8>,
    /// BRPOP timeout (kombu's `brpop_timeout`/`polling_interval`, 1 s): how often an idle
    /// consumer wakes up to check for shutdown and overdue unacked messages.
    pub polling_interval: Duration,
    /// How often each consumer runs [`KombuRedisBus::restore_visible`] (kombu: about every 10 s).
    pub restore_interval: Duration,
    /// kombu's `unacked_restore_limit` (`None`: all overdue tags at once).
    pub unacked_restore_limit: Option<usize>,
    /// kombu's `unacked_mutex_expire` (300 s).
    pub unacked_mutex_expire: Duration,
}

impl Default for RedisBrokerOptions {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(3600),
            priority_steps: PRIORITY_STEPS.to_vec(),
            polling_interval: Duration::from_secs(1),
            restore_interval: Duration::from_secs(10),
            unacked_restore_limit: None,
            unacked_mutex_expire: Duration::from_secs(300),
        }
    }
}

/// The bus port on Redis, kombu-compatible. Cheap to clone.
#[derive(Clone)]
pub struct KombuRedisBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KombuRedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KombuRedisBus")
            .field("db", &self.inner.db)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    client: redis::Client,
    conn: ConnectionManager,
    db: i64,
    options: RedisBrokerOptions,
    topology: Mutex<Topology>,
}

/// What this process declared (kombu keeps the same in memory, per channel).
#[derive(Default)]
struct Topology {
    exchanges: HashMap<String, ExchangeSpec>,
    /// `x-expires` of declared queues, in ms.
    expires: HashMap<String, u64>,
    auto_delete: BTreeSet<String>,
    /// queue → (exchange, routing key) of queues bound to a fanout exchange.
    fanout_queues: HashMap<String, (String, String)>,
    /// queue → its bindings made here, as (exchange, routing key, member).
    bindings: HashMap<String, Vec<(String, String, String)>>,
}

pub(crate) fn redis_err(e: redis::RedisError) -> Error {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        Error::Connection(e.to_string())
    } else {
        Error::Channel(e.to_string())
    }
}

impl KombuRedisBus {
    /// Connects to `url` (`redis://[user:password@]host[:port][/db]`, `rediss://` for TLS) with
    /// kombu's default options, and checks the connection with PING.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, RedisBrokerOptions::default()).await
    }

    /// Connects with the given options.
    pub async fn connect_with(url: &str, mut options: RedisBrokerOptions) -> Result<Self> {
        options.priority_steps.sort_unstable();
        options.priority_steps.dedup();
        if options.priority_steps.is_empty() {
            options.priority_steps = PRIORITY_STEPS.to_vec();
        }
        let client = redis::Client::open(url).map_err(|e| Error::Connection(e.to_string()))?;
        let db = client.get_connection_info().redis_settings().db();
        let mut conn = ConnectionManager::new(client.clone()).await.map_err(redis_err)?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(redis_err)?;
        let inner = Inner {
            client,
            conn,
            db,
            options,
            topology: Mutex::new(Topology::default()),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The Redis database number in use (it names the fanout channels `/<db>.<exchange>`).
    pub fn db(&self) -> i64 {
        self.inner.db
    }

    /// The options in use.
    pub fn options(&self) -> &RedisBrokerOptions {
        &self.inner.options
    }

    /// kombu's `restore_visible`: puts back every message unacked for longer than the visibility
    /// timeout, unless another process holds `unacked_mutex`. Consumers run it every
    /// `restore_interval`; returns how many messages were restored.
    pub async fn restore_visible(&self) -> Result<usize> {
        self.inner.restore_visible().await
    }

    /// Messages waiting in `queue`, all priorities together (kombu's `_size`).
    pub async fn queue_len(&self, queue: &str) -> Result<usize> {
        let mut pipe = redis::pipe();
        for list in priority_lists(&self.inner.options.priority_steps, queue) {
            pipe.llen(list);
        }
        let mut conn = self.inner.conn.clone();
        let sizes: Vec<usize> = pipe.query_async(&mut conn).await.map_err(redis_err)?;
        Ok(sizes.iter().sum())
    }
}

impl Inner {
    fn topology(&self) -> MutexGuard<'_, Topology> {
        self.topology.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// kombu's `typeof(exchange)`, with Celery's well-known exchanges as defaults.
    fn kind_of(&self, exchange: &str) -> Option<ExchangeKind> {
        if let Some(spec) = self.topology().exchanges.get(exchange) {
            return Some(spec.kind);
        }
        match exchange {
            "celery.pidbox" => Some(ExchangeKind::Fanout),
            "celeryev" => Some(ExchangeKind::Fanout),
            _ => None,
        }
    }

    /// kombu's `_lookup`: the queues `routing_key` reaches through `exchange`.
    async fn lookup(&self, exchange: &str, routing_key: &str) -> Result<Vec<String>> {
        if exchange.is_empty() {
            return Ok(if routing_key.is_empty() {
                Vec::new()
            } else {
                vec![routing_key.to_owned()]
            });
        }
        let kind = self.kind_of(exchange).unwrap_or(ExchangeKind::Direct);
        let mut conn = self.conn.clone();
        let members: Vec<String> = conn.smembers(binding_key(exchange)).await.map_err(redis_err)?;
        let queues: BTreeSet<String> = members
            .iter()
            .filter_map(|m| parse_member(m))
            .filter(|(rk, _, _)| match kind {
                ExchangeKind::Direct => *rk == routing_key,
                ExchangeKind::Topic => topic_matches(rk, routing_key),
                ExchangeKind::Fanout => true,
            })
            .map(|(_, _, q)| q.to_owned())
            .collect();
        Ok(queues.into_iter().collect())
    }

    /// kombu's `_put`: LPUSH to the priority sub-queue (and PEXPIRE with `x-expires`).
    async fn put(&self, queue: &str, payload: &str, priority: u8) -> Result<()> {
        let steps = &self.options.priority_steps;
        let key = queue_for_priority(steps, queue, priority);
        let expires = self.topology().expires.get(queue).copied();
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.lpush(&key, payload).ignore();
        if let Some(ms) = expires {
            for list in priority_lists(steps, queue) {
                pipe.cmd("PEXPIRE").arg(list).arg(ms).ignore();
            }
        }
        pipe.exec_async(&mut conn).await.map_err(redis_err)
    }

    /// Adds a binding member the way kombu's `_queue_bind` does.
    async fn add_binding(&self, exchange: &str, queue: &str, member: &str) -> Result<()> {
        let expires = self.topology().expires.get(queue).copied();
        let mut conn = self.conn.clone();
        match expires {
            Some(ms) => {
                let ttl = (ms.saturating_mul(BINDING_EXPIRES_FACTOR)).max(MIN_BINDING_TTL_MS);
                let _: () = Script::new(REFRESH_BINDING)
                    .key(binding_key(exchange))
                    .key(BINDING_DEADLINES)
                    .arg(member)
                    .arg(exchange)
                    .arg(ttl)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(redis_err)?;
                Ok(())
            }
            None => redis::pipe()
                .sadd(binding_key(exchange), member)
                .sadd(binding_permanent_key(exchange), member)
                .exec_async(&mut conn)
                .await
                .map_err(redis_err),
        }
    }

    /// Re-adds the bindings of `queue` (kombu's `_refresh_bindings` for expiring queues).
    async fn refresh_bindings(&self, queue: &str) -> Result<()> {
        let bindings = self.topology().bindings.get(queue).cloned().unwrap_or_default();
        for (exchange, _, member) in bindings {
            self.add_binding(&exchange, queue, &member).await?;
        }
        Ok(())
    }

    /// kombu's `queue_delete`: removes this process's bindings of `queue` and its lists.
    async fn delete_queue(&self, queue: &str) -> Result<()> {
        let bindings = {
            let mut t = self.topology();
            t.expires.remove(queue);
            t.auto_delete.remove(queue);
            t.fanout_queues.remove(queue);
            t.bindings.remove(queue).unwrap_or_default()
        };
        let mut pipe = redis::pipe();
        for (exchange, _, member) in &bindings {
            pipe.srem(binding_key(exchange), member).ignore();
            pipe.srem(binding_permanent_key(exchange), member).ignore();
        }
        for list in priority_lists(&self.options.priority_steps, queue) {
            pipe.del(list).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.exec_async(&mut conn).await.map_err(redis_err)
    }
}

#[async_trait]
impl Bus for KombuRedisBus {
    async fn declare_exchange_spec(&self, spec: &ExchangeSpec) -> Result<()> {
        if spec.name.is_empty() {
            return Err(Error::Channel(
                "ACCESS_REFUSED - cannot declare the default exchange".into(),
            ));
        }
        // Celery's `get_exchange`: on Redis the events exchange is fanout, whatever was asked.
        let mut spec = spec.clone();
        if spec.name == "celeryev" {
            spec.kind = ExchangeKind::Fanout;
        }
        let spec = &spec;
        let mut t = self.inner.topology();
        match t.exchanges.get(&spec.name) {
            Some(prev) if prev != spec => Err(Error::Channel(format!(
                "PRECONDITION_FAILED - inequivalent arguments for exchange '{}': {prev:?} then {spec:?}",
                spec.name
            ))),
            Some(_) => Ok(()),
            None => {
                t.exchanges.insert(spec.name.clone(), spec.clone());
                Ok(())
            }
        }
    }

    async fn declare_queue(&self, spec: &QueueSpec) -> Result<()> {
        if spec.name.is_empty() {
            return Err(Error::Channel("the Redis broker needs a queue name".into()));
        }
        // kombu's `_new_queue`: nothing is written to Redis.
        let expires = spec.arguments.get("x-expires").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().map(|f| f as u64))
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        let mut t = self.inner.topology();
        match expires {
            Some(ms) => t.expires.insert(spec.name.clone(), ms),
            None => t.expires.remove(&spec.name),
        };
        if spec.auto_delete {
            t.auto_delete.insert(spec.name.clone());
        }
        Ok(())
    }

    async fn bind_queue(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<()> {
        if exchange.is_empty() {
            return Err(Error::Channel(
                "ACCESS_REFUSED - cannot bind to the default exchange".into(),
            ));
        }
        let kind = self
            .inner
            .kind_of(exchange)
            .ok_or_else(|| Error::NotFound(format!("NOT_FOUND - no exchange '{exchange}' (declare it first)")))?;
        let member = member(routing_key, kind == ExchangeKind::Topic, queue);
        {
            let mut t = self.inner.topology();
            if kind == ExchangeKind::Fanout {
                let key = (exchange.to_owned(), routing_key.replace('#', "*"));
                t.fanout_queues.insert(queue.to_owned(), key);
            }
            let list = t.bindings.entry(queue.to_owned()).or_default();
            if !list.iter().any(|(_, _, m)| *m == member) {
                list.push((exchange.to_owned(), routing_key.to_owned(), member.clone()));
            }
        }
        self.inner.add_binding(exchange, queue, &member).await
    }

    async fn delete_queue(&self, queue: &str) -> Result<()> {
        self.inner.delete_queue(queue).await
    }

    async fn delete_exchange(&self, name: &str) -> Result<()> {
        self.inner.topology().exchanges.remove(name);
        let mut conn = self.inner.conn.clone();
        redis::pipe()
            .del(binding_key(name))
            .del(binding_permanent_key(name))
            .zrem(BINDING_DEADLINES, name)
            .exec_async(&mut conn)
            .await
            .map_err(redis_err)
    }

    async fn publish(&self, exchange: &str, routing_key: &str, message: OutgoingMessage) -> Result<()> {
        let tag = uuid::Uuid::new_v4().to_string();
        let payload = envelope::encode(&message, exchange, routing_key, &tag)
            .map_err(|e| Error::Channel(format!("cannot encode the message: {e}")))?;
        let priority = message.properties.priority.unwrap_or(0).min(9);
        if !exchange.is_empty() && self.inner.kind_of(exchange) == Some(ExchangeKind::Fanout) {
            let topic = fanout_topic(self.inner.db, exchange, routing_key);
            let mut conn = self.inner.conn.clone();
            let _: i64 = conn.publish(topic, payload).await.map_err(redis_err)?;
            return Ok(());
        }
        for queue in self.inner.lookup(exchange, routing_key).await? {
            self.inner.put(&queue, &payload, priority).await?;
        }
        Ok(())
    }

    async fn consume(&self, queue: &str, options: ConsumeOptions) -> Result<Consumer> {
        let fanout = self.inner.topology().fanout_queues.get(queue).cloned();
        match fanout {
            Some((exchange, routing_key)) => {
                fanout::start(self.inner.clone(), queue.to_owned(), &exchange, &routing_key).await
            }
            None => consumer::start(self.inner.clone(), queue.to_owned(), options.prefetch).await,
        }
    }

    async fn is_healthy(&self) -> bool {
        let mut conn = self.inner.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
    }
}
