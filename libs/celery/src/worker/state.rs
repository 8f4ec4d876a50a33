//! The worker's shared bookkeeping: revoked task ids and the messages it holds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

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

struct Reserved {
    task_id: String,
    token: CancellationToken,
    started: bool,
}

#[derive(Default)]
struct Inner {
    revoked: HashSet<String>,
    revoked_order: VecDeque<(Instant, String)>,
    reserved: HashMap<u64, Reserved>,
    next: u64,
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

    /// Records a message held by this worker; returns its slot and cancellation token.
    pub(super) fn reserve(&self, task_id: &str, token: CancellationToken) -> u64 {
        let mut inner = self.lock();
        inner.next += 1;
        let slot = inner.next;
        let reserved = Reserved {
            task_id: task_id.to_owned(),
            token,
            started: false,
        };
        inner.reserved.insert(slot, reserved);
        slot
    }

    /// Marks the slot started unless its task was revoked or the worker is stopping.
    pub(super) fn begin(&self, slot: u64, stopping: bool) -> Begin {
        let mut inner = self.lock();
        let Inner { revoked, reserved, .. } = &mut *inner;
        let Some(r) = reserved.get_mut(&slot) else {
            return Begin::Stopping;
        };
        if revoked.contains(&r.task_id) {
            Begin::Revoked
        } else if stopping || r.token.is_cancelled() {
            Begin::Stopping
        } else {
            r.started = true;
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
            if task_ids.contains(&r.task_id) {
                if !r.started {
                    r.token.cancel();
                } else if terminate {
                    r.token.cancel();
                    terminated.push(r.task_id.clone());
                }
            }
        }
        terminated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_wakes_held_and_terminates_running_only_when_asked() {
        let state = State::default();
        let (held, running) = (CancellationToken::new(), CancellationToken::new());
        let h = state.reserve("a", held.clone());
        let r = state.reserve("b", running.clone());
        assert_eq!(state.begin(r, false), Begin::Start);
        assert!(state.revoke(&["b".into()], false).is_empty());
        assert!(
            !running.is_cancelled(),
            "revoke without terminate leaves a running task alone"
        );
        assert_eq!(state.revoke(&["a".into(), "b".into()], true), vec!["b".to_owned()]);
        assert!(held.is_cancelled() && running.is_cancelled());
        assert_eq!(state.begin(h, false), Begin::Revoked);
        let s = state.reserve("c", CancellationToken::new());
        assert_eq!(state.begin(s, true), Begin::Stopping);
        state.release(h);
        assert_eq!(state.begin(h, false), Begin::Stopping);
    }
}
