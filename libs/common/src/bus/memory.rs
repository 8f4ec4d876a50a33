//! The in-process broker behind `myelin server`: the [`Bus`] port in memory, behaving like
//! RabbitMQ for everything Myelin relies on (the shared conformance suite checks both).
//!
//! - Exchanges: direct, topic (`*` one word, `#` zero or more) and fanout (durable or not, and
//!   auto-delete ones removed with their last binding), plus AMQP's default
//!   exchange `""` that routes to the queue named by the routing key. `amq.direct`, `amq.topic` and
//!   `amq.fanout` exist from the start. Publishing to an unknown exchange fails with
//!   [`Error::NotFound`]; a message routed to no queue is dropped.
//! - `publish` enqueues on every matched queue before it returns: that is its confirm.
//! - Consumers get deliveries pushed round robin, each holding at most `prefetch` unacked. A nack
//!   with requeue puts the message back at the head of its queue (`redelivered = true`); without
//!   requeue it goes to the queue's dead-letter exchange with an `x-death` header, or is dropped.
//!   Dropping a consumer stream requeues its unacked deliveries (`redelivered = true`); a dropped
//!   unsettled [`Delivery`](crate::bus::Delivery) stays unacked until then, as in AMQP.
//! - Priority queues (`max_priority`) deliver the highest priority first, FIFO within one.
//!   Per-message `expiration` and the `x-message-ttl` queue argument are checked when a message is
//!   about to be delivered: expired messages are dead-lettered (reason `expired`) or dropped.
//! - Exclusive and auto-delete queues are deleted when their last consumer goes away; deleting a
//!   queue ends its consumers' streams with [`Error::NotFound`].
//!
//! Everything lives in this process: "durable" queues and "persistent" messages survive only as
//! long as it does. Surviving a restart is the job of each service's database outbox, which
//! republishes whatever was not confirmed. Not implemented: `x-expires`, `x-max-length`, headers
//! exchanges, `mandatory` returns.
//!
//! Locking: the topology (exchanges, bindings, queue names) sits behind a `std` `RwLock`, each
//! queue behind its own `Mutex`; neither is held across an `.await`, and the topology lock is
//! always taken before (never while holding) a queue lock.

mod consumer;
mod queue;
mod topic;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;

use self::consumer::MemoryConsumer;
use self::queue::{DeadLetter, Queue};
use self::topic::Pattern;
use super::{
    Bus, ConsumeOptions, Consumer, Error, ExchangeKind, ExchangeSpec, OutgoingMessage, Properties, QueueSpec, Result,
};

/// The in-process [`Bus`]. Cheap to clone: clones share the same broker.
#[derive(Clone, Default)]
pub struct MemoryBus {
    broker: Arc<Broker>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus").finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// A new empty broker with only the `amq.*` exchanges.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A published message as stored in queues (shared between the queues it was routed to).
#[derive(Clone)]
struct Message {
    body: Bytes,
    properties: Properties,
    exchange: String,
    routing_key: String,
}

struct Broker {
    topology: RwLock<Topology>,
    next_consumer: AtomicU64,
}

#[derive(Default)]
struct Topology {
    exchanges: HashMap<String, Exchange>,
    queues: HashMap<String, Arc<Queue>>,
}

struct Exchange {
    kind: ExchangeKind,
    durable: bool,
    auto_delete: bool,
    bindings: Vec<Binding>,
}

struct Binding {
    queue: Arc<Queue>,
    routing_key: String,
    /// Compiled `routing_key`, for topic exchanges.
    pattern: Option<Pattern>,
}

impl Default for Broker {
    fn default() -> Self {
        let mut topology = Topology::default();
        for (name, kind) in [
            ("amq.direct", ExchangeKind::Direct),
            ("amq.topic", ExchangeKind::Topic),
            ("amq.fanout", ExchangeKind::Fanout),
        ] {
            topology.exchanges.insert(
                name.to_owned(),
                Exchange {
                    kind,
                    durable: true,
                    auto_delete: false,
                    bindings: Vec::new(),
                },
            );
        }
        Self {
            topology: RwLock::new(topology),
            next_consumer: AtomicU64::new(1),
        }
    }
}

impl Broker {
    fn read(&self) -> RwLockReadGuard<'_, Topology> {
        self.topology.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Topology> {
        self.topology.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The queues `routing_key` reaches through `exchange`, each once.
    fn route(&self, exchange: &str, routing_key: &str) -> Result<Vec<Arc<Queue>>> {
        let topology = self.read();
        if exchange.is_empty() {
            return Ok(topology.queues.get(routing_key).cloned().into_iter().collect());
        }
        let ex = topology
            .exchanges
            .get(exchange)
            .ok_or_else(|| not_found_exchange(exchange))?;
        let mut targets: Vec<Arc<Queue>> = Vec::new();
        for binding in &ex.bindings {
            let hit = match ex.kind {
                ExchangeKind::Direct => binding.routing_key == routing_key,
                ExchangeKind::Fanout => true,
                ExchangeKind::Topic => binding.pattern.as_ref().is_some_and(|p| p.matches(routing_key)),
            };
            if hit && !targets.iter().any(|q| Arc::ptr_eq(q, &binding.queue)) {
                targets.push(binding.queue.clone());
            }
        }
        Ok(targets)
    }

    /// Routes and enqueues; dead letters produced on the way are routed too.
    fn publish(&self, exchange: &str, routing_key: &str, mut msg: Message) -> Result<()> {
        let targets = self.route(exchange, routing_key)?;
        if targets.is_empty() {
            return Ok(());
        }
        exchange.clone_into(&mut msg.exchange);
        routing_key.clone_into(&mut msg.routing_key);
        let msg = Arc::new(msg);
        let now = Instant::now();
        let mut dead = Vec::new();
        for queue in targets {
            dead.extend(queue.enqueue(msg.clone(), now));
        }
        self.route_dead_letters(dead);
        Ok(())
    }

    /// Publishes dead letters to their exchanges (a missing exchange drops them, as in RabbitMQ).
    fn route_dead_letters(&self, mut work: Vec<DeadLetter>) {
        while let Some(DeadLetter {
            exchange,
            routing_key,
            msg,
        }) = work.pop()
        {
            let Ok(targets) = self.route(&exchange, &routing_key) else {
                continue;
            };
            let mut msg = msg;
            msg.exchange = exchange;
            msg.routing_key = routing_key;
            let msg = Arc::new(msg);
            let now = Instant::now();
            for queue in targets {
                work.extend(queue.enqueue(msg.clone(), now));
            }
        }
    }

    /// Deletes `queue` if it is still the one registered under its name.
    fn delete(&self, name: &str, only: Option<&Arc<Queue>>) {
        let mut topology = self.write();
        let Some(queue) = topology.queues.get(name).cloned() else {
            return;
        };
        if let Some(only) = only
            && (!Arc::ptr_eq(only, &queue) || queue.has_consumers())
        {
            return;
        }
        topology.queues.remove(name);
        // Auto-delete exchanges go away with their last binding, as in RabbitMQ.
        topology.exchanges.retain(|_, exchange| {
            let before = exchange.bindings.len();
            exchange.bindings.retain(|b| !Arc::ptr_eq(&b.queue, &queue));
            !(exchange.auto_delete && before > 0 && exchange.bindings.is_empty())
        });
        drop(topology);
        queue.delete();
    }

    /// Deletes an exclusive/auto-delete queue whose last consumer went away, unless another
    /// consumer attached meanwhile.
    fn delete_if_unused(&self, queue: &Arc<Queue>) {
        self.delete(&queue.spec.name, Some(queue));
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn declare_exchange_spec(&self, spec: &ExchangeSpec) -> Result<()> {
        let ExchangeSpec {
            name,
            kind,
            durable,
            auto_delete,
        } = spec;
        if name.is_empty() || (name.starts_with("amq.") && !self.broker.read().exchanges.contains_key(name)) {
            return Err(Error::Channel(format!(
                "ACCESS_REFUSED - exchange name '{name}' is reserved"
            )));
        }
        let mut topology = self.broker.write();
        match topology.exchanges.get(name) {
            Some(existing) if existing.kind != *kind => Err(Error::Channel(format!(
                "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '{name}': received {kind:?} but current is {:?}",
                existing.kind
            ))),
            Some(existing) if existing.durable != *durable => Err(Error::Channel(format!(
                "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '{name}': received '{durable}' but current is '{}'",
                existing.durable
            ))),
            Some(existing) if existing.auto_delete != *auto_delete => Err(Error::Channel(format!(
                "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange '{name}': received '{auto_delete}' but current is '{}'",
                existing.auto_delete
            ))),
            Some(_) => Ok(()),
            None => {
                topology.exchanges.insert(
                    name.clone(),
                    Exchange {
                        kind: *kind,
                        durable: *durable,
                        auto_delete: *auto_delete,
                        bindings: Vec::new(),
                    },
                );
                Ok(())
            }
        }
    }

    async fn declare_queue(&self, spec: &QueueSpec) -> Result<()> {
        if spec.name.is_empty() {
            return Err(Error::Channel("the in-process broker needs a queue name".into()));
        }
        let mut topology = self.broker.write();
        match topology.queues.get(&spec.name) {
            Some(existing) if existing.spec != *spec => Err(Error::Channel(format!(
                "PRECONDITION_FAILED - inequivalent arguments for queue '{}'",
                spec.name
            ))),
            Some(_) => Ok(()),
            None => {
                topology
                    .queues
                    .insert(spec.name.clone(), Arc::new(Queue::new(spec.clone())));
                Ok(())
            }
        }
    }

    async fn bind_queue(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<()> {
        if exchange.is_empty() {
            return Err(Error::Channel(
                "ACCESS_REFUSED - cannot bind to the default exchange".into(),
            ));
        }
        let mut topology = self.broker.write();
        let target = topology
            .queues
            .get(queue)
            .cloned()
            .ok_or_else(|| not_found_queue(queue))?;
        let ex = topology
            .exchanges
            .get_mut(exchange)
            .ok_or_else(|| not_found_exchange(exchange))?;
        let exists = ex
            .bindings
            .iter()
            .any(|b| Arc::ptr_eq(&b.queue, &target) && b.routing_key == routing_key);
        if !exists {
            let pattern = (ex.kind == ExchangeKind::Topic).then(|| Pattern::compile(routing_key));
            ex.bindings.push(Binding {
                queue: target,
                routing_key: routing_key.to_owned(),
                pattern,
            });
        }
        Ok(())
    }

    async fn delete_queue(&self, queue: &str) -> Result<()> {
        self.broker.delete(queue, None);
        Ok(())
    }

    async fn delete_exchange(&self, name: &str) -> Result<()> {
        if name.is_empty() || name.starts_with("amq.") {
            return Err(Error::Channel(format!(
                "ACCESS_REFUSED - exchange name '{name}' is reserved"
            )));
        }
        self.broker.write().exchanges.remove(name);
        Ok(())
    }

    async fn publish(&self, exchange: &str, routing_key: &str, message: OutgoingMessage) -> Result<()> {
        let msg = Message {
            body: message.body,
            properties: message.properties,
            exchange: String::new(),
            routing_key: String::new(),
        };
        self.broker.publish(exchange, routing_key, msg)
    }

    async fn consume(&self, queue: &str, options: ConsumeOptions) -> Result<Consumer> {
        let target = self
            .broker
            .read()
            .queues
            .get(queue)
            .cloned()
            .ok_or_else(|| not_found_queue(queue))?;
        let id = self.broker.next_consumer.fetch_add(1, Ordering::Relaxed);
        let (rx, dead) = target
            .add_consumer(id, options.prefetch)
            .ok_or_else(|| not_found_queue(queue))?;
        self.broker.route_dead_letters(dead);
        Ok(Box::pin(MemoryConsumer::new(self.broker.clone(), target, id, rx)))
    }

    async fn is_healthy(&self) -> bool {
        true
    }
}

fn not_found_exchange(name: &str) -> Error {
    Error::NotFound(format!("NOT_FOUND - no exchange '{name}'"))
}

fn not_found_queue(name: &str) -> Error {
    Error::NotFound(format!("NOT_FOUND - no queue '{name}'"))
}
