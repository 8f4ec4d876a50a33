//! Building blocks of the in-process adapter: hash-sharded mutexes and the key/value shard with
//! lazy TTL expiry plus an expiry heap swept a little on every write.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

const SHARDS: usize = 32;
/// Due expiries popped per write: enough to outpace inserts, small enough to keep writes O(log n).
const SWEEP_BATCH: usize = 8;

/// A fixed set of mutex-guarded shards, picked by key hash.
pub(super) struct Sharded<T> {
    shards: Box<[Mutex<T>]>,
    hasher: RandomState,
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<T> Sharded<T> {
    pub(super) fn lock(&self, key: &str) -> MutexGuard<'_, T> {
        // The modulo keeps the index in range whatever the hash width.
        let index = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        // No critical section runs caller code, so a poisoned lock still holds consistent state.
        self.shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) struct Entry {
    pub(super) value: Bytes,
    pub(super) expires_at: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

#[derive(Default)]
pub(super) struct KvShard {
    pub(super) map: HashMap<String, Entry>,
    /// Deadlines of keys set with a TTL; stale items (key overwritten or deleted) are skipped on pop.
    expiries: BinaryHeap<Reverse<(Instant, String)>>,
}

impl KvShard {
    /// The live entry at `key`, removing it first when it has expired.
    pub(super) fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|entry| !entry.is_live(now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    pub(super) fn put(&mut self, key: String, value: Bytes, ttl: Option<Duration>, now: Instant) {
        let expires_at = ttl.and_then(|ttl| now.checked_add(ttl));
        if let Some(at) = expires_at {
            self.expiries.push(Reverse((at, key.clone())));
        }
        self.map.insert(key, Entry { value, expires_at });
    }

    /// Removes a few expired keys; rebuilds the heap when stale items outnumber live keys.
    pub(super) fn sweep(&mut self, now: Instant) {
        for _ in 0..SWEEP_BATCH {
            match self.expiries.peek() {
                Some(Reverse((at, _))) if *at <= now => {}
                _ => break,
            }
            if let Some(Reverse((at, key))) = self.expiries.pop()
                && self.map.get(&key).is_some_and(|entry| entry.expires_at == Some(at))
            {
                self.map.remove(&key);
            }
        }
        if self.expiries.len() > 1024 && self.expiries.len() > 2 * self.map.len() {
            self.expiries = self
                .map
                .iter()
                .filter_map(|(key, entry)| entry.expires_at.map(|at| Reverse((at, key.clone()))))
                .collect();
        }
    }
}

pub(super) fn parse_counter(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sweep_expired_keys_nobody_reads_and_stale_deadlines_do_not_pile_up() {
        let start = Instant::now();
        let mut shard = KvShard::default();
        for i in 0..100 {
            shard.put(
                format!("k{i}"),
                Bytes::from_static(b"v"),
                Some(Duration::from_secs(1)),
                start,
            );
        }
        shard.put("forever".to_owned(), Bytes::from_static(b"v"), None, start);
        shard.sweep(start);
        assert_eq!(shard.map.len(), 101, "nothing is due yet");
        let later = start + Duration::from_secs(2);
        for _ in 0..100usize.div_ceil(SWEEP_BATCH) {
            shard.sweep(later);
        }
        assert_eq!(shard.map.keys().collect::<Vec<_>>(), ["forever"]);
        assert!(shard.expiries.is_empty());

        // Rewriting one key with a long TTL leaves one stale deadline per write; the heap is rebuilt.
        for i in 0..5000u64 {
            let now = start + Duration::from_millis(i);
            shard.sweep(now);
            shard.put(
                "hot".to_owned(),
                Bytes::from_static(b"v"),
                Some(Duration::from_secs(3600)),
                now,
            );
        }
        assert!(
            shard.expiries.len() <= 1025,
            "heap holds {} deadlines",
            shard.expiries.len()
        );
        assert_eq!(
            shard.live("hot", start).map(|entry| entry.value.clone()),
            Some(Bytes::from_static(b"v"))
        );
        assert!(
            shard.live("hot", start + Duration::from_secs(7200)).is_none(),
            "read after expiry removes it"
        );
        assert!(!shard.map.contains_key("hot"));
    }
}
