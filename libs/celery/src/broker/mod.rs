//! Brokers implementing Myelin's bus port ([`myelin_common::bus::Bus`]) for Celery interop.
//!
//! - [`redis::KombuRedisBus`]: Redis with kombu's exact layout, so Python Celery clients and
//!   workers configured with `broker='redis://...'` share queues, priorities, unacked
//!   bookkeeping and remote control with ours.
//!
//! RabbitMQ and the in-process broker are `myelin_common::bus::{amqp::AmqpBus, memory::MemoryBus}`.

pub mod redis;

pub use self::redis::{KombuRedisBus, RedisBrokerOptions};
