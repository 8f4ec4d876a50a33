//! Celery signatures (`celery/canvas.py::Signature`): the dict `{task, args, kwargs, options,
//! subtask_type, immutable}` (+ `chord_size` from older Celery) that travels in a message's
//! `callbacks`, `errbacks`, `chain` and `chord`. Serialized as Python writes it: keys in that
//! order, `options` in their insertion order ([`Options`]); unknown top-level keys are kept.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A signature's execution options (`task_id`, `queue`, `countdown`, `link`, ...), in insertion
/// order, as a Python dict keeps them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options(Vec<(String, Value)>);

impl Options {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string value of `key`, if set to a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Sets `key` (in place when present, appended otherwise, as a dict does).
    pub fn set(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// Sets `key` only when it is not present (`dict.setdefault`).
    pub fn set_default(&mut self, key: &str, value: Value) {
        if self.get(key).is_none() {
            self.0.push((key.to_owned(), value));
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    /// The options in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Options {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Options {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Options;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of options")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Options, E> {
                Ok(Options::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Options, A::Error> {
                let mut out = Options::default();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.set(&k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// A task invocation to make later: Celery's `Signature` (`add.s(2, 2)`, `add.si(2, 2)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// The task name.
    pub task: String,
    /// Positional arguments (a result is prepended unless [`Signature::immutable`]).
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    /// Execution options; see [`Signature::to_message`] for the ones that shape the message.
    pub options: Options,
    /// `None` for a task; `"chain"`, `"group"`, `"chord"` for canvas primitives.
    pub subtask_type: Option<String>,
    /// `.si()`: the parent's result is not passed in.
    pub immutable: bool,
    /// Set by older Celery on chord bodies; written only when present.
    pub chord_size: Option<u64>,
    /// Top-level keys we do not know, kept in order.
    pub extra: Vec<(String, Value)>,
}

impl Signature {
    /// `name.s(*args, **kwargs)`.
    pub fn new(task: impl Into<String>, args: Vec<Value>, kwargs: Map<String, Value>) -> Self {
        Self {
            task: task.into(),
            args,
            kwargs,
            ..Self::default()
        }
    }

    /// `.si()`: the same signature, immutable.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }

    /// `.set(key=value)`.
    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.options.set(key, value);
        self
    }

    /// `.set(queue=...)`: the queue the task is sent to.
    pub fn set_queue(self, queue: impl Into<String>) -> Self {
        self.set("queue", Value::String(queue.into()))
    }

    /// `.set(task_id=...)`: fixes the id of the task this signature becomes.
    pub fn set_task_id(self, id: impl Into<String>) -> Self {
        self.set("task_id", Value::String(id.into()))
    }

    /// The frozen task id (`options.task_id`), if any.
    pub fn task_id(&self) -> Option<&str> {
        self.options.str("task_id")
    }

    /// The queue this signature is routed to: `options.queue` (a name, or a kombu `Queue` as a
    /// mapping with `name`), else Celery's default `celery`.
    pub fn queue(&self) -> &str {
        match self.options.get("queue") {
            Some(Value::String(q)) if !q.is_empty() => q,
            Some(Value::Object(q)) => q.get("name").and_then(Value::as_str).unwrap_or(DEFAULT_QUEUE),
            _ => DEFAULT_QUEUE,
        }
    }

    /// `_merge(args, kwargs)`: partial args prepended and kwargs merged, unless immutable.
    pub fn partial(&self, args: Vec<Value>, kwargs: Map<String, Value>) -> Self {
        let mut out = self.clone();
        if !self.immutable {
            out.args = args.into_iter().chain(self.args.iter().cloned()).collect();
            out.kwargs.extend(kwargs);
        }
        out
    }

    /// The signature as a JSON value (order of `options` lost: `Value` maps are sorted).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Celery's default queue (`task_default_queue`).
pub const DEFAULT_QUEUE: &str = "celery";

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("task", &self.task)?;
        map.serialize_entry("args", &self.args)?;
        map.serialize_entry("kwargs", &self.kwargs)?;
        map.serialize_entry("options", &self.options)?;
        map.serialize_entry("subtask_type", &self.subtask_type)?;
        map.serialize_entry("immutable", &self.immutable)?;
        if let Some(size) = self.chord_size {
            map.serialize_entry("chord_size", &size)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Signature;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Celery signature mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Signature, A::Error> {
                let mut sig = Signature::default();
                let mut task = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "task" => task = Some(map.next_value::<String>()?),
                        "args" => sig.args = map.next_value::<Option<Vec<Value>>>()?.unwrap_or_default(),
                        "kwargs" => sig.kwargs = map.next_value::<Option<Map<String, Value>>>()?.unwrap_or_default(),
                        "options" => sig.options = map.next_value()?,
                        "subtask_type" => sig.subtask_type = map.next_value()?,
                        "immutable" => sig.immutable = map.next_value::<Option<bool>>()?.unwrap_or(false),
                        "chord_size" => sig.chord_size = map.next_value()?,
                        _ => sig.extra.push((key, map.next_value()?)),
                    }
                }
                sig.task = task.ok_or_else(|| de::Error::missing_field("task"))?;
                Ok(sig)
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads a signature, or a list of them (`link=sig` or `link=[sig, ...]`), from a JSON value.
pub fn signatures_from_value(value: &Value) -> serde_json::Result<Vec<Signature>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(Signature::deserialize).collect(),
        other => Ok(vec![Signature::deserialize(other)?]),
    }
}
