//! The RabbitMQ adapter: the [`Bus`] port on lapin 4 and deadpool-lapin.
//!
//! Connections:
//! - a *home* connection carries topology operations (declare, bind, delete) and one channel per
//!   consumer (so exclusive queues declared here can be consumed here);
//! - a deadpool-lapin pool of `pool_size` connections carries publishing, each with one channel in
//!   confirm mode (see the `publish` submodule).
//!
//! Every connection is named `settings.connection_name` (visible in `rabbitmqctl list_connections`).
//!
//! Failures: an operation that meets a dead connection (broker restart, forced close, network)
//! reconnects and retries with backoff for up to `reconnect_timeout_secs`, then fails with
//! [`Error::Connection`]. A channel-level refusal (unknown exchange, inequivalent redeclare, ...)
//! fails at once with [`Error::NotFound`] or [`Error::Channel`]. Consumer streams outlive
//! connections (see the `consume` submodule). To make that work after a broker restart or for
//! exclusive and auto-delete queues, the bus remembers what it declared and redeclares a queue
//! (with its exchanges and bindings) before consuming it again.

mod consume;
mod convert;
mod publish;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use self::convert::{queue_arguments, short};
use self::publish::Publisher;
use super::{Bus, ConsumeOptions, Consumer, Error, ExchangeKind, ExchangeSpec, OutgoingMessage, QueueSpec, Result};

/// Settings of [`AmqpBus`] (the broker URL is passed separately: it holds credentials).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct AmqpSettings {
    /// Connections (each with one confirm-mode channel) used for publishing.
    pub pool_size: usize,
    /// How long an operation keeps reconnecting and retrying before it fails.
    pub reconnect_timeout_secs: u64,
    /// The `connection_name` client property of every connection this bus opens.
    pub connection_name: String,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            pool_size: 4,
            reconnect_timeout_secs: 30,
            connection_name: "myelin".into(),
        }
    }
}

/// Longest wait for one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The RabbitMQ [`Bus`]. Cheap to clone: clones share connections.
#[derive(Clone)]
pub struct AmqpBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpBus")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

struct Inner {
    url: String,
    properties: ConnectionProperties,
    settings: AmqpSettings,
    home: tokio::sync::Mutex<Option<Arc<Connection>>>,
    publisher: Publisher,
    declared: Mutex<Declared>,
}

/// What this bus declared, to redeclare before re-consuming.
#[derive(Default)]
struct Declared {
    exchanges: HashMap<String, ExchangeSpec>,
    queues: HashMap<String, QueueSpec>,
    /// (queue, exchange, routing key)
    bindings: HashSet<(String, String, String)>,
}

impl AmqpBus {
    /// Connects to the broker at `url` (e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`). Fails with
    /// [`Error::Connection`] if the broker cannot be reached now.
    pub async fn connect(url: &str, settings: AmqpSettings) -> Result<Self> {
        let properties = ConnectionProperties::default().with_connection_name(settings.connection_name.as_str().into());
        let publisher = Publisher::new(url, properties.clone(), &settings)?;
        let inner = Inner {
            url: url.to_owned(),
            properties,
            settings,
            home: tokio::sync::Mutex::new(None),
            publisher,
            declared: Mutex::new(Declared::default()),
        };
        inner.home().await.map_err(|e| Error::Connection(e.to_string()))?;
        Ok(Self { inner: Arc::new(inner) })
    }
}

impl Inner {
    fn reconnect_timeout(&self) -> Duration {
        Duration::from_secs(self.settings.reconnect_timeout_secs)
    }

    fn declared(&self) -> MutexGuard<'_, Declared> {
        self.declared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The home connection, reconnected if it died.
    async fn home(&self) -> Result<Arc<Connection>, lapin::Error> {
        let mut home = self.home.lock().await;
        if let Some(conn) = home.as_ref()
            && conn.status().connected()
        {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&self.url, self.properties.clone()))
            .await
            .map_err(|_| io_error("timed out connecting to RabbitMQ"))??;
        if home.is_some() {
            info!(connection = %self.settings.connection_name, "reconnected to RabbitMQ");
        }
        let conn = Arc::new(conn);
        *home = Some(conn.clone());
        Ok(conn)
    }

    /// Runs a topology operation on a fresh channel of the home connection, reconnecting and
    /// retrying on connection failures until the reconnect timeout.
    async fn with_channel<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = lapin::Result<T>>,
    {
        let mut backoff = Backoff::until(self.reconnect_timeout());
        loop {
            let attempt = async {
                let channel = self.home().await?.create_channel().await?;
                op(channel).await
            };
            let outcome = match tokio::time::timeout(backoff.remaining(), attempt).await {
                Ok(result) => result.map_err(classify),
                Err(_) => Err(Failure::Transient("no answer before the reconnect timeout".into())),
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(e)) => backoff.wait(what, &e).await?,
            }
        }
    }

    /// Redeclares `queue` with its exchanges and bindings if this bus declared it.
    async fn redeclare(&self, channel: &Channel, queue: &str) -> lapin::Result<()> {
        let (spec, bindings) = {
            let declared = self.declared();
            let Some(spec) = declared.queues.get(queue).cloned() else {
                return Ok(());
            };
            let bindings: Vec<_> = declared
                .bindings
                .iter()
                .filter(|(q, _, _)| q == queue)
                .map(|(_, ex, key)| (ex.clone(), key.clone(), declared.exchanges.get(ex).cloned()))
                .collect();
            (spec, bindings)
        };
        // Names were checked when declared; convert without the panicking `From<&str>`.
        let name = |value: &str| short(value, "name").map_err(|e| io_error(&e.to_string()));
        let args = queue_arguments(&spec).map_err(|e| io_error(&e.to_string()))?;
        channel.queue_declare(name(queue)?, queue_options(&spec), args).await?;
        for (exchange, key, spec) in bindings {
            if let Some(spec) = spec {
                let options = exchange_options(&spec);
                channel
                    .exchange_declare(name(&exchange)?, lapin_kind(spec.kind), options, FieldTable::default())
                    .await?;
            }
            let options = QueueBindOptions::default();
            channel
                .queue_bind(
                    name(queue)?,
                    name(&exchange)?,
                    name(&key)?,
                    options,
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Bus for AmqpBus {
    async fn declare_exchange_spec(&self, spec: &ExchangeSpec) -> Result<()> {
        let exchange = short(&spec.name, "exchange name")?;
        let (kind, options) = (lapin_kind(spec.kind), exchange_options(spec));
        self.inner
            .with_channel("declare exchange", |ch| {
                let (exchange, kind) = (exchange.clone(), kind.clone());
                async move {
                    ch.exchange_declare(exchange, kind, options, FieldTable::default())
                        .await
                }
            })
            .await?;
        self.inner.declared().exchanges.insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    async fn declare_queue(&self, spec: &QueueSpec) -> Result<()> {
        let name = short(&spec.name, "queue name")?;
        let args = queue_arguments(spec)?;
        let options = queue_options(spec);
        self.inner
            .with_channel("declare queue", |ch| {
                let (name, args) = (name.clone(), args.clone());
                async move { ch.queue_declare(name, options, args).await }
            })
            .await?;
        self.inner.declared().queues.insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    async fn bind_queue(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<()> {
        let (q, ex, key) = (
            short(queue, "queue name")?,
            short(exchange, "exchange name")?,
            short(routing_key, "routing key")?,
        );
        self.inner
            .with_channel("bind queue", |ch| {
                let (q, ex, key) = (q.clone(), ex.clone(), key.clone());
                async move {
                    ch.queue_bind(q, ex, key, QueueBindOptions::default(), FieldTable::default())
                        .await
                }
            })
            .await?;
        self.inner
            .declared()
            .bindings
            .insert((queue.to_owned(), exchange.to_owned(), routing_key.to_owned()));
        Ok(())
    }

    async fn delete_queue(&self, queue: &str) -> Result<()> {
        let name = short(queue, "queue name")?;
        {
            // Forget it first so that consumers being cancelled by the deletion do not redeclare it.
            let mut declared = self.inner.declared();
            declared.queues.remove(queue);
            declared.bindings.retain(|(q, _, _)| q != queue);
        }
        self.inner
            .with_channel("delete queue", |ch| {
                let name = name.clone();
                async move { ch.queue_delete(name, QueueDeleteOptions::default()).await }
            })
            .await?;
        Ok(())
    }

    async fn delete_exchange(&self, name: &str) -> Result<()> {
        let exchange = short(name, "exchange name")?;
        {
            let mut declared = self.inner.declared();
            declared.exchanges.remove(name);
            declared.bindings.retain(|(_, ex, _)| ex != name);
        }
        self.inner
            .with_channel("delete exchange", |ch| {
                let exchange = exchange.clone();
                async move { ch.exchange_delete(exchange, ExchangeDeleteOptions::default()).await }
            })
            .await
    }

    async fn publish(&self, exchange: &str, routing_key: &str, message: OutgoingMessage) -> Result<()> {
        self.inner
            .publisher
            .publish(exchange, routing_key, &message, self.inner.reconnect_timeout())
            .await
    }

    async fn consume(&self, queue: &str, options: ConsumeOptions) -> Result<Consumer> {
        consume::start(self.inner.clone(), queue, options).await
    }

    async fn is_healthy(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), self.inner.home())
            .await
            .is_ok_and(|conn| conn.is_ok())
    }
}

fn lapin_kind(kind: ExchangeKind) -> lapin::ExchangeKind {
    match kind {
        ExchangeKind::Direct => lapin::ExchangeKind::Direct,
        ExchangeKind::Topic => lapin::ExchangeKind::Topic,
        ExchangeKind::Fanout => lapin::ExchangeKind::Fanout,
    }
}

fn exchange_options(spec: &ExchangeSpec) -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: spec.durable,
        auto_delete: spec.auto_delete,
        ..ExchangeDeclareOptions::default()
    }
}

fn queue_options(spec: &QueueSpec) -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: spec.durable,
        exclusive: spec.exclusive,
        auto_delete: spec.auto_delete,
        ..QueueDeclareOptions::default()
    }
}

fn io_error(message: &str) -> lapin::Error {
    std::io::Error::other(message.to_owned()).into()
}

/// A failed broker operation: worth retrying on a fresh connection, or final.
enum Failure {
    Transient(String),
    Fatal(Error),
}

/// Connection-level trouble is transient; a channel-level refusal by the broker is final.
fn classify(error: lapin::Error) -> Failure {
    use lapin::ErrorKind as K;
    match error.kind() {
        K::ProtocolError(amqp) => match amqp.kind() {
            AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND) => {
                Failure::Fatal(Error::NotFound(amqp.get_message().to_string()))
            }
            AMQPErrorKind::Soft(_) => Failure::Fatal(Error::Channel(amqp.get_message().to_string())),
            AMQPErrorKind::Hard(_) => Failure::Transient(error.to_string()),
        },
        K::IOError(_)
        | K::InvalidChannelState(..)
        | K::InvalidConnectionState(_)
        | K::InvalidChannel(_)
        | K::MissingHeartbeatError
        | K::ChannelsLimitReached => Failure::Transient(error.to_string()),
        _ => Failure::Fatal(Error::Channel(error.to_string())),
    }
}

/// Exponential backoff (50 ms doubling up to 2 s), bounded by a deadline when given one.
struct Backoff {
    delay: Duration,
    deadline: Option<tokio::time::Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    fn until(timeout: Duration) -> Self {
        Self {
            delay: Self::FIRST,
            deadline: Some(tokio::time::Instant::now() + timeout),
        }
    }

    fn forever() -> Self {
        Self {
            delay: Self::FIRST,
            deadline: None,
        }
    }

    /// Time left before the deadline (unbounded without one).
    fn remaining(&self) -> Duration {
        self.deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(tokio::time::Instant::now())
        })
    }

    /// Logs the failure and sleeps, or fails with [`Error::Connection`] past the deadline.
    async fn wait(&mut self, what: &str, error: &str) -> Result<()> {
        if let Some(deadline) = self.deadline
            && tokio::time::Instant::now() + self.delay > deadline
        {
            return Err(Error::Connection(format!("{what}: {error}")));
        }
        warn!(error, retry_in = ?self.delay, "RabbitMQ {what} failed; reconnecting");
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Self::MAX);
        Ok(())
    }
}
