//! Waiting for a run to finish: polls `GET .../runs/{uuid}` with a growing pause
//! (`celery_poll_min_ms` ×1.5 up to `celery_poll_max_ms`), bounded by `celery_wait_timeout_secs`,
//! tolerating transient API failures, and giving up at once when the task is cancelled.

use std::time::Duration;

use myelin_client::Client;
use myelin_contracts::{Run, RunUuid, Statuses};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::SubmitError;
use super::request::ProjectRef;

/// How to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    /// The first pause.
    pub min: Duration,
    /// The longest pause.
    pub max: Duration,
    /// How long to wait at most; `None`: as long as it takes.
    pub timeout: Option<Duration>,
}

impl Poll {
    /// The pause after `current`.
    pub fn next(&self, current: Duration) -> Duration {
        current.mul_f64(1.5).clamp(self.min, self.max.max(self.min))
    }
}

/// Why the wait ended without a done run.
#[derive(Debug)]
pub enum Interrupted {
    /// The task's token was cancelled (revoke with terminate, or the worker's hard stop).
    Cancelled,
    /// The run failed to come back in time, or the API refused.
    Error(SubmitError),
}

/// Polls until the run is done (succeeded, failed, stopped, skipped, upstream failed).
pub async fn until_done(
    client: &Client,
    project: &ProjectRef,
    uuid: &RunUuid,
    poll: Poll,
    cancel: &CancellationToken,
) -> Result<Run, Interrupted> {
    let started = Instant::now();
    let mut pause = poll.min;
    let mut status = Statuses::Created;
    loop {
        match client.get_run(&project.owner, &project.name, uuid).await {
            Ok(run) if run.status.is_done() => return Ok(run),
            Ok(run) => status = run.status,
            Err(err) => {
                let err = SubmitError::Api(err);
                if !err.is_transient() {
                    return Err(Interrupted::Error(err));
                }
                tracing::warn!(run = %uuid, error = %err, "cannot read the run's status; trying again");
            }
        }
        let waited = started.elapsed();
        if let Some(timeout) = poll.timeout
            && waited >= timeout
        {
            return Err(Interrupted::Error(SubmitError::WaitTimeout {
                uuid: *uuid,
                status,
                waited,
            }));
        }
        let nap = match poll.timeout {
            Some(timeout) => pause.min(timeout.saturating_sub(waited)),
            None => pause,
        };
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = cancel.cancelled() => return Err(Interrupted::Cancelled),
        }
        pause = poll.next(pause);
    }
}

/// The message of the run's latest condition of its current status (`exit code 3`, ...).
pub async fn status_message(client: &Client, project: &ProjectRef, run: &Run) -> String {
    match client.get_statuses(&project.owner, &project.name, &run.uuid).await {
        Ok(statuses) => statuses
            .status_conditions
            .unwrap_or_default()
            .into_iter()
            .rev()
            .find(|c| c.type_ == run.status)
            .and_then(|c| c.message)
            .unwrap_or_default(),
        Err(err) => {
            tracing::warn!(run = %run.uuid, error = %err, "cannot read the run's status conditions");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_maximum() {
        let poll = Poll {
            min: Duration::from_millis(500),
            max: Duration::from_secs(2),
            timeout: None,
        };
        let mut pause = poll.min;
        let mut seen = vec![];
        for _ in 0..6 {
            seen.push(pause.as_millis());
            pause = poll.next(pause);
        }
        assert_eq!(seen, vec![500, 750, 1125, 1687, 2000, 2000]);
    }
}
