//! Wire types of run execution: what the scheduler dispatches to executors (as the kwargs of the
//! Celery task [`EXECUTE_RUN_TASK`]), what schedulers and executors report back to the tracker
//! (`run.status.reported` on [`crate::events::EVENTS_EXCHANGE`]), queue names and coordination keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::RunUuid;
use crate::status::StatusCondition;

/// The Celery task name executors register to run a scheduled run.
pub const EXECUTE_RUN_TASK: &str = "myelin.execute_run";

/// Routing key of [`RunStatusReport`] messages (published on `myelin.events`).
pub const RUN_STATUS_REPORTED: &str = "run.status.reported";

/// The queue the tracker consumes status reports from (bound to [`RUN_STATUS_REPORTED`]).
pub const TRACKER_STATUS_QUEUE: &str = "myelin.tracker.status-reports";

/// The queue the scheduler consumes run events from.
pub const SCHEDULER_EVENTS_QUEUE: &str = "myelin.scheduler.events";

/// The queue the logs service consumes run events from.
pub const LOGS_EVENTS_QUEUE: &str = "myelin.logs.events";

/// Reason of the `starting` condition an executor reports when a task comes back after the worker
/// holding it was lost: the attempt starts over (the tracker accepts it on a starting or running run).
pub const REDELIVERED_REASON: &str = "redelivered";

/// The name of a run's queue when the Polyaxonfile names none.
pub const DEFAULT_RUN_QUEUE: &str = "default";

/// The AMQP queue executors consume for the run queue `name` (`myelin.runs.default`).
pub fn run_queue(name: &str) -> String {
    format!("myelin.runs.{name}")
}

/// The coordination stream holding a run's live log lines (the adapter adds its own prefix).
pub fn log_stream(run: &RunUuid) -> String {
    format!("logs:{run}")
}

/// A status change reported by the scheduler or an executor; the tracker applies it through the
/// lifecycle rules, so duplicates and late reports are harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatusReport {
    pub owner: String,
    pub project: String,
    pub run: RunUuid,
    /// The execution attempt (1-based) the report belongs to; reports of an older attempt than the
    /// run's current one are ignored.
    pub attempt: u32,
    pub condition: StatusCondition,
    /// The compiled operation, stored on the run (with `compiled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiled: Option<Value>,
    /// The resolved inputs, stored on the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// Outputs to merge into the run's outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    /// Who reported it (`scheduler`, `executor@host`).
    pub source: String,
}

/// The process to start for a job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JobProcess {
    /// The container image (used by the Kubernetes runtime; the process runtime ignores it).
    #[serde(default)]
    pub image: Option<String>,
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Relative paths are resolved against the run's artifacts directory.
    #[serde(default)]
    pub working_dir: Option<String>,
}

/// The kwargs (`{"run": ExecuteRun}`) of a [`EXECUTE_RUN_TASK`] task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteRun {
    pub owner: String,
    pub project: String,
    pub run: RunUuid,
    pub name: Option<String>,
    pub attempt: u32,
    /// The run queue it was dispatched on.
    pub queue: String,
    pub process: JobProcess,
    /// `termination.timeout`: the executor kills the run after this many seconds.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The compiled operation, for runtimes that need more than the process.
    #[serde(default)]
    pub compiled: Value,
}
