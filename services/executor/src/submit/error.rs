//! [`SubmitError`]: why a submission task did not return a run's outputs, and the Celery outcome
//! each case gives (`exc_type` names a Python client sees in `AsyncResult`).

use std::path::PathBuf;
use std::time::Duration;

use myelin_celery::TaskOutcome;
use myelin_contracts::{RunUuid, Statuses};

/// Retries of a task whose API calls failed transiently (unreachable gateway, 5xx, 429).
pub const MAX_API_RETRIES: u32 = 5;
/// Delay before such a retry.
pub const API_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Why a submission task failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The task's arguments are wrong (missing `project`, both `content` and `component`, ...).
    #[error("{0}")]
    InvalidRequest(String),
    /// `component` (or the task name) is no configured component.
    #[error("no component `{name}` is configured on this executor (known: {known})")]
    UnknownComponent { name: String, known: String },
    /// A configured component's file cannot be read.
    #[error("cannot read the file of component `{name}` ({path}): {source}")]
    ComponentFile {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The Polyaxonfile (with the params applied) does not validate: the path, line and message.
    #[error("invalid Polyaxonfile: {0}")]
    InvalidPolyaxonfile(String),
    /// The platform refused or failed a call.
    #[error("{0}")]
    Api(#[from] myelin_client::Error),
    /// The run ended without succeeding.
    #[error("{status}: {message}")]
    RunFailed { status: Statuses, message: String },
    /// The run did not end within `celery_wait_timeout_secs`.
    #[error("run {uuid} is still {status} after {waited:?}; it goes on, the task stops waiting")]
    WaitTimeout {
        uuid: RunUuid,
        status: Statuses,
        waited: Duration,
    },
    /// The task was revoked with `terminate`; the run was asked to stop.
    #[error("revoked; run {uuid} was stopped")]
    Revoked { uuid: RunUuid },
    /// The worker stops hard: the task goes back to the queue, and the redelivered task finds its
    /// run again (by the Celery task id in its `meta_info`) instead of creating another.
    #[error("the worker is stopping")]
    WorkerStopping,
}

impl SubmitError {
    /// The Python exception name reported for it.
    pub fn exc_type(&self) -> &'static str {
        match self {
            SubmitError::InvalidRequest(_) => "ValueError",
            SubmitError::UnknownComponent { .. } => "NotRegistered",
            SubmitError::ComponentFile { .. } => "ComponentUnavailable",
            SubmitError::InvalidPolyaxonfile(_) => "InvalidPolyaxonfile",
            SubmitError::Api(_) => "ApiError",
            SubmitError::RunFailed { .. } => "RunFailed",
            SubmitError::WaitTimeout { .. } => "RunWaitTimeout",
            SubmitError::Revoked { .. } => "TaskRevokedError",
            SubmitError::WorkerStopping => "WorkerLostError",
        }
    }

    /// Whether trying again later may work (the gateway was unreachable or overloaded).
    pub fn is_transient(&self) -> bool {
        match self {
            SubmitError::Api(myelin_client::Error::Transport { .. }) => true,
            SubmitError::Api(err) => err.status().is_some_and(|s| s.is_server_error() || s.as_u16() == 429),
            _ => false,
        }
    }

    /// The task's outcome: a hard stop requeues, a transient API failure retries (at most
    /// [`MAX_API_RETRIES`] times, counted by the message's `retries`), the rest fails.
    pub fn into_outcome(self, retries: u32) -> TaskOutcome {
        match self {
            SubmitError::WorkerStopping => TaskOutcome::Reject { requeue: true },
            err if err.is_transient() && retries < MAX_API_RETRIES => TaskOutcome::Retry {
                countdown: Some(API_RETRY_DELAY),
            },
            err => TaskOutcome::Failure {
                exc_type: err.exc_type().into(),
                message: err.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let failed = SubmitError::RunFailed {
            status: Statuses::Failed,
            message: "exit code 3".into(),
        };
        assert_eq!(
            failed.into_outcome(0),
            TaskOutcome::Failure {
                exc_type: "RunFailed".into(),
                message: "failed: exit code 3".into()
            }
        );
        assert_eq!(
            SubmitError::WorkerStopping.into_outcome(0),
            TaskOutcome::Reject { requeue: true }
        );
        let api = || {
            SubmitError::Api(myelin_client::Error::Api {
                status: http::StatusCode::BAD_GATEWAY,
                code: "http.502".into(),
                message: "bad gateway".into(),
                request_id: None,
            })
        };
        assert_eq!(
            api().into_outcome(0),
            TaskOutcome::Retry {
                countdown: Some(API_RETRY_DELAY)
            }
        );
        assert!(
            matches!(api().into_outcome(MAX_API_RETRIES), TaskOutcome::Failure { exc_type, .. } if exc_type == "ApiError")
        );
    }
}
