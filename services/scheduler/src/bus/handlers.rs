//! What the scheduler does with each run event. Every handler is idempotent: its effects are guarded
//! by the run's stored state, and reports may repeat (the tracker's lifecycle rules absorb them).
//!
//! - `run.created` of a managed run: compile → report `compiled` (with the compiled operation and
//!   inputs) → report `queued` → `queued` here (the dispatch loop takes it from there); a compile
//!   error → report `failed` with reason `SchedulerPrepare`.
//! - `run.status.changed` to a done status: the slot is freed; a failed dispatched attempt N with
//!   N ≤ maxRetries → report `retrying` (N), report `queued` (N + 1), queued again here.
//! - `run.stop.requested`: not dispatched → `stopped`; dispatched → Celery `revoke` (terminate), and
//!   the executor reports `stopped`.
//! - `run.deleted`: as a stop, without reports: a deleted run is never dispatched, and its task is
//!   revoked if it was.

use myelin_celery::control;
use myelin_common::bus::SharedBus;
use myelin_contracts::events::RunEvent;
use myelin_contracts::run::ManagedBy;
use myelin_contracts::{Envelope, Statuses};

use super::reporter::{PREPARE_FAILED, Report, Reporter, Target};
use crate::domain::decide::{self, OnDone, OnStop};
use crate::domain::prepare;
use crate::error::Error;
use crate::store::Store;
use crate::store::runs::{self, NewRun};

/// The handlers and what they need.
#[derive(Clone)]
pub struct Handlers {
    pub store: Store,
    pub bus: SharedBus,
    pub reporter: Reporter,
    /// See [`crate::Settings::artifacts_root`].
    pub artifacts_root: String,
}

fn target(event: &RunEvent) -> Target {
    Target {
        owner: event.owner.clone(),
        project: event.project.clone(),
        run: event.run,
    }
}

fn correlation(envelope: &Envelope) -> Option<String> {
    envelope
        .correlation_id
        .clone()
        .or_else(|| Some(envelope.id.to_string()))
}

/// Runs the scheduler executes: managed by an agent or the CLI (not by the user's own process).
fn is_managed(event: &RunEvent) -> bool {
    event.is_managed && matches!(event.managed_by, None | Some(ManagedBy::Agent | ManagedBy::Cli))
}

impl Handlers {
    /// `run.created`.
    pub async fn created(&self, envelope: &Envelope, event: RunEvent) -> Result<(), Error> {
        if !is_managed(&event) {
            return Ok(());
        }
        let Some(content) = event.content.as_deref() else {
            tracing::debug!(run = %event.run, "managed run without a Polyaxonfile: nothing to schedule");
            return Ok(());
        };
        let db = self.store.db();
        if let Some(row) = runs::find(db, event.run).await?
            && row.state != decide::State::Pending.as_str()
        {
            return Ok(());
        }
        let to = target(&event);
        let corr = correlation(envelope);
        let ctx = prepare::context(
            &event.run.to_string(),
            event.name.clone(),
            &event.owner,
            &event.project,
            &self.artifacts_root,
            Some(envelope.occurred_at.to_rfc3339()),
        );
        let prepared = match prepare::prepare(content, &ctx) {
            Ok(prepared) => prepared,
            Err(rejected) => {
                tracing::info!(run = %event.run, reason = %rejected, "run cannot be scheduled");
                let report = Report::new(1, Statuses::Failed, PREPARE_FAILED, rejected.0);
                return self.reporter.send(&to, report, corr).await;
            }
        };
        let new = NewRun {
            run: event.run,
            owner: event.owner.clone(),
            project: event.project.clone(),
            name: event.name.clone(),
            prepared,
        };
        runs::insert_pending(db, &new).await?;
        let mut compiled = Report::new(1, Statuses::Compiled, "SchedulerCompiled", "Run is compiled");
        compiled.compiled = Some(new.prepared.compiled.clone());
        compiled.inputs = Some(new.prepared.inputs.clone());
        self.reporter.send(&to, compiled, corr.clone()).await?;
        let message = format!("Run is queued on `{}`", new.prepared.queue);
        self.reporter
            .send(&to, Report::new(1, Statuses::Queued, "SchedulerQueued", message), corr)
            .await?;
        if runs::mark_queued(db, event.run).await? {
            self.store.wake();
        }
        Ok(())
    }

    /// `run.status.changed`.
    pub async fn status_changed(&self, envelope: &Envelope, event: RunEvent) -> Result<(), Error> {
        if !event.status.is_done() {
            return Ok(());
        }
        let db = self.store.db();
        let Some(row) = runs::find(db, event.run).await? else {
            return Ok(());
        };
        let slot = runs::slot(&row)?;
        let attempt = event.attempt.unwrap_or(slot.attempt);
        match decide::on_done(slot, attempt, event.status, event.previous_status) {
            OnDone::Ignore => Ok(()),
            OnDone::Finish { revoke } => {
                if runs::finish(db, event.run, slot.attempt).await? {
                    self.store.wake();
                }
                if revoke && let Some(task_id) = row.task_id {
                    tracing::info!(run = %event.run, %task_id, "run stopped before it started: revoking its task");
                    control::revoke(&self.bus, &[task_id], true, control::TERM_SIGNAL).await?;
                }
                Ok(())
            }
            OnDone::Retry { failed, next } => {
                let to = target(&event);
                let corr = correlation(envelope);
                let tries = slot.max_retries.saturating_add(1);
                let message = format!("Attempt {failed} of {tries} failed; retrying");
                let retrying = Report::new(failed, Statuses::Retrying, "SchedulerRetry", message);
                self.reporter.send(&to, retrying, corr.clone()).await?;
                let message = format!("Attempt {next} of {tries} is queued on `{}`", row.queue);
                self.reporter
                    .send(
                        &to,
                        Report::new(next, Statuses::Queued, "SchedulerQueued", message),
                        corr,
                    )
                    .await?;
                if runs::requeue(db, event.run, failed).await? {
                    self.store.wake();
                }
                Ok(())
            }
        }
    }

    /// `run.stop.requested`.
    pub async fn stop_requested(&self, envelope: &Envelope, event: RunEvent) -> Result<(), Error> {
        self.stop(envelope, event, true).await
    }

    /// `run.deleted`: as a stop, without reports (the run is gone).
    pub async fn deleted(&self, envelope: &Envelope, event: RunEvent) -> Result<(), Error> {
        self.stop(envelope, event, false).await
    }

    /// Stops the run: not dispatched → `done` (and `stopped` reported when `report`); dispatched →
    /// its task is revoked (terminate).
    async fn stop(&self, envelope: &Envelope, event: RunEvent, report: bool) -> Result<(), Error> {
        let db = self.store.db();
        // A claim may take the run between the read and the guarded update: read again then.
        for _ in 0..3 {
            let Some(row) = runs::find(db, event.run).await? else {
                return Ok(());
            };
            let slot = runs::slot(&row)?;
            let report_stopped = || async {
                if !report {
                    return Ok(());
                }
                let message = "Run is stopped before it started";
                let stopped = Report::new(slot.attempt, Statuses::Stopped, "SchedulerStop", message);
                self.reporter
                    .send(&target(&event), stopped, correlation(envelope))
                    .await
            };
            match decide::on_stop(slot) {
                OnStop::StopNow => {
                    if runs::stop_undispatched(db, event.run).await? {
                        return report_stopped().await;
                    }
                }
                OnStop::Repeat => return report_stopped().await,
                OnStop::Revoke => {
                    runs::flag_stop(db, event.run).await?;
                    if let Some(task_id) = row.task_id {
                        tracing::info!(run = %event.run, %task_id, event = %envelope.type_, "revoking the run's task");
                        control::revoke(&self.bus, &[task_id], true, control::TERM_SIGNAL).await?;
                    }
                    // A task still waiting in its queue is dropped by the worker that receives it
                    // revoked, and no executor will report: the run stops here. If an executor did
                    // start it meanwhile, it kills it and reports `stopped` too (a harmless duplicate).
                    if report && event.previous_status == Some(Statuses::Scheduled) {
                        return report_stopped().await;
                    }
                    return Ok(());
                }
                OnStop::Ignore => return Ok(()),
            }
        }
        Err(Error::Corrupt(format!(
            "run {} keeps changing state under a stop",
            event.run
        )))
    }
}
