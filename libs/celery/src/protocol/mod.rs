//! Celery task messages: [`TaskMessage`] encodes to protocol v2 (what Celery ≥ 4 sends) and
//! decodes protocol v2, v1 (Celery 3) and the hybrid "v1 body with v2 headers".
//!
//! Protocol v2 on AMQP (`celery/app/amqp.py`, `as_task_v2`):
//! - headers: `lang, task, id, shadow, eta, expires, group, group_index, retries,
//!   timelimit [hard, soft], root_id, parent_id, argsrepr, kwargsrepr, origin, ignore_result,
//!   replaced_task_nesting, stamped_headers, stamps`;
//! - properties: `correlation_id` = id, `reply_to` (empty when none), `content_type`
//!   `application/json`, `content_encoding` `utf-8`, `delivery_mode` 2, `priority` (0 by default);
//! - body: `[args, kwargs, {"callbacks", "errbacks", "chain", "chord"}]`, JSON as Python writes it.
//!
//! Protocol v1 (`as_task_v1`) carries everything in the body:
//! `{task, id, args, kwargs, group, retries, eta, expires, utc, callbacks, errbacks, timelimit,
//! taskset, chord}` with empty headers. The golden files in `tests/golden/` were captured from
//! Celery itself and pin both.

mod apply;
pub mod json;
pub mod repr;
mod signature;
mod time;
mod v1;
mod v2;

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use myelin_common::bus::{Delivery, OutgoingMessage, Properties};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub use signature::{DEFAULT_QUEUE, Options, Signature, signatures_from_value};
pub use time::{format_iso, parse_iso};

/// One Celery task invocation: which task, its arguments and how to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMessage {
    /// The task id (a UUID string in practice); also the AMQP `correlation_id`.
    pub id: String,
    /// The registered task name, e.g. `myelin.execute_run`.
    pub task: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    pub options: TaskOptions,
}

/// The optional parts of a task message. Defaults are Celery's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskOptions {
    /// Do not run before this time.
    pub eta: Option<DateTime<Utc>>,
    /// Do not run after this time (the message is discarded).
    pub expires: Option<DateTime<Utc>>,
    /// How many times the task was retried already.
    pub retries: u32,
    /// AMQP priority; Celery publishes 0 when unset.
    pub priority: Option<u8>,
    /// The first task of the workflow; defaults to the task's own id on the wire.
    pub root_id: Option<String>,
    /// The task that sent this one.
    pub parent_id: Option<String>,
    /// The group this task belongs to.
    pub group_id: Option<String>,
    /// `(hard, soft)` time limits in seconds, in the order of the `timelimit` header.
    pub time_limit: (Option<f64>, Option<f64>),
    /// Where results/replies go (Celery's `reply_to` property; empty on the wire when unset).
    pub reply_to: Option<String>,
    /// The sender's node name; `gen<pid>@<host>` on the wire when unset, as Celery does.
    pub origin: Option<String>,
    /// The task's position in its group (`group_index` header; used by chords on Redis).
    pub group_index: Option<u32>,
    /// Do not store the result (`ignore_result` header; `null` on the wire reads as false).
    pub ignore_result: bool,
    /// The name the task is shown under (`shadow` header).
    pub shadow: Option<String>,
    /// Signatures applied with the result on success (`link`; body `callbacks`).
    pub callbacks: Option<Vec<Signature>>,
    /// Signatures applied with the task id on failure (`link_error`; body `errbacks`).
    pub errbacks: Option<Vec<Signature>>,
    /// The rest of the chain, **reversed**: the next task is the last element (body `chain`).
    /// `Some(vec![])` (the last step of a chain) and `None` are both written as Celery writes them.
    pub chain: Option<Vec<Signature>>,
    /// The chord body, frozen, carried by each header task (body `chord`).
    pub chord: Option<Box<Signature>>,
}

impl TaskMessage {
    /// A message for `task` with a fresh random (v4) UUID as id and default options.
    pub fn new(task: impl Into<String>, args: Vec<Value>, kwargs: Map<String, Value>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            task: task.into(),
            args,
            kwargs,
            options: TaskOptions::default(),
        }
    }

    /// The same message with the given id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Encodes the message in protocol v2 (headers, properties and body), ready to publish.
    pub fn to_message(&self) -> Result<OutgoingMessage> {
        v2::encode(self)
    }

    /// Decodes a delivered task message of protocol v2, v1 or the hybrid of both.
    pub fn from_delivery(d: &Delivery) -> Result<Self> {
        Self::decode(&d.properties, &d.body)
    }

    /// Decodes a task message from its properties (with headers) and raw body.
    pub fn decode(properties: &Properties, body: &[u8]) -> Result<Self> {
        let raw = body;
        if let Some(ct) = &properties.content_type
            && ct != "application/json"
        {
            return Err(Error::Malformed(format!(
                "content type '{ct}' is not supported (only application/json)"
            )));
        }
        if properties.headers.get("compression").is_some_and(|c| !c.is_null()) {
            return Err(Error::Malformed("compressed messages are not supported".into()));
        }
        let body: Value =
            serde_json::from_slice(body).map_err(|e| Error::Malformed(format!("body is not JSON: {e}")))?;
        if properties.headers.contains_key("task") {
            v2::decode(properties, body, raw)
        } else {
            v1::decode(properties, body)
        }
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, then `$HOSTNAME`, then `localhost`).
pub fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    })
}

/// Celery's `anon_nodename()`: `gen<pid>@<host>`, the default `origin`.
fn anon_nodename() -> String {
    format!("gen{}@{}", std::process::id(), hostname())
}

/// Typed access to the fields of a header table or v1 body.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::Malformed(format!("'{key}' must be a string, got {other}"))),
        }
    }

    fn required(&self, key: &str) -> Result<String> {
        self.string(key)?
            .ok_or_else(|| Error::Malformed(format!("'{key}' is missing")))
    }

    fn time(&self, key: &str) -> Result<Option<DateTime<Utc>>> {
        self.string(key)?
            .map(|s| parse_iso(&s).ok_or_else(|| Error::Malformed(format!("'{key}' is not an ISO 8601 time: {s}"))))
            .transpose()
    }

    fn retries(&self) -> Result<u32> {
        match self.0.get("retries") {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Error::Malformed(format!("'retries' must be a small non-negative integer, got {v}"))),
        }
    }

    fn time_limit(&self) -> Result<(Option<f64>, Option<f64>)> {
        let limit = |v: Option<&Value>| match v {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| Error::Malformed(format!("'timelimit' holds a non-number: {v}"))),
        };
        match self.0.get("timelimit") {
            None | Some(Value::Null) => Ok((None, None)),
            Some(Value::Array(pair)) => Ok((limit(pair.first())?, limit(pair.get(1))?)),
            Some(other) => Err(Error::Malformed(format!(
                "'timelimit' must be [hard, soft], got {other}"
            ))),
        }
    }

    fn group_index(&self) -> Result<Option<u32>> {
        match self.0.get("group_index") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| Error::Malformed(format!("'group_index' must be a non-negative integer, got {v}"))),
        }
    }

    /// A signature list (`callbacks`, `errbacks`, `chain`) carried as a plain value (v1 body).
    fn signatures(&self, key: &str) -> Result<Option<Vec<Signature>>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => signatures_from_value(v)
                .map(Some)
                .map_err(|e| Error::Malformed(format!("'{key}' holds an invalid signature: {e}"))),
        }
    }

    /// The options shared by v1 and v2 (time fields, ids, limits), plus the AMQP properties.
    fn options(&self, properties: &Properties, group_key: &str) -> Result<TaskOptions> {
        Ok(TaskOptions {
            eta: self.time("eta")?,
            expires: self.time("expires")?,
            retries: self.retries()?,
            priority: properties.priority,
            root_id: self.string("root_id")?,
            parent_id: self.string("parent_id")?,
            group_id: self.string(group_key)?,
            time_limit: self.time_limit()?,
            reply_to: properties.reply_to.clone().filter(|r| !r.is_empty()),
            origin: self.string("origin")?,
            group_index: self.group_index()?,
            ignore_result: self.0.get("ignore_result").and_then(Value::as_bool).unwrap_or(false),
            shadow: self.string("shadow")?,
            callbacks: self.signatures("callbacks")?,
            errbacks: self.signatures("errbacks")?,
            chain: self.signatures("chain")?,
            chord: match self.0.get("chord") {
                None | Some(Value::Null) => None,
                Some(v) => Some(Box::new(Signature::deserialize(v).map_err(|e| {
                    Error::Malformed(format!("'chord' holds an invalid signature: {e}"))
                })?)),
            },
        })
    }
}

/// `args` must be a list and `kwargs` a mapping (Celery's `InvalidTaskError` otherwise).
fn args_kwargs(args: Option<Value>, kwargs: Option<Value>) -> Result<(Vec<Value>, Map<String, Value>)> {
    let args = match args {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(Error::Malformed(format!("task args must be a list, got {other}"))),
    };
    let kwargs = match kwargs {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(k)) => k,
        Some(other) => {
            return Err(Error::Malformed(format!(
                "task keyword arguments must be a mapping, got {other}"
            )));
        }
    };
    Ok((args, kwargs))
}
