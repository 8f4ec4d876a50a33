//! Following one run: read its live stream every flush interval, write each full chunk, and once the
//! run is done write the rest and let go.
//!
//! The persisted position is the last chunk's `last_id`, read from the chunk listing when following
//! starts, so a follower that died (or a replica that stopped) is replaced by one that picks up
//! exactly where the chunks end: no line is written twice or lost while the stream holds it.
//!
//! Order matters at the end: the state is read *before* the stream is drained, and the executor
//! appends every line before it reports the final status, so a drain that follows a `done` state
//! holds the last line.

use std::sync::Arc;
use std::time::Duration;

use myelin_contracts::RunUuid;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::FollowConfig;
use crate::domain::chunk::StreamId;
use crate::domain::line::StoredLine;
use crate::error::Error;
use crate::store::LogStore;

/// How following a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The run is done and every line is in a chunk.
    Finished,
    /// The stream stayed silent for the idle timeout; what it held is in chunks.
    Idle,
    /// Another replica holds the claim now.
    Lost,
    /// The service is stopping; the claim was given up for another replica (or the next start).
    Stopped,
}

/// One run being followed.
pub struct Follower {
    pub run: RunUuid,
    pub store: LogStore,
    pub config: Arc<FollowConfig>,
    pub holder: String,
    pub wake: Arc<Notify>,
    pub shutdown: CancellationToken,
}

/// What has been read and not yet written.
struct Progress {
    seq: u64,
    read: StreamId,
    buffer: Vec<StoredLine>,
    last_line: Instant,
}

impl Follower {
    /// Follows until the run is done, idle, taken over, or the service stops; then releases the
    /// claim and, for a finished run, deletes its stream after the retention delay.
    pub async fn run(self) -> Outcome {
        let outcome = self.follow().await;
        match outcome {
            Outcome::Finished | Outcome::Idle => {
                if let Err(err) = self.store.unregister(&self.run).await {
                    tracing::warn!(run = %self.run, error = %err, "cannot unregister a followed run");
                }
                self.release().await;
            }
            Outcome::Stopped => self.release().await,
            Outcome::Lost => {}
        }
        tracing::debug!(run = %self.run, ?outcome, "stopped following");
        outcome
    }

    async fn release(&self) {
        if let Err(err) = self.store.release(&self.run, &self.holder).await {
            tracing::warn!(run = %self.run, error = %err, "cannot release the follow claim");
        }
    }

    async fn follow(&self) -> Outcome {
        let mut progress = loop {
            match self.start().await {
                Ok(progress) => break progress,
                Err(err) => {
                    tracing::warn!(run = %self.run, error = %err, "cannot list the run's chunks; retrying");
                    if self.pause(self.config.flush_interval).await {
                        return Outcome::Stopped;
                    }
                }
            }
        };
        let mut renewed = Instant::now();
        loop {
            match self.round(&mut progress).await {
                Ok(Some(outcome)) => return outcome,
                Ok(None) => {}
                Err(err) => tracing::warn!(run = %self.run, error = %err, "following the run failed; retrying"),
            }
            if self.pause(self.config.flush_interval).await {
                return Outcome::Stopped;
            }
            if renewed.elapsed() >= self.config.lease / 3 {
                match self.store.claim(&self.run, &self.holder, self.config.lease).await {
                    Ok(true) => renewed = Instant::now(),
                    Ok(false) => return Outcome::Lost,
                    Err(err) => tracing::warn!(run = %self.run, error = %err, "cannot renew the follow claim"),
                }
            }
        }
    }

    /// Where the chunks end.
    async fn start(&self) -> Result<Progress, Error> {
        let last = self.store.chunks(&self.run).await?.pop();
        Ok(Progress {
            seq: last.as_ref().map_or(0, |chunk| chunk.name.seq + 1),
            read: last.map_or(StreamId::ZERO, |chunk| chunk.name.last_id),
            buffer: Vec::new(),
            last_line: Instant::now(),
        })
    }

    /// One pass: note whether the run is done, drain the stream into full chunks, and at the end
    /// write the remainder.
    async fn round(&self, progress: &mut Progress) -> Result<Option<Outcome>, Error> {
        let done = self
            .store
            .state(&self.run)
            .await?
            .is_some_and(|state| state.status.is_done());
        let chunk_lines = self.config.chunk_lines;
        loop {
            let lines = self.store.stream_after(&self.run, progress.read, chunk_lines).await?;
            let Some(last) = lines.last() else { break };
            progress.read = last.id;
            progress.last_line = Instant::now();
            progress.buffer.extend(lines);
            while progress.buffer.len() >= chunk_lines {
                self.write(progress, chunk_lines).await?;
            }
        }
        let idle = progress.last_line.elapsed() >= self.config.idle_timeout;
        if done || idle {
            let rest = progress.buffer.len();
            self.write(progress, rest).await?;
            return Ok(Some(if done { Outcome::Finished } else { Outcome::Idle }));
        }
        Ok(None)
    }

    /// Writes the first `count` buffered lines as the next chunk.
    async fn write(&self, progress: &mut Progress, count: usize) -> Result<(), Error> {
        if count == 0 {
            return Ok(());
        }
        self.store
            .write_chunk(&self.run, progress.seq, &progress.buffer[..count])
            .await?;
        progress.buffer.drain(..count);
        progress.seq += 1;
        Ok(())
    }

    /// Waits `period` (or a wake-up); true when the service is stopping.
    async fn pause(&self, period: Duration) -> bool {
        tokio::select! {
            () = self.shutdown.cancelled() => true,
            () = self.wake.notified() => false,
            () = tokio::time::sleep(period) => false,
        }
    }
}

/// Deletes a finished run's live stream once `retention` has passed, if the run is still done and
/// the stream holds nothing after `persisted` (a resumed run keeps its stream).
pub async fn expire_stream(store: LogStore, run: RunUuid, retention: Duration, shutdown: CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => return,
        () = tokio::time::sleep(retention) => {}
    }
    let still_done = matches!(store.state(&run).await, Ok(Some(state)) if state.status.is_done());
    if !still_done {
        return;
    }
    let persisted = match store.chunks(&run).await {
        Ok(chunks) => chunks.last().map_or(StreamId::ZERO, |chunk| chunk.name.last_id),
        Err(_) => return,
    };
    if matches!(store.stream_after(&run, persisted, 1).await, Ok(lines) if lines.is_empty())
        && let Err(err) = store.delete_stream(&run).await
    {
        tracing::warn!(%run, error = %err, "cannot delete a finished run's live stream");
    }
}
