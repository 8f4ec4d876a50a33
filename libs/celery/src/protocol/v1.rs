//! Protocol v1 (Celery 3, `task_protocol = 1`): everything in the body, headers empty.

use myelin_common::bus::Properties;
use serde_json::Value;

use super::{Fields, TaskMessage, args_kwargs};
use crate::error::{Error, Result};

pub(super) fn decode(properties: &Properties, body: Value) -> Result<TaskMessage> {
    let Value::Object(mut map) = body else {
        return Err(Error::Malformed(
            "no 'task' header and the body is not a v1 task mapping".into(),
        ));
    };
    let (args, kwargs) = args_kwargs(map.remove("args"), map.remove("kwargs"))?;
    let fields = Fields(&map);
    // v1 names the group `taskset` (older) or `group`.
    let group_key = if map.get("group").is_some_and(|g| !g.is_null()) {
        "group"
    } else {
        "taskset"
    };
    Ok(TaskMessage {
        id: fields.required("id")?,
        task: fields.required("task")?,
        args,
        kwargs,
        options: fields.options(properties, group_key)?,
    })
}
