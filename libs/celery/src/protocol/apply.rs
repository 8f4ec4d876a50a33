//! A signature applied: the task message `Signature.apply_async()` → `send_task` →
//! `as_task_v2` sends for it.

use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{Signature, TaskMessage, TaskOptions, parse_iso, signatures_from_value};
use crate::error::{Error, Result};

impl Signature {
    /// The message this signature sends when applied (`sig.apply_async()`), from inside `parent`
    /// when a worker applies it (`root_id` = the parent's root or id, `parent_id` = the parent's
    /// id, unless the options set them, as `send_task` does).
    ///
    /// Options read: `task_id` (else a fresh UUID), `countdown` (seconds; wins over `eta`),
    /// `eta` and `expires` (ISO time, or seconds from now for `expires`), `priority`, `root_id`,
    /// `parent_id`, `group_id`, `group_index`, `reply_to`, `time_limit`, `soft_time_limit`,
    /// `retries`, `shadow`, `ignore_result`, `origin`, `link`/`link_error` (→ callbacks/errbacks),
    /// `chain`, `chord`. The queue is [`Signature::queue`].
    pub fn to_message(&self, parent: Option<&TaskMessage>) -> Result<TaskMessage> {
        let o = &self.options;
        let bad = |key: &str, v: &Value| Error::Malformed(format!("signature option '{key}' is invalid: {v}"));
        let string = |key: &str| -> Result<Option<String>> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(bad(key, v)),
            }
        };
        let number = |key: &str| -> Result<Option<f64>> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| bad(key, v)),
            }
        };
        let uint = |key: &str| -> Result<Option<u32>> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| bad(key, v)),
            }
        };
        let after = |secs: f64| Utc::now() + Duration::microseconds((secs * 1e6) as i64);
        let time = |key: &str| -> Result<Option<chrono::DateTime<Utc>>> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_iso(s)
                    .map(Some)
                    .ok_or_else(|| bad(key, &Value::String(s.clone()))),
                Some(v) if key == "expires" => v.as_f64().map(|s| Some(after(s))).ok_or_else(|| bad(key, v)),
                Some(v) => Err(bad(key, v)),
            }
        };
        let sigs = |key: &str| -> Result<Option<Vec<Signature>>> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => signatures_from_value(v).map(Some).map_err(|_| bad(key, v)),
            }
        };
        let eta = match number("countdown")? {
            Some(secs) if secs != 0.0 => Some(after(secs)),
            _ => time("eta")?,
        };
        let root_id = string("root_id")?
            .filter(|r| !r.is_empty())
            .or_else(|| parent.map(|p| p.options.root_id.clone().unwrap_or_else(|| p.id.clone())));
        let parent_id = string("parent_id")?.or_else(|| parent.map(|p| p.id.clone()));
        let chord = match o.get("chord") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Box::new(Signature::deserialize(v).map_err(|_| bad("chord", v))?)),
        };
        let priority = match uint("priority")? {
            Some(p) => Some(u8::try_from(p).map_err(|_| bad("priority", &Value::from(p)))?),
            None => None,
        };
        Ok(TaskMessage {
            id: string("task_id")?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            task: self.task.clone(),
            args: self.args.clone(),
            kwargs: self.kwargs.clone(),
            options: TaskOptions {
                eta,
                expires: time("expires")?,
                retries: uint("retries")?.unwrap_or(0),
                priority,
                root_id,
                parent_id,
                group_id: string("group_id")?,
                time_limit: (number("time_limit")?, number("soft_time_limit")?),
                reply_to: string("reply_to")?,
                origin: string("origin")?,
                group_index: uint("group_index")?,
                ignore_result: o.get("ignore_result").and_then(Value::as_bool).unwrap_or(false),
                shadow: string("shadow")?,
                callbacks: sigs("link")?,
                errbacks: sigs("link_error")?,
                chain: sigs("chain")?,
                chord,
            },
        })
    }
}
