//! The worker's shared bookkeeping: revoked task ids, the messages it holds (scheduled for an
//! ETA, reserved, active) as Celery's `Request.info()` shows them, and its task counters.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::events::now_timestamp;
use crate::protocol::format_iso;

/// Celery keeps this many revoked ids (`REVOKES_MAX`) ...
const REVOKED_MAX: usize = 50_000;
/// ... for this long (`REVOKE_EXPIRES`, 3 hours).
const REVOKED_TTL: Duration = Duration::from_secs(3 * 3600);

/// What a held message should do when its turn comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Begin {
    /// Run it (it is now marked started).
    Start,
    /// It was revoked: ack without running.
    Revoked,
    /// The worker is stopping: hand it back (nack + requeue).
    Stopping,
}

/// Where a held message is (Celery's `scheduled_requests`, `reserved_requests`, `active_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for its ETA.
    Scheduled,
    /// Waiting for a concurrency slot.
    Reserved,
    /// Running.
    Active,
}

/// What `inspect` shows of a held message.
#[derive(Debug, Clone)]
pub(super) struct RequestInfo {
    pub id: String,
    pub name: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    pub eta: Option<DateTime<Utc>>,
    pub exchange: String,
    pub routing_key: String,
    pub priority: Option<u8>,
    pub redelivered: bool,
}

struct Reserved {
    info: RequestInfo,
    token: CancellationToken,
    phase: Phase,
    time_start: Option<f64>,
}

impl Reserved {
    /// Celery's `Request.info()`.
    fn info(&self, hostname: &str) -> Value {
        let i = &self.info;
        let started = self.phase == Phase::Active;
        json!({
            "id": i.id, "name": i.name, "args": i.args, "kwargs": i.kwargs, "type": i.name,
            "hostname": hostname, "time_start": self.time_start, "acknowledged": false,
            "delivery_info": {"exchange": i.exchange, "routing_key": i.routing_key, "priority": i.priority.unwrap_or(0), "redelivered": i.redelivered},
            "worker_pid": started.then(std::process::id),
        })
    }
}

#[derive(Default)]
struct Inner {
    revoked: HashSet<String>,
    revoked_order: VecDeque<(Instant, String)>,
    reserved: HashMap<u64, Reserved>,
    next: u64,
    /// Tasks started, per name (Celery's `total_count`).
    total: BTreeMap<String, u64>,
    /// Tasks started, all names (Celery's `all_total_count`).
    processed: u64,
}

/// Revoked ids and reserved messages under one lock, so that "start unless revoked" and
/// "revoke, cancelling what runs" cannot interleave.
#[derive(Default)]
pub(super) struct State {
    inner: Mutex<Inner>,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn is_revoked(&self, task_id: &str) -> bool {
        self.lock().revoked.contains(task_id)
    }

    /// Records a message held by this worker (scheduled when its ETA is ahead); returns its slot.
    pub(super) fn reserve(&self, info: RequestInfo, token: CancellationToken) -> u64 {
        let mut inner = self.lock();
        inner.next += 1;
        let slot = inner.next;
        let phase = if info.eta.is_some_and(|eta| eta > Utc::now()) {
            Phase::Scheduled
        } else {
            Phase::Reserved
        };
        let reserved = Reserved {
            info,
            token,
            phase,
            time_start: None,
        };
        inner.reserved.insert(slot, reserved);
        slot
    }

    /// The ETA of a scheduled message passed: it now waits for a slot.
    pub(super) fn due(&self, slot: u64) {
        if let Some(r) = self.lock().reserved.get_mut(&slot)
            && r.phase == Phase::Scheduled
        {
            r.phase = Phase::Reserved;
        }
    }

    /// `Request.info()` of the held messages in `phase`, oldest first.
    pub(super) fn requests(&self, phase: Phase, hostname: &str) -> Vec<Value> {
        let inner = self.lock();
        let mut held: Vec<_> = inner.reserved.iter().filter(|(_, r)| r.phase == phase).collect();
        held.sort_by_key(|(slot, _)| **slot);
        held.into_iter().map(|(_, r)| r.info(hostname)).collect()
    }

    /// `inspect scheduled`: `{eta, priority, request}` of the messages waiting for their ETA.
    pub(super) fn scheduled(&self, hostname: &str) -> Vec<Value> {
        let inner = self.lock();
        let mut held: Vec<_> = inner
            .reserved
            .iter()
            .filter(|(_, r)| r.phase == Phase::Scheduled)
            .collect();
        held.sort_by_key(|(slot, _)| **slot);
        held.into_iter()
            .map(|(_, r)| {
                // 6 is the priority Celery's consumer gives ETA entries in its timer.
                json!({"eta": r.info.eta.as_ref().map(format_iso), "priority": 6, "request": r.info(hostname)})
            })
            .collect()
    }

    /// `inspect query_task`: `{id: [state, info]}` for the held messages among `ids`.
    pub(super) fn query(&self, ids: &[String], hostname: &str) -> Map<String, Value> {
        let inner = self.lock();
        let mut out = Map::new();
        for r in inner.reserved.values().filter(|r| ids.contains(&r.info.id)) {
            let state = match r.phase {
                Phase::Active => "active",
                Phase::Reserved => "reserved",
                Phase::Scheduled => "scheduled",
            };
            out.insert(r.info.id.clone(), json!([state, r.info(hostname)]));
        }
        out
    }

    /// Revoked ids still remembered, oldest first.
    pub(super) fn revoked_ids(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .revoked_order
            .iter()
            .filter(|(_, id)| inner.revoked.contains(id))
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Tasks started per name, and in total.
    pub(super) fn totals(&self) -> (BTreeMap<String, u64>, u64) {
        let inner = self.lock();
        (inner.total.clone(), inner.processed)
    }

    /// Tasks running now.
    pub(super) fn active_count(&self) -> usize {
        self.lock()
            .reserved
            .values()
            .filter(|r| r.phase == Phase::Active)
            .count()
    }

    /// Marks the slot started unless its task was revoked or the worker is stopping.
    pub(super) fn begin(&self, slot: u64, stopping: bool) -> Begin {
        let mut inner = self.lock();
        let Inner {
            revoked,
            reserved,
            total,
            processed,
            ..
        } = &mut *inner;
        let Some(r) = reserved.get_mut(&slot) else {
            return Begin::Stopping;
        };
        if revoked.contains(&r.info.id) {
            Begin::Revoked
        } else if stopping || r.token.is_cancelled() {
            Begin::Stopping
        } else {
            r.phase = Phase::Active;
            r.time_start = Some(now_timestamp());
            *total.entry(r.info.name.clone()).or_default() += 1;
            *processed += 1;
            Begin::Start
        }
    }

    pub(super) fn release(&self, slot: u64) {
        self.lock().reserved.remove(&slot);
    }

    /// Flags `task_ids` revoked. Held messages of those tasks are woken (to be discarded); with
    /// `terminate`, running ones get their token cancelled. Returns the ids terminated.
    pub(super) fn revoke(&self, task_ids: &[String], terminate: bool) -> Vec<String> {
        let mut inner = self.lock();
        let now = Instant::now();
        for id in task_ids {
            if inner.revoked.insert(id.clone()) {
                inner.revoked_order.push_back((now, id.clone()));
            }
        }
        while let Some((at, _)) = inner.revoked_order.front()
            && (inner.revoked_order.len() > REVOKED_MAX || now.duration_since(*at) > REVOKED_TTL)
        {
            if let Some((_, id)) = inner.revoked_order.pop_front() {
                inner.revoked.remove(&id);
            }
        }
        let mut terminated = Vec::new();
        for r in inner.reserved.values() {
            if task_ids.contains(&r.info.id) {
                if r.phase != Phase::Active {
                    r.token.cancel();
                } else if terminate {
                    r.token.cancel();
                    terminated.push(r.info.id.clone());
                }
            }
        }
        terminated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, eta: Option<DateTime<Utc>>) -> RequestInfo {
        RequestInfo {
            id: id.into(),
            name: "t".into(),
            args: vec![json!(1)],
            kwargs: Map::new(),
            eta,
            exchange: String::new(),
            routing_key: "q".into(),
            priority: None,
            redelivered: false,
        }
    }

    #[test]
    fn phases_counters_and_infos() {
        let state = State::default();
        let later = Utc::now() + chrono::TimeDelta::hours(1);
        let s = state.reserve(info("s", Some(later)), CancellationToken::new());
        let r = state.reserve(info("r", None), CancellationToken::new());
        let a = state.reserve(info("a", None), CancellationToken::new());
        assert_eq!(state.begin(a, false), Begin::Start);
        assert_eq!(state.requests(Phase::Active, "w")[0]["id"], "a");
        assert_eq!(
            state.requests(Phase::Active, "w")[0]["worker_pid"],
            json!(std::process::id())
        );
        assert_eq!(
            state.requests(Phase::Reserved, "w")[0]["delivery_info"]["routing_key"],
            "q"
        );
        assert_eq!(state.scheduled("w")[0]["request"]["id"], "s");
        assert_eq!(state.query(&["r".into()], "w")["r"][0], "reserved");
        state.due(s);
        assert!(state.scheduled("w").is_empty());
        assert_eq!(state.totals(), (BTreeMap::from([("t".to_owned(), 1)]), 1));
        assert_eq!(state.active_count(), 1);
        state.revoke(&["x".into(), "y".into()], false);
        assert_eq!(state.revoked_ids(), vec!["x".to_owned(), "y".to_owned()]);
        let _ = r;
    }

    #[test]
    fn revoke_wakes_held_and_terminates_running_only_when_asked() {
        let state = State::default();
        let (held, running) = (CancellationToken::new(), CancellationToken::new());
        let h = state.reserve(info("a", None), held.clone());
        let r = state.reserve(info("b", None), running.clone());
        assert_eq!(state.begin(r, false), Begin::Start);
        assert!(state.revoke(&["b".into()], false).is_empty());
        assert!(
            !running.is_cancelled(),
            "revoke without terminate leaves a running task alone"
        );
        assert_eq!(state.revoke(&["a".into(), "b".into()], true), vec!["b".to_owned()]);
        assert!(held.is_cancelled() && running.is_cancelled());
        assert_eq!(state.begin(h, false), Begin::Revoked);
        let s = state.reserve(info("c", None), CancellationToken::new());
        assert_eq!(state.begin(s, true), Begin::Stopping);
        state.release(h);
        assert_eq!(state.begin(h, false), Begin::Stopping);
    }
}
