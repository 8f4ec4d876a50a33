//! Per-attempt coordination between executor replicas, so one attempt of a run executes once at a
//! time and a finished attempt is never executed again:
//!
//! - the **lease** `executor:lease:<run>:<attempt>` is held (value = a unique holder id, TTL
//!   `lease_secs`, renewed every third of it) while an executor runs the attempt. A redelivered task
//!   whose previous holder is still alive (a broker connection blip) waits for the lease to lapse;
//!   one whose holder died (kill -9) waits at most `lease_secs`.
//! - the **final record** `executor:final:<run>:<attempt>` (the final [`RunStatusReport`], kept a
//!   week) is written before the final report is published. A delivery of a recorded attempt only
//!   republishes that report (the worker died between reporting and acking).
//!
//! These keys are private to executors (every replica runs this code), so they live here rather
//! than in `myelin-contracts`. When the store is unreachable, runs go ahead without them.

use std::time::Duration;

use bytes::Bytes;
use myelin_common::coord::SharedCoord;
use myelin_contracts::RunUuid;
use myelin_contracts::execution::RunStatusReport;
use tokio::task::JoinHandle;

/// How long a final record is kept.
const FINAL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

fn lease_key(run: &RunUuid, attempt: u32) -> String {
    format!("executor:lease:{run}:{attempt}")
}

fn final_key(run: &RunUuid, attempt: u32) -> String {
    format!("executor:final:{run}:{attempt}")
}

/// Leases and final records over the coordination store.
#[derive(Clone)]
pub struct Leases {
    coord: SharedCoord,
    ttl: Duration,
}

impl Leases {
    /// Leases living `ttl` without renewal.
    pub fn new(coord: SharedCoord, ttl: Duration) -> Self {
        Self {
            coord,
            ttl: ttl.max(Duration::from_secs(1)),
        }
    }

    /// How long a waiting delivery pauses between two tries.
    pub fn poll_interval(&self) -> Duration {
        (self.ttl / 5).clamp(Duration::from_millis(100), Duration::from_secs(1))
    }

    /// The recorded final report of an attempt (`None` when absent, unreadable or the store fails).
    pub async fn final_report(&self, run: &RunUuid, attempt: u32) -> Option<RunStatusReport> {
        match self.coord.get(&final_key(run, attempt)).await {
            Ok(Some(raw)) => serde_json::from_slice(&raw)
                .inspect_err(|err| tracing::warn!(error = %err, %run, "unreadable final record; ignoring it"))
                .ok(),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, %run, "cannot read the final record; assuming none");
                None
            }
        }
    }

    /// Records the final report of an attempt.
    pub async fn record_final(&self, report: &RunStatusReport) {
        let key = final_key(&report.run, report.attempt);
        let stored = match serde_json::to_vec(report) {
            Ok(raw) => self
                .coord
                .set(&key, Bytes::from(raw), Some(FINAL_TTL))
                .await
                .map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(err) = stored {
            tracing::warn!(error = %err, run = %report.run, "cannot record the final status");
        }
    }

    /// Takes the lease for `holder`; `Ok(false)` while someone else holds it.
    pub async fn acquire(
        &self,
        run: &RunUuid,
        attempt: u32,
        holder: &str,
    ) -> Result<bool, myelin_common::coord::Error> {
        let value = Bytes::from(holder.to_owned());
        self.coord.set_nx(&lease_key(run, attempt), value, Some(self.ttl)).await
    }

    /// Renews the lease of `holder` every third of its life until the returned task is aborted.
    pub fn keep_alive(&self, run: RunUuid, attempt: u32, holder: String) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let key = lease_key(&run, attempt);
            loop {
                tokio::time::sleep(this.ttl / 3).await;
                match this.coord.get(&key).await {
                    Ok(Some(value)) if value == holder.as_bytes() => {}
                    Ok(_) => tracing::warn!(%run, attempt, "lost the run's lease; taking it back"),
                    Err(err) => {
                        tracing::warn!(error = %err, %run, "cannot renew the run's lease");
                        continue;
                    }
                }
                let value = Bytes::from(holder.clone());
                if let Err(err) = this.coord.set(&key, value, Some(this.ttl)).await {
                    tracing::warn!(error = %err, %run, "cannot renew the run's lease");
                }
            }
        })
    }

    /// Gives the lease up (only if `holder` still has it).
    pub async fn release(&self, run: &RunUuid, attempt: u32, holder: &str) {
        if let Err(err) = self
            .coord
            .delete_if_eq(&lease_key(run, attempt), holder.as_bytes())
            .await
        {
            tracing::warn!(error = %err, %run, "cannot release the run's lease");
        }
    }
}
