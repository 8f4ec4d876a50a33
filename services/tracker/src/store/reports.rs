//! Status reports (`run.status.reported`, from the scheduler and executors) applied to runs: the
//! condition through the lifecycle's report rules (attempts, late reports), the compiled operation,
//! inputs and outputs stored, and `run.status.changed` written to the outbox, in one transaction.

use myelin_contracts::Statuses;
use myelin_contracts::events;
use myelin_contracts::execution::RunStatusReport;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde_json::Value;

use super::run_actions::set_timeline;
use super::runs::{event, find};
use super::{Store, convert, now, outbox, projects};
use crate::domain::lifecycle::{self, Applied};
use crate::error::Error;

/// What applying a report did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The run's status changed from `previous` (`run.status.changed` written).
    Changed { previous: Statuses, attempt: u32 },
    /// The report repeated the run's last condition; data it carried was stored, no event.
    Refreshed,
    /// The lifecycle rules refused it (late, older attempt, done run); nothing changed.
    Ignored { current: Statuses, reason: &'static str },
    /// The run (or its project) no longer exists.
    RunGone,
}

/// Applies `report` in one transaction; `correlation_id` goes on the event it causes.
pub async fn apply(store: &Store, report: &RunStatusReport, correlation_id: Option<String>) -> Result<Outcome, Error> {
    let txn = store.begin().await?;
    let project = match projects::find(&txn, &report.owner, &report.project).await {
        Ok(project) => project,
        Err(Error::ProjectNotFound { .. } | Error::OwnerNotFound(_)) => return Ok(Outcome::RunGone),
        Err(err) => return Err(err),
    };
    let row = match find(&txn, &project, report.run, true).await {
        Ok(row) => row,
        Err(Error::RunNotFound(_)) => return Ok(Outcome::RunGone),
        Err(err) => return Err(err),
    };
    let mut timeline = convert::timeline(&row)?;
    let current = u32::try_from(row.attempt).unwrap_or(1).max(1);
    let at = now();
    let applied = match lifecycle::apply_report(&mut timeline, current, report.attempt, report.condition.clone(), at) {
        Ok(applied) => applied,
        Err(rejection) => {
            return Ok(Outcome::Ignored {
                current: rejection.current,
                reason: rejection.reason,
            });
        }
    };
    let attempt = current.max(report.attempt);
    let outputs = merge(row.outputs.clone(), report.outputs.as_ref());
    let mut active = row.into_active_model();
    set_timeline(&mut active, &timeline, at)?;
    active.attempt = Set(i32::try_from(attempt).unwrap_or(i32::MAX));
    if let Some(compiled) = &report.compiled {
        // As Polyaxon: `content` holds the compiled operation, `raw_content` the submitted file.
        active.content = Set(Some(serde_json::to_string(compiled)?));
    }
    if let Some(inputs) = &report.inputs {
        active.inputs = Set(Some(inputs.clone()));
    }
    if report.outputs.is_some() {
        active.outputs = Set(outputs);
    }
    let row = active.update(&txn).await?;
    let outcome = match applied {
        Applied::Refreshed => Outcome::Refreshed,
        Applied::Changed { previous } => {
            let mut payload = event(&report.owner, &project, &row)?;
            payload.previous_status = Some(previous);
            payload.condition = timeline.conditions.last().cloned();
            outbox::enqueue(&txn, events::RUN_STATUS_CHANGED, &payload, correlation_id).await?;
            Outcome::Changed { previous, attempt }
        }
    };
    store.commit(txn).await?;
    Ok(outcome)
}

/// `current` outputs with the keys of `new` (an object) over them; a non-object `new` replaces.
fn merge(current: Option<Value>, new: Option<&Value>) -> Option<Value> {
    match (current, new) {
        (Some(Value::Object(mut base)), Some(Value::Object(more))) => {
            base.extend(more.clone());
            Some(Value::Object(base))
        }
        (current, None) => current,
        (_, Some(new)) => Some(new.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outputs_merge_key_by_key() {
        let merged = merge(Some(json!({"a": 1, "b": 2})), Some(&json!({"b": 3, "c": 4})));
        assert_eq!(merged, Some(json!({"a": 1, "b": 3, "c": 4})));
        assert_eq!(merge(None, Some(&json!({"c": 4}))), Some(json!({"c": 4})));
        assert_eq!(merge(Some(json!({"a": 1})), None), Some(json!({"a": 1})));
    }
}
