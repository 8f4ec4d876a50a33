//! The dispatch loop: woken on every change (a run queued, a slot freed) and every
//! `dispatch.interval_ms`, it claims the oldest queued runs that fit under `max_concurrency`
//! ([`claims::claim`]), then for each: reports `scheduled` and publishes the Celery task
//! `myelin.execute_run` (kwargs `{"run": ExecuteRun}`, id = the claimed task id) on
//! `myelin.runs.<queue>`. If either publish fails the run goes back to the queue, keeping its place
//! (a row that cannot be turned into a task at all is dropped, with an error log).
//!
//! Housekeeping every [`SWEEP_EVERY`]: runs claimed but never confirmed published (a replica died between
//! claim and publish) are queued again after `dispatch.publish_timeout_secs`; processed event ids
//! older than `dispatch.dedupe_retention_hours` are forgotten.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use myelin_celery::{Producer, TaskMessage};
use myelin_contracts::execution::{EXECUTE_RUN_TASK, run_queue};
use myelin_contracts::{RunUuid, Statuses};
use serde_json::Map;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use super::reporter::{PREPARE_FAILED, Report, Reporter, Target};
use crate::config::Settings;
use crate::error::Error;
use crate::store::entities::run;
use crate::store::{Store, claims, dedupe, now, runs};
use myelin_common::bus::subscription::backoff;

/// How often housekeeping runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Dispatches queued runs. See the module doc.
pub struct Dispatcher {
    store: Store,
    reporter: Reporter,
    producer: Producer,
    settings: Arc<Settings>,
    wake: Arc<Notify>,
    /// AMQP run queues declared already.
    declared: Mutex<HashSet<String>>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        reporter: Reporter,
        producer: Producer,
        settings: Arc<Settings>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            reporter,
            producer,
            settings,
            wake,
            declared: Mutex::new(HashSet::new()),
        }
    }

    /// Runs until `shutdown` (finishing the round in hand).
    pub async fn run(self, shutdown: CancellationToken) {
        let interval = Duration::from_millis(self.settings.dispatch.interval_ms.max(1));
        let mut failures: u32 = 0;
        let mut last_sweep: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                last_sweep = Some(tokio::time::Instant::now());
                if let Err(err) = self.housekeeping().await {
                    tracing::warn!(error = %err, "dispatch: housekeeping failed");
                }
            }
            let again = match self.round().await {
                Ok(Round { claimed, failed: 0 }) => {
                    failures = 0;
                    claimed > 0
                }
                Ok(Round { .. }) => {
                    failures = failures.saturating_add(1);
                    false
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %err, "dispatch round failed");
                    false
                }
            };
            if again {
                continue;
            }
            let pause = if failures > 0 {
                backoff(failures).min(interval)
            } else {
                interval
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Claims what fits and dispatches it.
    pub async fn round(&self) -> Result<Round, Error> {
        let claimed = claims::claim(&self.store, self.settings.max_concurrency).await?;
        let mut round = Round {
            claimed: claimed.len(),
            failed: 0,
        };
        for row in claimed {
            if let Err(err) = self.dispatch(&row).await {
                round.failed += 1;
                let run = RunUuid(row.run);
                if err.is_transient() {
                    tracing::warn!(error = %err, %run, "dispatch failed; the run goes back to the queue");
                    if let Some(task_id) = &row.task_id {
                        runs::revert_dispatch(self.store.db(), run, task_id).await?;
                    }
                } else {
                    tracing::error!(error = %err, %run, "the run cannot be dispatched; it is dropped");
                    let attempt = u32::try_from(row.attempt).unwrap_or(1);
                    runs::finish(self.store.db(), run, attempt).await?;
                    let target = Target {
                        owner: row.owner.clone(),
                        project: row.project.clone(),
                        run,
                    };
                    let message = format!("the run cannot be dispatched: {err}");
                    let failed = Report::new(attempt, Statuses::Failed, PREPARE_FAILED, message);
                    if let Err(err) = self.reporter.send(&target, failed, None).await {
                        tracing::warn!(error = %err, %run, "cannot report the failed dispatch");
                    }
                }
            }
        }
        Ok(round)
    }

    /// Reports `scheduled` and publishes the task of a claimed run.
    async fn dispatch(&self, row: &run::Model) -> Result<(), Error> {
        let task_id = row
            .task_id
            .clone()
            .ok_or_else(|| Error::Corrupt(format!("claimed run {} has no task id", row.run)))?;
        let execute = runs::execute_run(row)?;
        let queue = run_queue(&execute.queue);
        let target = Target {
            owner: row.owner.clone(),
            project: row.project.clone(),
            run: execute.run,
        };
        let message = format!("Run is scheduled on `{}` (task {task_id})", execute.queue);
        let scheduled = Report::new(execute.attempt, Statuses::Scheduled, "SchedulerDispatched", message);
        self.reporter.send(&target, scheduled, None).await?;
        self.declare(&queue).await?;
        let mut kwargs = Map::new();
        kwargs.insert("run".into(), serde_json::to_value(&execute)?);
        let task = TaskMessage::new(EXECUTE_RUN_TASK, Vec::new(), kwargs).with_id(task_id.clone());
        self.producer.send(&queue, &task).await?;
        runs::mark_published(self.store.db(), execute.run, &task_id).await?;
        tracing::info!(run = %execute.run, attempt = execute.attempt, %queue, %task_id, "run dispatched");
        Ok(())
    }

    /// Declares a run queue the first time it is used.
    async fn declare(&self, queue: &str) -> Result<(), Error> {
        let mut declared = self.declared.lock().await;
        if !declared.contains(queue) {
            self.producer.declare_queue(queue).await?;
            declared.insert(queue.to_owned());
        }
        Ok(())
    }

    async fn housekeeping(&self) -> Result<(), Error> {
        let dispatch = &self.settings.dispatch;
        let requeued = runs::requeue_unpublished(self.store.db(), ago(dispatch.publish_timeout_secs)).await?;
        if requeued > 0 {
            tracing::warn!(requeued, "runs claimed but never published went back to the queue");
        }
        let retention = dispatch.dedupe_retention_hours.saturating_mul(3600);
        dedupe::prune(self.store.db(), ago(retention)).await?;
        Ok(())
    }
}

/// `secs` seconds ago (the beginning of time when that is out of range).
fn ago(secs: u64) -> DateTime<Utc> {
    TimeDelta::try_seconds(i64::try_from(secs).unwrap_or(i64::MAX))
        .and_then(|delta| now().checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What a dispatch round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Runs claimed.
    pub claimed: usize,
    /// Of which could not be dispatched (back in the queue).
    pub failed: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_never_overflows() {
        let before = now();
        let minute_ago = ago(60);
        assert!(minute_ago >= before - TimeDelta::seconds(60) && minute_ago <= now() - TimeDelta::seconds(60));
        assert_eq!(ago(u64::MAX), DateTime::<Utc>::MIN_UTC);
    }
}
