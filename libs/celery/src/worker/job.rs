//! One delivered task message, from acceptance to its ack: hold until the ETA, wait for a
//! concurrency slot, run the task, settle the message according to the outcome.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use myelin_common::bus::Delivery;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::state::Begin;
use super::{Shared, Task, TaskContext, TaskOutcome};
use crate::protocol::TaskMessage;

/// Celery's `Task.default_retry_delay`, used when a retry gives no countdown.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(180);
/// Longest countdown honoured for a retry (keeps the ETA representable).
const MAX_COUNTDOWN: Duration = Duration::from_secs(365 * 24 * 3600);

/// How a message is settled with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    Ack,
    Nack { requeue: bool },
}

pub(super) async fn settle(delivery: Delivery, how: Settle, what: &str) {
    let result = match how {
        Settle::Ack => delivery.ack().await,
        Settle::Nack { requeue } => delivery.nack(requeue).await,
    };
    if let Err(e) = result {
        warn!(error = %e, settle = ?how, "cannot settle {what}; the broker will redeliver it");
    }
}

/// A reserved message with everything needed to run it.
pub(super) struct Job {
    pub shared: Arc<Shared>,
    pub delivery: Delivery,
    pub msg: TaskMessage,
    pub task: Arc<dyn Task>,
    pub queue: String,
    pub slot: u64,
    pub token: CancellationToken,
}

/// Releases the reservation when the job ends, however it ends.
struct Release<'a>(&'a Shared, u64);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.state.release(self.1);
    }
}

/// Aborts the task's own tokio task when the job is dropped (worker aborted).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Job {
    pub(super) async fn process(self) {
        let Job {
            shared,
            delivery,
            msg,
            task,
            queue,
            slot,
            token,
        } = self;
        let _release = Release(&shared, slot);
        let (name, id) = (msg.task.as_str(), msg.id.as_str());
        if let Some(wait) = msg.options.eta.and_then(|eta| (eta - Utc::now()).to_std().ok()) {
            debug!(task = name, id, ?wait, "holding task until its ETA");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = token.cancelled() => {}
                () = shared.drain.cancelled() => {}
            }
        }
        let permit = if token.is_cancelled() || shared.drain.is_cancelled() {
            None
        } else {
            tokio::select! {
                permit = shared.slots.clone().acquire_owned() => permit.ok(),
                () = token.cancelled() => None,
                () = shared.drain.cancelled() => None,
            }
        };
        if msg.options.expires.is_some_and(|t| t <= Utc::now()) {
            info!(task = name, id, "discarding expired task");
            return settle(delivery, Settle::Ack, "an expired task").await;
        }
        match shared
            .state
            .begin(slot, permit.is_none() || shared.drain.is_cancelled())
        {
            Begin::Revoked => {
                info!(task = name, id, "discarding revoked task");
                return settle(delivery, Settle::Ack, "a revoked task").await;
            }
            Begin::Stopping => return settle(delivery, Settle::Nack { requeue: true }, "an unstarted task").await,
            Begin::Start => {}
        }
        let ctx = TaskContext {
            task_id: msg.id.clone(),
            hostname: shared.hostname.clone(),
            redelivered: delivery.redelivered,
            cancel: token.clone(),
        };
        info!(
            task = name,
            id,
            queue,
            redelivered = delivery.redelivered,
            "task started"
        );
        let outcome = run_task(task, ctx, msg.clone()).await;
        drop(permit);
        let how = outcome_to_settle(&shared, &msg, &queue, outcome).await;
        settle(delivery, how, "a finished task").await;
    }
}

/// Runs the task on its own tokio task so that a panic becomes a failure, not a lost message.
async fn run_task(task: Arc<dyn Task>, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
    let mut handle = AbortOnDrop(tokio::spawn(async move { task.run(ctx, msg).await }));
    match (&mut handle.0).await {
        Ok(outcome) => outcome,
        Err(e) => TaskOutcome::Failure {
            exc_type: if e.is_panic() {
                "Panic".into()
            } else {
                "Cancelled".into()
            },
            message: e.to_string(),
        },
    }
}

/// Logs the outcome and decides the message's fate; a retry is republished first.
async fn outcome_to_settle(shared: &Shared, msg: &TaskMessage, queue: &str, outcome: TaskOutcome) -> Settle {
    let (name, id) = (msg.task.as_str(), msg.id.as_str());
    let revoked = shared.state.is_revoked(id);
    match outcome {
        TaskOutcome::Success(result) => {
            info!(task = name, id, %result, "task succeeded");
            Settle::Ack
        }
        TaskOutcome::Failure { exc_type, message } => {
            warn!(task = name, id, exc_type, message, "task failed");
            Settle::Ack
        }
        TaskOutcome::Retry { .. } | TaskOutcome::Reject { requeue: true } if revoked => {
            info!(task = name, id, "task was revoked; not retrying it");
            Settle::Ack
        }
        TaskOutcome::Retry { countdown } => {
            let countdown = countdown.unwrap_or(DEFAULT_RETRY_DELAY).min(MAX_COUNTDOWN);
            let mut next = msg.clone();
            next.options.retries += 1;
            next.options.eta = TimeDelta::from_std(countdown)
                .ok()
                .and_then(|d| Utc::now().checked_add_signed(d));
            let sent = match next.to_message() {
                Ok(out) => shared.bus.publish("", queue, out).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match sent {
                Ok(()) => {
                    info!(
                        task = name,
                        id,
                        retries = next.options.retries,
                        ?countdown,
                        "task retry scheduled"
                    );
                    Settle::Ack
                }
                Err(e) => {
                    error!(task = name, id, error = %e, "cannot republish the retry; requeueing the message");
                    Settle::Nack { requeue: true }
                }
            }
        }
        TaskOutcome::Reject { requeue } => {
            info!(task = name, id, requeue, "task rejected its message");
            Settle::Nack { requeue }
        }
    }
}
