//! Pure logic, no IO: the line format ([`line`]), chunk names and bodies ([`chunk`]), run states
//! and which chunks a page of Polyaxon's logs API reads.

pub mod chunk;
pub mod line;

use std::ops::Range;

use chrono::{DateTime, Utc};
use myelin_contracts::Statuses;
use serde::{Deserialize, Serialize};

use self::chunk::ChunkName;

/// The latest status the service has heard of for a run, and when it happened (events may arrive
/// out of order and twice: an older one never overrides a newer one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub status: Statuses,
    pub at: DateTime<Utc>,
}

impl RunState {
    /// Whether an event of `at` should replace `current`.
    pub fn supersedes(&self, current: Option<&RunState>) -> bool {
        current.is_none_or(|current| self.at >= current.at)
    }
}

/// The chunks (as an index range of the sorted `files`) of one page when paging by file: those
/// after `last_file` (by name, as Polyaxon's `get_next_file`), at most `max_files` (at least one).
pub fn files_page(files: &[String], last_file: Option<&str>, max_files: usize) -> Range<usize> {
    let start = last_file.map_or(0, |last| files.partition_point(|file| file.as_str() <= last));
    start..start.saturating_add(max_files.max(1)).min(files.len())
}

/// The index of the first chunk that may hold lines later than `time`: the last one whose first
/// line is not later than `time` (earlier chunks end before it starts), or 0.
pub fn first_chunk_after(chunks: &[ChunkName], time: DateTime<Utc>) -> usize {
    chunks
        .partition_point(|chunk| chunk.first_time() <= time)
        .saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::chunk::StreamId;

    #[test]
    fn file_pages_follow_last_file() {
        let files: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(files_page(&files, None, 2), 0..2);
        assert_eq!(files_page(&files, Some("b"), 2), 2..4);
        assert_eq!(files_page(&files, Some("c"), 10), 3..4);
        assert_eq!(files_page(&files, Some("d"), 2), 4..4);
        assert_eq!(
            files_page(&files, Some("bb"), 1),
            2..3,
            "an unknown name pages from the next one"
        );
        assert_eq!(files_page(&files, None, 0), 0..1, "at least one file");
        assert_eq!(files_page(&[], None, 3), 0..0);
    }

    #[test]
    fn last_time_skips_chunks_that_end_before_it() {
        let chunk = |seq: u64, secs: i64| ChunkName {
            seq,
            first_micros: secs * 1_000_000,
            last_id: StreamId::ZERO,
        };
        let chunks = [chunk(0, 10), chunk(1, 20), chunk(2, 30)];
        let at = |secs| Utc.timestamp_opt(secs, 0).unwrap();
        assert_eq!(first_chunk_after(&chunks, at(5)), 0);
        assert_eq!(first_chunk_after(&chunks, at(10)), 0);
        assert_eq!(first_chunk_after(&chunks, at(25)), 1);
        assert_eq!(first_chunk_after(&chunks, at(99)), 2);
        assert_eq!(first_chunk_after(&[], at(99)), 0);
    }

    #[test]
    fn newer_states_win() {
        let at = |secs| Utc.timestamp_opt(secs, 0).unwrap();
        let done = RunState {
            status: Statuses::Succeeded,
            at: at(20),
        };
        let late_running = RunState {
            status: Statuses::Running,
            at: at(10),
        };
        assert!(done.supersedes(None));
        assert!(done.supersedes(Some(&late_running)));
        assert!(!late_running.supersedes(Some(&done)));
    }
}
