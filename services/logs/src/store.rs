//! Where a run's log lives, behind the ports: persisted chunks in the blob store, the live stream,
//! run states and follow leases in the coordination store, and the registry of followed runs.
//!
//! Names (the adapters add their own prefixes):
//! - blob `<run uuid>/plxlogs/<chunk>`: chunk files (see [`crate::domain::chunk`]);
//! - blob `.myelin-logs/following/<run uuid>`: the run is (or should be) followed; written before
//!   following starts, deleted once its last chunk is written, so a restarted or surviving replica
//!   finds the runs left unfinished;
//! - coord stream `logs:<run>` ([`log_stream`]): the live lines the executor appends;
//! - coord keys `logs:state:<run>:done` and `logs:state:<run>:active`: the latest done and not-done
//!   [`RunState`] heard of (with a TTL); the newer of the two is the run's state;
//! - coord semaphore `logs:follow:<run>` (one slot): which replica follows the run.

use std::time::Duration;

use bytes::Bytes;
use myelin_common::blob::SharedBlob;
use myelin_common::coord::SharedCoord;
use myelin_contracts::RunUuid;
use myelin_contracts::execution::log_stream;

use crate::domain::RunState;
use crate::domain::chunk::{self, ChunkName, StreamId};
use crate::domain::line::StoredLine;
use crate::error::Error;

/// Where the registry of followed runs lives in the blob store.
pub const FOLLOWING_PREFIX: &str = ".myelin-logs/following/";

/// One chunk file of a run: its file name (as Polyaxon's `files` lists it) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub file: String,
    pub name: ChunkName,
}

/// Access to every piece of a run's log. Cheap to clone.
#[derive(Clone)]
pub struct LogStore {
    blob: SharedBlob,
    coord: SharedCoord,
}

impl LogStore {
    pub fn new(blob: SharedBlob, coord: SharedCoord) -> Self {
        Self { blob, coord }
    }

    pub fn blob(&self) -> &SharedBlob {
        &self.blob
    }

    pub fn coord(&self) -> &SharedCoord {
        &self.coord
    }

    /// The run's chunks in write order (files this service did not write are ignored).
    pub async fn chunks(&self, run: &RunUuid) -> Result<Vec<Chunk>, Error> {
        let prefix = chunk::chunks_prefix(run);
        let mut chunks: Vec<Chunk> = self
            .blob
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|object| {
                let file = object.key.strip_prefix(&prefix)?.to_owned();
                let name = ChunkName::parse(&file)?;
                Some(Chunk { file, name })
            })
            .collect();
        chunks.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(chunks)
    }

    /// The lines of one chunk (empty when it vanished).
    pub async fn read_chunk(&self, run: &RunUuid, file: &str) -> Result<Vec<StoredLine>, Error> {
        let Some(body) = self.blob.get_bytes(&chunk::chunk_key(run, file)).await? else {
            return Ok(Vec::new());
        };
        let (lines, bad) = chunk::decode(&body);
        if bad > 0 {
            tracing::warn!(%run, file, bad, "skipped unreadable lines of a log chunk");
        }
        Ok(lines)
    }

    /// Writes chunk `seq` holding `lines` (not empty) and returns its name.
    pub async fn write_chunk(&self, run: &RunUuid, seq: u64, lines: &[StoredLine]) -> Result<Option<ChunkName>, Error> {
        let Some(name) = ChunkName::for_lines(seq, lines) else {
            return Ok(None);
        };
        let body = chunk::encode(lines)?;
        self.blob.put(&chunk::chunk_key(run, &name.to_string()), body).await?;
        Ok(Some(name))
    }

    /// Live lines after `after`, at most `count` (without waiting).
    pub async fn stream_after(&self, run: &RunUuid, after: StreamId, count: usize) -> Result<Vec<StoredLine>, Error> {
        let entries = self
            .coord
            .xread(&log_stream(run), &after.to_string(), count, None)
            .await?;
        Ok(entries
            .iter()
            .filter_map(|entry| StoredLine::from_entry(run, entry))
            .collect())
    }

    /// Deletes the run's live stream.
    pub async fn delete_stream(&self, run: &RunUuid) -> Result<(), Error> {
        self.coord.delete(&log_stream(run)).await?;
        Ok(())
    }

    /// The latest state heard of for the run: the newer of its latest done and latest not-done
    /// states (a tie goes to done).
    pub async fn state(&self, run: &RunUuid) -> Result<Option<RunState>, Error> {
        let done = self.read_state(run, &state_key(run, true)).await?;
        let active = self.read_state(run, &state_key(run, false)).await?;
        Ok(match (done, active) {
            (Some(done), Some(active)) if active.at > done.at => Some(active),
            (Some(done), _) => Some(done),
            (None, active) => active,
        })
    }

    /// Records `state` unless a newer one of the same kind (done or not) is known; returns the
    /// state now in force. Done and not-done states live under separate keys, so two events of
    /// different kinds handled at once (`running` and `succeeded` of a short run) cannot undo
    /// each other.
    pub async fn record_state(&self, run: &RunUuid, state: RunState, ttl: Duration) -> Result<RunState, Error> {
        let key = state_key(run, state.status.is_done());
        let current = self.read_state(run, &key).await?;
        if state.supersedes(current.as_ref()) {
            let value = Bytes::from(serde_json::to_vec(&state)?);
            self.coord.set(&key, value, Some(ttl)).await?;
        }
        Ok(self.state(run).await?.unwrap_or(state))
    }

    async fn read_state(&self, run: &RunUuid, key: &str) -> Result<Option<RunState>, Error> {
        let Some(raw) = self.coord.get(key).await? else {
            return Ok(None);
        };
        match serde_json::from_slice(&raw) {
            Ok(state) => Ok(Some(state)),
            Err(err) => {
                tracing::warn!(%run, error = %err, "ignoring an unreadable run state");
                Ok(None)
            }
        }
    }

    /// Claims (or renews the claim of `holder` on) following the run.
    pub async fn claim(&self, run: &RunUuid, holder: &str, lease: Duration) -> Result<bool, Error> {
        Ok(self.coord.try_acquire(&follow_key(run), holder, 1, lease).await?)
    }

    /// Gives the claim up.
    pub async fn release(&self, run: &RunUuid, holder: &str) -> Result<(), Error> {
        Ok(self.coord.release(&follow_key(run), holder).await?)
    }

    /// Registers the run as followed.
    pub async fn register(&self, run: &RunUuid) -> Result<(), Error> {
        self.blob
            .put(&format!("{FOLLOWING_PREFIX}{run}"), Bytes::from_static(b"{}"))
            .await?;
        Ok(())
    }

    /// Removes the run from the registry.
    pub async fn unregister(&self, run: &RunUuid) -> Result<(), Error> {
        self.blob.delete(&format!("{FOLLOWING_PREFIX}{run}")).await?;
        Ok(())
    }

    /// Every registered run.
    pub async fn registered(&self) -> Result<Vec<RunUuid>, Error> {
        Ok(self
            .blob
            .list(FOLLOWING_PREFIX)
            .await?
            .into_iter()
            .filter_map(|object| object.key.strip_prefix(FOLLOWING_PREFIX)?.parse().ok())
            .collect())
    }
}

/// `logs:state:<run>:done` or `logs:state:<run>:active`.
pub fn state_key(run: &RunUuid, done: bool) -> String {
    format!("logs:state:{run}:{}", if done { "done" } else { "active" })
}

/// `logs:follow:<run>`.
pub fn follow_key(run: &RunUuid) -> String {
    format!("logs:follow:{run}")
}
