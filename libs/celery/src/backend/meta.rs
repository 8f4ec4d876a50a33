//! What a result backend stores for a task: Celery's task meta dict and its JSON exception form.
//!
//! [`TaskMeta`] is exactly the dict `BaseBackend._get_result_meta` builds (plus `task_id`, added by
//! `_store_result`): `{status, result, traceback, children, date_done, [group_id], [parent_id],
//! [name, args, kwargs, worker, retries, queue], task_id}`. `date_done` is the `isoformat()` of an
//! aware UTC time for ready states and null otherwise; `children` holds result tuples
//! (`[[id, parent], null]`). Failures store an [`ExceptionInfo`] as `result`, which Python's
//! `exception_to_python` turns back into the exception class (`exc_module`.`exc_type`)`(*exc_message)`.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::protocol::format_iso;

/// A task's state as Celery names it (`celery.states`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskState {
    Pending,
    Received,
    Started,
    Success,
    Failure,
    Retry,
    Revoked,
}

impl TaskState {
    /// `READY_STATES`: the task will not change state again.
    pub fn is_ready(self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Revoked)
    }

    /// `EXCEPTION_STATES`: the stored result is an exception.
    pub fn is_exception(self) -> bool {
        matches!(self, Self::Failure | Self::Retry | Self::Revoked)
    }

    /// `PROPAGATE_STATES`: a chord part in this state fails the chord.
    pub fn propagates(self) -> bool {
        matches!(self, Self::Failure | Self::Revoked)
    }

    /// The wire name (`"SUCCESS"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Received => "RECEIVED",
            Self::Started => "STARTED",
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Retry => "RETRY",
            Self::Revoked => "REVOKED",
        }
    }
}

/// An exception as Celery's `prepare_exception` writes it for the JSON serializer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// The class's `__qualname__`, e.g. `ValueError`.
    pub exc_type: String,
    /// The exception's `args`, e.g. `["boom"]`; Python rebuilds it as `cls(*exc_message)`.
    pub exc_message: Vec<Value>,
    /// The class's module, e.g. `builtins`; an unknown module or class makes Python create a
    /// stand-in class of that name in `celery.exceptions`.
    pub exc_module: String,
}

impl ExceptionInfo {
    pub fn new(exc_module: impl Into<String>, exc_type: impl Into<String>, args: Vec<Value>) -> Self {
        Self {
            exc_type: exc_type.into(),
            exc_message: args,
            exc_module: exc_module.into(),
        }
    }

    /// A builtin exception with one message argument, e.g. `builtin("ValueError", "boom")`.
    pub fn builtin(exc_type: &str, message: impl Into<String>) -> Self {
        Self::new("builtins", exc_type, vec![Value::String(message.into())])
    }

    /// `celery.exceptions.NotRegistered(task_name)`.
    pub fn not_registered(task_name: &str) -> Self {
        Self::new("celery.exceptions", "NotRegistered", vec![task_name.into()])
    }

    /// `celery.exceptions.TaskRevokedError(reason)` (`revoked`, `expired`, `terminated`).
    pub fn revoked(reason: &str) -> Self {
        Self::new("celery.exceptions", "TaskRevokedError", vec![reason.into()])
    }

    /// `billiard.exceptions.TimeLimitExceeded(hard_limit)` (Celery re-exports it).
    pub fn time_limit_exceeded(seconds: f64) -> Self {
        Self::new("billiard.exceptions", "TimeLimitExceeded", vec![seconds.into()])
    }

    /// `billiard.exceptions.SoftTimeLimitExceeded()`.
    pub fn soft_time_limit_exceeded() -> Self {
        Self::new("billiard.exceptions", "SoftTimeLimitExceeded", vec![])
    }

    /// `celery.exceptions.ChordError(message)`.
    pub fn chord_error(message: impl Into<String>) -> Self {
        Self::new("celery.exceptions", "ChordError", vec![Value::String(message.into())])
    }

    /// Reads a stored exception dict; `None` when `value` is not one (a missing `exc_module`
    /// reads as `celery.exceptions`, a non-list `exc_message` as its single argument).
    pub fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let exc_type = obj.get("exc_type")?.as_str()?.to_owned();
        let exc_module = obj
            .get("exc_module")
            .and_then(Value::as_str)
            .unwrap_or("celery.exceptions")
            .to_owned();
        let exc_message = match obj.get("exc_message") {
            Some(Value::Array(args)) => args.clone(),
            None | Some(Value::Null) => vec![],
            Some(other) => vec![other.clone()],
        };
        Some(Self::new(exc_module, exc_type, exc_message))
    }

    /// The exception dict as stored in a result.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Python's `repr()` of the rebuilt exception, e.g. `ValueError('boom')`.
    pub fn repr(&self) -> String {
        let args = crate::protocol::repr::args_repr(&self.exc_message);
        let args = args.strip_suffix(",)").map(|a| format!("{a})")).unwrap_or(args);
        format!("{}{args}", self.exc_type)
    }
}

/// The fields Celery adds with `result_extended = True`: the request that ran the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtendedMeta {
    /// The task name.
    pub name: Option<String>,
    pub args: Option<Value>,
    pub kwargs: Option<Value>,
    /// The worker's node name.
    pub worker: Option<String>,
    pub retries: Option<u32>,
    /// The routing key the task message arrived with.
    pub queue: Option<String>,
}

/// One stored task state: Celery's result meta dict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawMeta")]
pub struct TaskMeta {
    pub status: TaskState,
    /// The return value, or an [`ExceptionInfo`] dict in exception states.
    pub result: Value,
    pub traceback: Option<String>,
    /// Result tuples of the tasks this one sent (`[[id, parent], null]`).
    pub children: Vec<Value>,
    /// `isoformat()` of the UTC time the task became ready; null before.
    pub date_done: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Written (all six keys, nulls included) only when set, as with `result_extended`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extended: Option<ExtendedMeta>,
    pub task_id: String,
}

/// The deserialization shape: the extended fields are taken only when `name` is present.
#[derive(Deserialize)]
struct RawMeta {
    status: TaskState,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    traceback: Option<String>,
    #[serde(default)]
    children: Option<Vec<Value>>,
    #[serde(default)]
    date_done: Option<String>,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    task_id: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl From<RawMeta> for TaskMeta {
    fn from(raw: RawMeta) -> Self {
        let extended = raw
            .rest
            .contains_key("name")
            .then(|| serde_json::from_value(Value::Object(raw.rest)).unwrap_or_default());
        Self {
            status: raw.status,
            result: raw.result,
            traceback: raw.traceback,
            children: raw.children.unwrap_or_default(),
            date_done: raw.date_done,
            group_id: raw.group_id,
            parent_id: raw.parent_id,
            extended,
            task_id: raw.task_id,
        }
    }
}

impl TaskMeta {
    /// A meta in `status` with `result`; `date_done` is now for ready states, null otherwise.
    pub fn new(task_id: impl Into<String>, status: TaskState, result: Value) -> Self {
        Self {
            status,
            result,
            traceback: None,
            children: vec![],
            date_done: status.is_ready().then(|| format_iso(&Utc::now())),
            group_id: None,
            parent_id: None,
            extended: None,
            task_id: task_id.into(),
        }
    }

    /// `SUCCESS` with the return value.
    pub fn success(task_id: impl Into<String>, value: Value) -> Self {
        Self::new(task_id, TaskState::Success, value)
    }

    /// `FAILURE` with the exception and its formatted traceback, if any.
    pub fn failure(task_id: impl Into<String>, exc: &ExceptionInfo, traceback: Option<String>) -> Self {
        let mut meta = Self::new(task_id, TaskState::Failure, exc.to_value());
        meta.traceback = traceback;
        meta
    }

    /// `RETRY`, storing the exception that caused it (null when the task retried without one).
    pub fn retry(task_id: impl Into<String>, exc: Option<&ExceptionInfo>, traceback: Option<String>) -> Self {
        let mut meta = Self::new(
            task_id,
            TaskState::Retry,
            exc.map_or(Value::Null, ExceptionInfo::to_value),
        );
        meta.traceback = traceback;
        meta
    }

    /// `REVOKED` with `TaskRevokedError(reason)`.
    pub fn revoked(task_id: impl Into<String>, reason: &str) -> Self {
        Self::new(task_id, TaskState::Revoked, ExceptionInfo::revoked(reason).to_value())
    }

    /// `STARTED` with `{"pid", "hostname"}`, as `mark_as_started` stores it (task_track_started).
    pub fn started(task_id: impl Into<String>, pid: u32, hostname: &str) -> Self {
        let result = serde_json::json!({"pid": pid, "hostname": hostname});
        Self::new(task_id, TaskState::Started, result)
    }

    /// The same meta with the group and parent ids of the request that ran it.
    pub fn with_ids(mut self, group_id: Option<String>, parent_id: Option<String>) -> Self {
        self.group_id = group_id;
        self.parent_id = parent_id;
        self
    }

    /// The same meta with the extended (request) fields.
    pub fn with_extended(mut self, extended: ExtendedMeta) -> Self {
        self.extended = Some(extended);
        self
    }

    /// The stored exception, in exception states.
    pub fn exception(&self) -> Option<ExceptionInfo> {
        if self.status.is_exception() {
            ExceptionInfo::from_value(&self.result)
        } else {
            None
        }
    }

    /// The JSON Celery stores and publishes.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_celerys_keys() {
        let meta = TaskMeta::failure("t1", &ExceptionInfo::builtin("ValueError", "boom"), None)
            .with_ids(Some("g".into()), None);
        let v: Value = serde_json::from_str(&meta.to_json().unwrap()).unwrap();
        assert_eq!(v["status"], "FAILURE");
        assert_eq!(
            v["result"],
            json!({"exc_type": "ValueError", "exc_message": ["boom"], "exc_module": "builtins"})
        );
        assert_eq!(v["group_id"], "g");
        assert!(v.get("parent_id").is_none() && v.get("name").is_none());
        assert!(v["date_done"].as_str().unwrap().ends_with("+00:00"));
        assert_eq!(TaskMeta::from_json(meta.to_json().unwrap().as_bytes()).unwrap(), meta);
    }

    #[test]
    fn extended_round_trip_and_repr() {
        let meta = TaskMeta::success("t", json!(3)).with_extended(ExtendedMeta {
            name: Some("tasks.add".into()),
            args: Some(json!([1, 2])),
            ..Default::default()
        });
        let v: Value = serde_json::from_str(&meta.to_json().unwrap()).unwrap();
        assert_eq!(v["queue"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("queue"));
        assert_eq!(TaskMeta::from_json(meta.to_json().unwrap().as_bytes()).unwrap(), meta);
        assert_eq!(
            ExceptionInfo::builtin("ValueError", "boom").repr(),
            "ValueError('boom')"
        );
        assert_eq!(
            ExceptionInfo::soft_time_limit_exceeded().repr(),
            "SoftTimeLimitExceeded()"
        );
        let started = TaskMeta::from_json(br#"{"status": "STARTED", "result": {"pid": 1}}"#).unwrap();
        assert_eq!(started.date_done, None);
        assert_eq!(started.children, Vec::<Value>::new());
    }
}
