//! Run actions: status conditions (through the lifecycle rules), stop, restart/copy, resume, skip,
//! approve, archive and restore. Each commits the run and its events in one transaction.

use myelin_contracts::events::{self, RunEvent};
use myelin_contracts::run::{CloneRun, RunPending};
use myelin_contracts::{CloningKind, Run, RunStatus, RunUuid, StatusBody, StatusCondition, Statuses};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, IntoActiveModel};

use super::entities::{project, run};
use super::runs::{event, find, insert};
use super::{Store, convert, now, outbox, projects};
use crate::context::RequestContext;
use crate::domain::lifecycle::{self, Applied};
use crate::domain::runs as domain;
use crate::error::Error;

/// Reason written on the conditions the tracker itself adds for user actions.
pub const USER_REASON: &str = "UserRequest";

/// `GET .../statuses`.
pub async fn statuses(store: &Store, owner: &str, project_name: &str, uuid: RunUuid) -> Result<RunStatus, Error> {
    let project = projects::find(store.db(), owner, project_name).await?;
    let row = find(store.db(), &project, uuid, false).await?;
    Ok(RunStatus {
        uuid: Some(uuid),
        status: Some(convert::parse(&row.status, "runs.status")?),
        status_conditions: Some(convert::conditions(&row)?),
        meta_info: Some(row.meta_info.unwrap_or_else(|| serde_json::json!({}))),
    })
}

/// Applies `condition` to `row` in `txn` and, when the status changed, writes `run.status.changed`.
/// Returns the updated row and whether the status changed.
async fn transition(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    owner: &str,
    project: &project::Model,
    row: run::Model,
    condition: StatusCondition,
    force: bool,
) -> Result<(run::Model, Option<Statuses>), Error> {
    let mut timeline = convert::timeline(&row)?;
    let at = now();
    let applied =
        lifecycle::apply(&mut timeline, condition.clone(), force, at).map_err(|r| Error::InvalidTransition {
            current: r.current,
            requested: r.requested,
            reason: r.reason,
        })?;
    let mut active = row.into_active_model();
    set_timeline(&mut active, &timeline, at)?;
    let row = active.update(txn).await?;
    let previous = match applied {
        Applied::Changed { previous } => previous,
        Applied::Refreshed => return Ok((row, None)),
    };
    let mut payload = event(owner, project, &row)?;
    payload.previous_status = Some(previous);
    payload.condition = timeline.conditions.last().cloned();
    outbox::enqueue(txn, events::RUN_STATUS_CHANGED, &payload, ctx.request_id.clone()).await?;
    Ok((row, Some(previous)))
}

/// Writes `timeline` (status, conditions, start and finish) into `active`, updated `at`.
pub(super) fn set_timeline(
    active: &mut run::ActiveModel,
    timeline: &lifecycle::Timeline,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    active.status = Set(timeline.status.to_string());
    active.status_conditions = Set(convert::encode(&timeline.conditions)?);
    active.started_at = Set(timeline.started_at);
    active.finished_at = Set(timeline.finished_at);
    active.wait_time = Set(timeline.wait_time);
    active.duration = Set(timeline.duration);
    active.updated_at = Set(at);
    Ok(())
}

/// `POST .../statuses`: applies the condition through the lifecycle rules.
pub async fn add_status(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
    body: StatusBody,
) -> Result<(), Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let row = find(&txn, &project, uuid, true).await?;
    transition(
        &txn,
        ctx,
        owner,
        &project,
        row,
        body.condition,
        body.force.unwrap_or(false),
    )
    .await?;
    store.commit(txn).await
}

/// `POST .../stop`. A run that has not been handed to an executor yet is `stopped` at once; one that
/// may be executing goes `stopping` and a `run.stop.requested` event asks its executor to kill it.
/// Stopping a done or stopping run does nothing.
pub async fn stop(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
) -> Result<(), Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let row = find(&txn, &project, uuid, true).await?;
    let status: Statuses = convert::parse(&row.status, "runs.status")?;
    if status.is_done_or_stopping() {
        return Ok(());
    }
    let executing = status == Statuses::Scheduled
        || status.is_running_family()
        || status.is_warning()
        || status == Statuses::Unknown;
    let target = if executing {
        Statuses::Stopping
    } else {
        Statuses::Stopped
    };
    let message = format!("Stop requested by {}", ctx.subject);
    let condition = StatusCondition::new(target, USER_REASON, message, now());
    let (row, _) = transition(&txn, ctx, owner, &project, row, condition, false).await?;
    if executing {
        outbox::enqueue(
            &txn,
            events::RUN_STOP_REQUESTED,
            &RunEvent {
                previous_status: Some(status),
                ..event(owner, &project, &row)?
            },
            ctx.request_id.clone(),
        )
        .await?;
    }
    store.commit(txn).await
}

/// `POST .../skip`: the run becomes `skipped` (refused once done).
pub async fn skip(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
) -> Result<(), Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let row = find(&txn, &project, uuid, true).await?;
    let condition = StatusCondition::new(
        Statuses::Skipped,
        USER_REASON,
        format!("Skipped by {}", ctx.subject),
        now(),
    );
    transition(&txn, ctx, owner, &project, row, condition, false).await?;
    store.commit(txn).await
}

/// `POST .../restart|copy`: a new run cloned from this one, `original` pointing back at it.
pub async fn clone(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
    kind: CloningKind,
    body: CloneRun,
) -> Result<Run, Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let source = convert::run(find(&txn, &project, uuid, false).await?, owner, project_name)?;
    let new = domain::clone_of(&source, kind, body)?;
    let row = insert(&txn, ctx, owner, &project, new).await?;
    store.commit(txn).await?;
    convert::run(row, owner, project_name)
}

/// `POST .../resume`: a done run goes back to `resuming` (forced), optionally with new content.
pub async fn resume(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
    body: CloneRun,
) -> Result<Run, Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let mut row = find(&txn, &project, uuid, true).await?;
    let status: Statuses = convert::parse(&row.status, "runs.status")?;
    if !status.is_done() && status != Statuses::Resuming {
        return Err(Error::InvalidTransition {
            current: status,
            requested: Statuses::Resuming,
            reason: "only a done run can be resumed",
        });
    }
    if let Some(content) = body.content {
        myelin_spec::parse(&content).map_err(Error::InvalidPolyaxonfile)?;
        row.content = Some(content.clone());
        row.raw_content = Some(content);
        row = row.into_active_model().reset_all().update(&txn).await?;
    }
    let condition = StatusCondition::new(
        Statuses::Resuming,
        USER_REASON,
        format!("Resumed by {}", ctx.subject),
        now(),
    );
    let (row, _) = transition(&txn, ctx, owner, &project, row, condition, true).await?;
    store.commit(txn).await?;
    convert::run(row, owner, project_name)
}

/// The flag actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// `is_approved = true`, and no longer pending approval.
    Approve,
    /// Hidden from lists unless the query asks (`archived:true`).
    Archive,
    /// Listed again.
    Restore,
}

/// `POST .../approve|archive|restore`, with a `run.updated` event.
pub async fn set_flag(
    store: &Store,
    ctx: &RequestContext,
    owner: &str,
    project_name: &str,
    uuid: RunUuid,
    flag: Flag,
) -> Result<(), Error> {
    let txn = store.begin().await?;
    let project = projects::find(&txn, owner, project_name).await?;
    let row = find(&txn, &project, uuid, true).await?;
    let pending_approval = row.pending.as_deref() == Some(RunPending::Approval.as_str());
    let mut active = row.into_active_model();
    let change = match flag {
        Flag::Approve => {
            active.is_approved = Set(true);
            if pending_approval {
                active.pending = Set(None);
            }
            "approve"
        }
        Flag::Archive => {
            active.archived = Set(true);
            "archive"
        }
        Flag::Restore => {
            active.archived = Set(false);
            "restore"
        }
    };
    active.updated_at = Set(now());
    let row = active.update(&txn).await?;
    let mut payload = event(owner, &project, &row)?;
    payload.change = Some(change.into());
    outbox::enqueue(&txn, events::RUN_UPDATED, &payload, ctx.request_id.clone()).await?;
    store.commit(txn).await
}
