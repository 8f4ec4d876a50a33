//! In-process streams: append-only logs with Redis-style ids (`"<ms>-<seq>"`).
//!
//! Ids take the wall clock in milliseconds and a sequence number within the millisecond, and are
//! strictly increasing even when the clock stalls or steps back (the last id's millisecond is then
//! reused with the next sequence number). Readers waiting for new entries park on a `Notify` that
//! every append wakes.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

use crate::coord::{Error, Result, StreamEntry};

/// A stream entry id: milliseconds since the epoch and a sequence number within that millisecond.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StreamId {
    ms: u64,
    seq: u64,
}

impl StreamId {
    /// Parses `"<ms>-<seq>"` or `"<ms>"` (sequence 0), as XREAD does; `"0"` is before every entry.
    pub(crate) fn parse(id: &str) -> Result<Self> {
        let invalid = || Error::Backend(format!("invalid stream id {id:?}: expected \"<ms>-<seq>\""));
        let (ms, seq) = match id.split_once('-') {
            Some((ms, seq)) => (ms, seq.parse().map_err(|_| invalid())?),
            None => (id, 0),
        };
        Ok(Self {
            ms: ms.parse().map_err(|_| invalid())?,
            seq,
        })
    }

    /// The id after `self` at wall-clock time `now_ms`.
    fn next(self, now_ms: u64) -> Self {
        if now_ms > self.ms {
            Self { ms: now_ms, seq: 0 }
        } else {
            match self.seq.checked_add(1) {
                Some(seq) => Self { ms: self.ms, seq },
                None => Self {
                    ms: self.ms + 1,
                    seq: 0,
                },
            }
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One stream: its entries (oldest first) and the readers' wake-up signal.
#[derive(Default)]
pub(crate) struct Stream {
    log: Mutex<Log>,
    appended: Notify,
}

#[derive(Default)]
struct Log {
    entries: VecDeque<(StreamId, Vec<(String, Bytes)>)>,
    /// The last id handed out; kept when trimming so ids never go back.
    last: StreamId,
}

impl Stream {
    fn log(&self) -> MutexGuard<'_, Log> {
        // No critical section runs caller code, so a poisoned lock still holds consistent state.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an entry, keeps at most `max_len` newest ones, wakes the readers; returns the id.
    pub(crate) fn append(&self, fields: Vec<(String, Bytes)>, max_len: Option<usize>) -> String {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
        let id = {
            let mut log = self.log();
            let id = log.last.next(now_ms);
            log.last = id;
            log.entries.push_back((id, fields));
            if let Some(max_len) = max_len {
                let excess = log.entries.len().saturating_sub(max_len);
                log.entries.drain(..excess);
            }
            id
        };
        self.appended.notify_waiters();
        id.to_string()
    }

    /// Up to `count` entries with an id greater than `after`, oldest first.
    pub(crate) fn read_after(&self, after: StreamId, count: usize) -> Vec<StreamEntry> {
        let log = self.log();
        let start = log.entries.partition_point(|(id, _)| *id <= after);
        log.entries
            .range(start..)
            .take(count)
            .map(|(id, fields)| StreamEntry {
                id: id.to_string(),
                fields: fields.clone(),
            })
            .collect()
    }

    pub(crate) fn len(&self) -> u64 {
        self.log().entries.len() as u64
    }

    /// Resolves at the next append (or delete); `enable` it before checking for entries.
    pub(crate) fn appended(&self) -> Notified<'_> {
        self.appended.notified()
    }

    /// Wakes every waiting reader (the stream was deleted: they look it up again).
    pub(crate) fn wake_readers(&self) {
        self.appended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_increase_within_a_millisecond_and_when_the_clock_steps_back() {
        assert_eq!(StreamId::parse("0").unwrap(), StreamId::default());
        assert_eq!(StreamId::parse("17-3").unwrap(), StreamId { ms: 17, seq: 3 });
        assert_eq!(StreamId::parse("17").unwrap(), StreamId { ms: 17, seq: 0 });
        assert!(StreamId::parse("x-1").is_err());
        assert!(StreamId::parse("1-").is_err());

        let first = StreamId::default().next(100);
        let same_ms = first.next(100);
        let clock_back = same_ms.next(50);
        let later = clock_back.next(101);
        assert_eq!(
            [first, same_ms, clock_back, later].map(|id| id.to_string()),
            ["100-0", "100-1", "100-2", "101-0"]
        );
    }

    #[test]
    fn trimming_keeps_the_newest_entries_and_reads_start_after_the_given_id() {
        let stream = Stream::default();
        let ids: Vec<String> = (0..10)
            .map(|i| stream.append(vec![("n".to_owned(), Bytes::from(i.to_string()))], Some(4)))
            .collect();
        assert_eq!(stream.len(), 4);
        let all = stream.read_after(StreamId::default(), 100);
        assert_eq!(all.iter().map(|entry| entry.id.clone()).collect::<Vec<_>>(), ids[6..]);
        let after = stream.read_after(StreamId::parse(&ids[7]).unwrap(), 1);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].id, ids[8]);
    }
}
