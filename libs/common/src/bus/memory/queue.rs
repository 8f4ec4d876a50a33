//! One in-process queue: ready messages (a `VecDeque` per priority level), its consumers with
//! their unacked deliveries, and dispatch.
//!
//! Dispatch pushes like RabbitMQ does: whenever a message is ready and some consumer has credit
//! (fewer unacked deliveries than its prefetch), the next such consumer in round-robin order gets
//! it through its unbounded channel, and the delivery counts as unacked from then on, whether or
//! not the consumer has polled it yet. All state sits behind one short-held `std` mutex (never held
//! across an `.await`), so settling and consumer removal also work from `Drop`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Message;
use crate::bus::{Error, QueueSpec, Result};

/// A ready or unacked message in one queue.
#[derive(Clone)]
pub(super) struct Entry {
    pub(super) msg: Arc<Message>,
    pub(super) redelivered: bool,
    expires_at: Option<Instant>,
}

/// What a consumer's channel carries: a delivery tag and the message.
pub(super) struct Pushed {
    pub(super) tag: u64,
    pub(super) entry: Entry,
}

/// A message leaving a queue for its dead-letter exchange.
pub(super) struct DeadLetter {
    pub(super) exchange: String,
    pub(super) routing_key: String,
    pub(super) msg: Message,
}

/// How a delivery is settled.
#[derive(Debug, Clone, Copy)]
pub(super) enum Settle {
    Ack,
    Requeue,
    Reject,
}

pub(super) struct Queue {
    pub(super) spec: QueueSpec,
    max_priority: u8,
    message_ttl: Option<Duration>,
    /// Dead-letter exchange and optional routing key override.
    dead_letter: Option<(String, Option<String>)>,
    state: Mutex<State>,
}

struct State {
    /// Index = priority; a queue without `max_priority` has one level.
    ready: Vec<VecDeque<Entry>>,
    ready_len: usize,
    consumers: Vec<Slot>,
    /// Index into `consumers` of the next one to try (round robin).
    cursor: usize,
    next_tag: u64,
    deleted: bool,
}

struct Slot {
    id: u64,
    /// 0 = unlimited.
    prefetch: usize,
    tx: mpsc::UnboundedSender<Pushed>,
    unacked: HashMap<u64, Entry>,
}

impl Slot {
    fn has_credit(&self) -> bool {
        self.prefetch == 0 || self.unacked.len() < self.prefetch
    }
}

impl Queue {
    pub(super) fn new(spec: QueueSpec) -> Self {
        let args = &spec.arguments;
        let max_priority = spec
            .max_priority
            .or_else(|| args.get("x-max-priority").and_then(Value::as_u64).map(clamp_u8))
            .unwrap_or(0);
        let message_ttl = args
            .get("x-message-ttl")
            .and_then(Value::as_u64)
            .map(Duration::from_millis);
        let exchange = spec.dead_letter_exchange.clone().or_else(|| {
            args.get("x-dead-letter-exchange")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let routing_key = args
            .get("x-dead-letter-routing-key")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let levels = usize::from(max_priority) + 1;
        let state = State {
            ready: (0..levels).map(|_| VecDeque::new()).collect(),
            ready_len: 0,
            consumers: Vec::new(),
            cursor: 0,
            next_tag: 1,
            deleted: false,
        };
        Self {
            spec,
            max_priority,
            message_ttl,
            dead_letter: exchange.map(|e| (e, routing_key)),
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a published message and dispatches.
    pub(super) fn enqueue(&self, msg: Arc<Message>, now: Instant) -> Vec<DeadLetter> {
        let ttl = match (msg.properties.expiration, self.message_ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let level = usize::from(msg.properties.priority.unwrap_or(0).min(self.max_priority));
        let entry = Entry {
            msg,
            redelivered: false,
            expires_at: ttl.map(|ttl| now + ttl),
        };
        let mut state = self.lock();
        if state.deleted {
            return Vec::new();
        }
        let mut dead = self.expire_head(&mut state, level, now);
        if let Some(deque) = state.ready.get_mut(level) {
            deque.push_back(entry);
            state.ready_len += 1;
        }
        dead.extend(self.dispatch(&mut state));
        dead
    }

    /// Removes expired messages from the head of one priority level, so a queue nobody consumes
    /// does not keep expired messages forever.
    fn expire_head(&self, state: &mut State, level: usize, now: Instant) -> Vec<DeadLetter> {
        let mut dead = Vec::new();
        let Some(deque) = state.ready.get_mut(level) else {
            return dead;
        };
        while deque.front().is_some_and(|e| e.expires_at.is_some_and(|at| at <= now)) {
            if let Some(entry) = deque.pop_front() {
                state.ready_len -= 1;
                dead.extend(self.dead_letter(entry, "expired"));
            }
        }
        dead
    }

    /// Registers a consumer; `None` if the queue was deleted meanwhile.
    pub(super) fn add_consumer(
        &self,
        id: u64,
        prefetch: u16,
    ) -> Option<(mpsc::UnboundedReceiver<Pushed>, Vec<DeadLetter>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        if state.deleted {
            return None;
        }
        state.consumers.push(Slot {
            id,
            prefetch: usize::from(prefetch),
            tx,
            unacked: HashMap::new(),
        });
        let dead = self.dispatch(&mut state);
        Some((rx, dead))
    }

    /// Removes a consumer and requeues its unacked deliveries at the head, marked redelivered.
    /// Returns the dead letters of the ensuing dispatch and whether the queue should now be
    /// deleted (an exclusive or auto-delete queue that lost its last consumer).
    pub(super) fn remove_consumer(&self, id: u64) -> (Vec<DeadLetter>, bool) {
        let mut state = self.lock();
        let Some(index) = state.consumers.iter().position(|slot| slot.id == id) else {
            return (Vec::new(), false);
        };
        let slot = state.consumers.remove(index);
        if state.cursor > index {
            state.cursor -= 1;
        }
        let mut unacked: Vec<(u64, Entry)> = slot.unacked.into_iter().collect();
        // Push to the front in reverse delivery order so the original order is kept.
        unacked.sort_unstable_by_key(|(tag, _)| std::cmp::Reverse(*tag));
        for (_, entry) in unacked {
            self.push_front(&mut state, entry);
        }
        let dead = self.dispatch(&mut state);
        let unused = state.consumers.is_empty() && !state.deleted && (self.spec.auto_delete || self.spec.exclusive);
        (dead, unused)
    }

    /// Acks, requeues or rejects the delivery `tag` of consumer `id`.
    pub(super) fn settle(&self, id: u64, tag: u64, how: Settle) -> Result<Vec<DeadLetter>> {
        let mut state = self.lock();
        let entry = state
            .consumers
            .iter_mut()
            .find(|slot| slot.id == id)
            .and_then(|slot| slot.unacked.remove(&tag))
            .ok_or_else(|| {
                Error::Channel(format!(
                    "PRECONDITION_FAILED - unknown delivery tag {tag} (its consumer or queue '{}' is gone)",
                    self.spec.name
                ))
            })?;
        let mut dead = Vec::new();
        match how {
            Settle::Ack => {}
            Settle::Requeue => self.push_front(&mut state, entry),
            Settle::Reject => dead.extend(self.dead_letter(entry, "rejected")),
        }
        dead.extend(self.dispatch(&mut state));
        Ok(dead)
    }

    /// Marks the queue deleted, drops its messages and ends its consumers' streams.
    pub(super) fn delete(&self) {
        let mut state = self.lock();
        state.deleted = true;
        state.ready.iter_mut().for_each(VecDeque::clear);
        state.ready_len = 0;
        state.consumers.clear();
    }

    pub(super) fn has_consumers(&self) -> bool {
        !self.lock().consumers.is_empty()
    }

    fn push_front(&self, state: &mut State, mut entry: Entry) {
        entry.redelivered = true;
        let level = usize::from(entry.msg.properties.priority.unwrap_or(0).min(self.max_priority));
        if let Some(deque) = state.ready.get_mut(level) {
            deque.push_front(entry);
            state.ready_len += 1;
        }
    }

    /// Hands ready messages to consumers with credit, round robin, highest priority first.
    /// Expired messages are dead-lettered (or dropped) instead of delivered.
    fn dispatch(&self, state: &mut State) -> Vec<DeadLetter> {
        let mut dead = Vec::new();
        let mut now = None;
        while state.ready_len > 0 {
            let count = state.consumers.len();
            let Some(index) = (0..count)
                .map(|i| (state.cursor + i) % count)
                .find(|&i| state.consumers[i].has_credit())
            else {
                break;
            };
            let Some(entry) = state.ready.iter_mut().rev().find_map(VecDeque::pop_front) else {
                break;
            };
            state.ready_len -= 1;
            if let Some(expires_at) = entry.expires_at
                && expires_at <= *now.get_or_insert_with(Instant::now)
            {
                dead.extend(self.dead_letter(entry, "expired"));
                continue;
            }
            let tag = state.next_tag;
            state.next_tag += 1;
            let slot = &mut state.consumers[index];
            if slot
                .tx
                .send(Pushed {
                    tag,
                    entry: entry.clone(),
                })
                .is_err()
            {
                // The stream is being dropped; its guard removes the slot right after.
                self.push_front(state, entry);
                break;
            }
            slot.unacked.insert(tag, entry);
            state.cursor = (index + 1) % count;
        }
        dead
    }

    /// The message as RabbitMQ dead-letters it: `x-death` updated (most recent first, counted per
    /// queue and reason), `x-first-death-*` set once, `expiration` moved to `original-expiration`.
    /// `None` when the queue has no dead-letter exchange or the message already died here for the
    /// same non-rejection reason (a dead-letter cycle, which RabbitMQ also drops).
    fn dead_letter(&self, entry: Entry, reason: &str) -> Option<DeadLetter> {
        let (exchange, routing_key) = self.dead_letter.as_ref()?;
        let mut msg = Message::clone(&entry.msg);
        let queue = self.spec.name.as_str();
        let headers = &mut msg.properties.headers;
        let mut deaths: Vec<Value> = match headers.remove("x-death") {
            Some(Value::Array(deaths)) => deaths,
            _ => Vec::new(),
        };
        let same = |d: &Value| d["queue"] == queue && d["reason"] == reason;
        let mut death = match deaths.iter().position(same) {
            Some(_) if reason != "rejected" => return None,
            Some(i) => deaths.remove(i),
            None => json!({"count": 0, "reason": reason, "queue": queue}),
        };
        let count = death["count"].as_i64().unwrap_or(0) + 1;
        if let Value::Object(fields) = &mut death {
            fields.insert("count".into(), count.into());
            fields.insert("exchange".into(), msg.exchange.clone().into());
            fields.insert("routing-keys".into(), json!([msg.routing_key]));
            fields.insert("time".into(), unix_seconds().into());
        }
        deaths.insert(0, death);
        headers.insert("x-death".into(), Value::Array(deaths));
        for (key, value) in [
            ("reason", reason),
            ("queue", queue),
            ("exchange", msg.exchange.as_str()),
        ] {
            headers
                .entry(format!("x-first-death-{key}"))
                .or_insert_with(|| value.into());
        }
        if let Some(expiration) = msg.properties.expiration.take() {
            headers.insert("original-expiration".into(), expiration.as_millis().to_string().into());
        }
        let routing_key = routing_key.clone().unwrap_or_else(|| msg.routing_key.clone());
        Some(DeadLetter {
            exchange: exchange.clone(),
            routing_key,
            msg,
        })
    }
}

fn clamp_u8(value: u64) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
