//! One delivered task message, from acceptance to its ack: hold until the ETA, wait for a
//! concurrency slot, run the task, settle the message according to the outcome.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use myelin_common::bus::Delivery;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::notify::{outcome_event, send_revoked};
use super::results::{self, Finished};
use super::slots::Ticket;
use super::state::Begin;
use super::{Shared, Task, TaskContext, TaskOutcome};
use crate::protocol::{TaskMessage, repr};

/// Celery's `Task.default_retry_delay`, used when a retry gives no countdown.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(180);
/// Longest countdown honoured for a retry (keeps the ETA representable).
pub(super) const MAX_COUNTDOWN: Duration = Duration::from_secs(365 * 24 * 3600);

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
    /// The place in the queue for a concurrency slot, taken at acceptance (see `slots`).
    pub ticket: Option<Ticket>,
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
            ticket,
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
        shared.state.due(slot);
        tokio::select! {
            () = shared.rate_limits.acquire(name) => {}
            () = token.cancelled() => {}
            () = shared.drain.cancelled() => {}
        }
        let ticket = ticket.unwrap_or_else(|| shared.slots.ticket());
        let permit = if token.is_cancelled() || shared.drain.is_cancelled() {
            None
        } else {
            tokio::select! {
                permit = ticket.wait() => permit,
                () = token.cancelled() => None,
                () = shared.drain.cancelled() => None,
            }
        };
        if msg.options.expires.is_some_and(|t| t <= Utc::now()) {
            send_revoked(&shared, id, true);
            return discard(shared.clone(), delivery, msg, queue, "expired").await;
        }
        match shared
            .state
            .begin(slot, permit.is_none() || shared.drain.is_cancelled())
        {
            Begin::Revoked => {
                send_revoked(&shared, id, false);
                return discard(shared.clone(), delivery, msg, queue, "revoked").await;
            }
            Begin::Stopping => return settle(delivery, Settle::Nack { requeue: true }, "an unstarted task").await,
            Begin::Start => {}
        }
        // Early ack (Celery's default): the message is gone before the task runs.
        let delivery = if shared.acks_late {
            Some(delivery)
        } else {
            settle(delivery, Settle::Ack, "a starting task").await;
            None
        };
        let redelivered = delivery.as_ref().is_some_and(|d| d.redelivered);
        let soft_limit = CancellationToken::new();
        let ctx = TaskContext {
            task_id: msg.id.clone(),
            hostname: shared.hostname.clone(),
            redelivered,
            cancel: token.clone(),
            soft_limit: soft_limit.clone(),
        };
        info!(task = name, id, queue, redelivered, "task started");
        shared.events.send("task-started", vec![("uuid", json!(id))]);
        let began = std::time::Instant::now();
        let limits = time_limits(&shared, &msg);
        let outcome = run_task(task, ctx, msg.clone(), limits, soft_limit).await;
        let runtime = began.elapsed().as_secs_f64();
        drop(permit);
        // A task terminated by `revoke` was announced as `task-revoked` already (as Celery does).
        let terminated = token.is_cancelled() && shared.state.is_revoked(id);
        let event = if terminated {
            None
        } else {
            outcome_event(&outcome, runtime)
        };
        let (how, finished) = outcome_to_settle(&shared, &msg, &queue, outcome).await;
        let finished = if terminated {
            Some(Finished::Revoked { reason: "terminated" })
        } else {
            finished
        };
        // The state is stored before the ack: a worker dying in between runs the task again
        // (late ack) rather than leaving a client waiting forever.
        if let Some(finished) = &finished {
            results::finish(&shared, &msg, &queue, finished).await;
        }
        if let Some(delivery) = delivery {
            settle(delivery, how, "a finished task").await;
        }
        if let Some((event_type, fields)) = event {
            // A retry that could not be republished was requeued instead.
            if event_type != "task-retried" || how == Settle::Ack {
                let mut all = vec![("uuid", json!(id))];
                all.extend(fields);
                shared.events.send(event_type, all);
            }
        }
    }
}

/// A task that must not run (revoked, or expired): stored as `REVOKED` with `reason`, acked.
pub(super) async fn discard(
    shared: Arc<Shared>,
    delivery: Delivery,
    msg: TaskMessage,
    queue: String,
    reason: &'static str,
) {
    info!(task = msg.task, id = msg.id, reason, "discarding task");
    results::finish(&shared, &msg, &queue, &Finished::Revoked { reason }).await;
    settle(delivery, Settle::Ack, "a discarded task").await;
}

/// The `(hard, soft)` limits of this run: the message's `timelimit`, else the worker's.
fn time_limits(shared: &Shared, msg: &TaskMessage) -> (Option<f64>, Option<f64>) {
    let (hard, soft) = msg.options.time_limit;
    let valid = |t: Option<f64>| t.filter(|t| t.is_finite() && *t > 0.0);
    (
        valid(hard).or(valid(shared.time_limits.0)),
        valid(soft).or(valid(shared.time_limits.1)),
    )
}

/// Runs the task on its own tokio task so that a panic becomes a failure, not a lost message.
/// Past the soft limit the task's `soft_limit` token is cancelled; past the hard limit the task
/// is aborted and fails with `TimeLimitExceeded`.
async fn run_task(
    task: Arc<dyn Task>,
    ctx: TaskContext,
    msg: TaskMessage,
    (hard, soft): (Option<f64>, Option<f64>),
    soft_limit: CancellationToken,
) -> TaskOutcome {
    let mut handle = AbortOnDrop(tokio::spawn(async move { task.run(ctx, msg).await }));
    let after = |secs: Option<f64>| async move {
        match secs {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
            None => std::future::pending().await,
        }
    };
    let hard_deadline = after(hard);
    tokio::pin!(hard_deadline);
    let soft_deadline = after(soft);
    tokio::pin!(soft_deadline);
    let joined = loop {
        tokio::select! {
            joined = &mut handle.0 => break joined,
            () = &mut soft_deadline, if !soft_limit.is_cancelled() => soft_limit.cancel(),
            () = &mut hard_deadline => {
                handle.0.abort();
                return TaskOutcome::Failure {
                    exc_type: "TimeLimitExceeded".into(),
                    message: hard.unwrap_or_default().to_string(),
                };
            }
        }
    };
    match joined {
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

/// Logs the outcome and decides the message's fate and the state to store; a retry is
/// republished first.
async fn outcome_to_settle(
    shared: &Shared,
    msg: &TaskMessage,
    queue: &str,
    outcome: TaskOutcome,
) -> (Settle, Option<Finished>) {
    let (name, id) = (msg.task.as_str(), msg.id.as_str());
    let revoked = shared.state.is_revoked(id);
    match outcome {
        TaskOutcome::Success(result) => {
            info!(task = name, id, %result, "task succeeded");
            (Settle::Ack, Some(Finished::Success(result)))
        }
        TaskOutcome::Failure { exc_type, message } => {
            warn!(task = name, id, exc_type, message, "task failed");
            let exc = results::exception(&exc_type, &message);
            let traceback = results::traceback(msg, &exc);
            (Settle::Ack, Some(Finished::Failure { exc, traceback }))
        }
        TaskOutcome::Retry { .. } | TaskOutcome::Reject { requeue: true } if revoked => {
            info!(task = name, id, "task was revoked; not retrying it");
            (Settle::Ack, Some(Finished::Revoked { reason: "revoked" }))
        }
        TaskOutcome::Retry { .. }
            if shared
                .max_retries
                .get(name)
                .is_some_and(|max| msg.options.retries >= *max) =>
        {
            warn!(
                task = name,
                id,
                retries = msg.options.retries,
                "task asked for a retry beyond its max_retries"
            );
            let message = format!(
                "Can't retry {name}[{id}] args:{} kwargs:{}",
                repr::value_repr(&serde_json::Value::Array(msg.args.clone())),
                repr::value_repr(&serde_json::Value::Object(msg.kwargs.clone()))
            );
            let exc = results::exception("MaxRetriesExceededError", &message);
            let traceback = results::traceback(msg, &exc);
            (Settle::Ack, Some(Finished::Failure { exc, traceback }))
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
                    let exc = results::retry_exception(countdown.as_secs());
                    (Settle::Ack, Some(Finished::Retry { exc }))
                }
                Err(e) => {
                    error!(task = name, id, error = %e, "cannot republish the retry; requeueing the message");
                    (Settle::Nack { requeue: true }, None)
                }
            }
        }
        TaskOutcome::Reject { requeue } => {
            info!(task = name, id, requeue, "task rejected its message");
            (Settle::Nack { requeue }, None)
        }
    }
}
