//! The typed reader: a serde `Deserializer` over a JSON value that knows where it is.
//!
//! Every typed section of the model (`crate::model`) is read through [`PathDe`], which
//! - tracks the path of each node, so every error names `run.container.resources` and, through
//!   `lines.rs`, its line;
//! - accepts the snake_case spelling of any camelCase field of a struct (`max_retries` for
//!   `maxRetries`), for our types and for k8s-openapi's alike, since it reads the field list
//!   serde passes to `deserialize_struct`; the two spellings together are a conflict;
//! - rejects keys a struct does not have, with a "did you mean" hint, and carries on (the
//!   issues are collected), which k8s-openapi's types would otherwise ignore silently;
//! - reads Polyaxon's `kind`-tagged unions (`run`, `matrix`, `schedule`, `earlyStopping`, ...)
//!   through `deserialize_enum`: the object's `kind` names the variant, the rest of the object is
//!   its content (serde's own internally tagged enums buffer the content and lose positions);
//! - lets a field hold a `{{ }}` template instead of its value (Polyaxon's `RefField`), see
//!   [`crate::model::OrRef`], and reads the short form of params (`lr: 0.1`).

mod access;
pub(crate) mod error;
pub(crate) mod recover;

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value as Json};

use crate::error::{Issue, code};
use crate::path::Path;
use crate::validate::fields::{nearest, snake_to_camel, suggest};
use access::{EnumDe, MapDe, SeqDe};
pub(crate) use error::DeError;

/// The newtype name through which [`crate::model::OrRef`] asks for "a template or the value".
pub(crate) const OR_REF: &str = "$myelin::OrRef";
/// The newtype name through which a Kubernetes section (container, volumes, ...) is read:
/// unknown keys and lists written as one mapping are errors on its own fields, but only
/// warnings deeper down, where Polyaxon (which builds the kubernetes client's models from
/// keyword arguments) does not look.
pub(crate) const K8S: &str = "$myelin::K8s";
/// The newtype name through which a param asks for its short form to be expanded.
pub(crate) const PARAM: &str = "$myelin::Param";
/// The keys that make a mapping a full-form param (Polyaxon's `V1_PARAM_KEYS`).
const PARAM_KEYS: [&str; 9] = [
    "value",
    "ref",
    "toInit",
    "to_init",
    "toEnv",
    "to_env",
    "contextOnly",
    "context_only",
    "connection",
];

/// Issues that do not stop reading: errors (unknown and repeated fields) and warnings; and the
/// nodes not to read at all (found broken before, see [`recover`]).
#[derive(Default)]
pub(crate) struct Sink {
    errors: RefCell<Vec<Issue>>,
    warnings: RefCell<Vec<Issue>>,
    skip: Vec<Path>,
}

impl Sink {
    fn push(&self, issue: Issue, warning: bool) {
        if warning {
            self.warnings.borrow_mut().push(issue);
        } else {
            self.errors.borrow_mut().push(issue);
        }
    }

    /// Whether the node at `path` is left out, as if the file did not have it.
    fn skips(&self, path: &Path) -> bool {
        !self.skip.is_empty() && self.skip.contains(path)
    }

    /// Leaves out the entries of a mapping at `path` that are skipped.
    fn keep_entries(&self, entries: &mut Map<String, Json>, path: &Path) {
        if !self.skip.is_empty() {
            entries.retain(|key, _| !self.skips(&path.key(key.clone())));
        }
    }
}

/// Reads `value` (found at `path`) as a `T`: every collected issue, then the fatal one;
/// warnings are appended to `warnings`.
pub(crate) fn from_value<T: DeserializeOwned>(
    value: Json,
    path: &Path,
    warnings: &mut Vec<Issue>,
) -> Result<T, Vec<Issue>> {
    let sink = Sink::default();
    let result = T::deserialize(PathDe::new(value, path.clone(), &sink));
    warnings.extend(sink.warnings.into_inner());
    let mut issues = sink.errors.into_inner();
    match result {
        Ok(typed) if issues.is_empty() => Ok(typed),
        Ok(_) => Err(issues),
        Err(error) => {
            issues.push(error.into_issue());
            Err(issues)
        }
    }
}

/// Whether `text` holds a `{{ ... }}` template.
pub(crate) fn is_template(text: &str) -> bool {
    text.find("{{").is_some_and(|start| text[start..].contains("}}"))
}

/// A JSON node being read, with its path and where to put non-fatal issues.
pub(crate) struct PathDe<'s> {
    value: Json,
    path: Path,
    sink: &'s Sink,
    /// 0 in our sections; 1 + how deep inside a Kubernetes section.
    k8s: u8,
}

impl<'s> PathDe<'s> {
    pub(crate) fn new(value: Json, path: Path, sink: &'s Sink) -> Self {
        Self::within(value, path, sink, 0)
    }

    pub(crate) fn within(value: Json, path: Path, sink: &'s Sink, k8s: u8) -> Self {
        Self { value, path, sink, k8s }
    }

    fn invalid(&self, expected: &str) -> DeError {
        DeError::new(
            code::INVALID_FIELD,
            format!("expected {expected}, found {}", json_kind(&self.value)),
        )
        .at(&self.path)
    }
}

/// A struct name as a section in messages: `Job` → `a job run`, `PodDNSConfig` → `a pod dns
/// config`.
fn describe(name: &str) -> String {
    let known = match name {
        "Job" => Some("a job run"),
        "Service" => Some("a service run"),
        "Dag" => Some("a dag run"),
        "TfJob" => Some("a tfjob run"),
        "PytorchJob" => Some("a pytorchjob run"),
        "MpiJob" => Some("an mpijob run"),
        "MasterWorkerJob" => Some("an xgbjob or paddlejob run"),
        "MxJob" => Some("an mxjob run"),
        "DaskCluster" => Some("a daskcluster run"),
        "RayCluster" => Some("a raycluster run"),
        "ParamFields" => Some("a param"),
        "Io" => Some("an input/output"),
        "Init" => Some("an init entry"),
        "Plugins" => Some("the plugins"),
        _ => None,
    };
    if let Some(known) = known {
        return known.to_owned();
    }
    let mut words = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (index, c) in chars.iter().enumerate() {
        let next_lower = chars.get(index + 1).is_some_and(|next| next.is_lowercase());
        let previous_lower = index > 0 && chars[index - 1].is_lowercase();
        if c.is_uppercase() && index > 0 && (previous_lower || next_lower) {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {words}")
}

/// What a JSON value is, for messages.
pub(crate) fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

/// The keys of `object` renamed to the field names of a struct (snake_case accepted); unknown
/// and repeated keys go to the sink and are dropped.
fn normalize(
    object: Map<String, Json>,
    section: &str,
    fields: &'static [&'static str],
    path: &Path,
    sink: &Sink,
    warn: bool,
) -> Vec<(String, String, Json)> {
    let mut normalized = Vec::new();
    let mut spelled: Vec<(String, String)> = Vec::new();
    for (key, value) in object {
        let name = if fields.contains(&key.as_str()) {
            Some(key.clone())
        } else {
            let camel = snake_to_camel(&key);
            (key.contains('_') && fields.contains(&camel.as_str())).then_some(camel)
        };
        let Some(name) = name else {
            let hint = suggest(&key, fields);
            let section = describe(section);
            let message = if warn {
                format!("unknown field `{key}` in {section} is ignored")
            } else {
                format!("unknown field `{key}` in {section}")
            };
            let issue = Issue::at_key(code::UNKNOWN_FIELD, path.key(key.clone()), message);
            sink.push(issue.with_hint(hint), warn);
            continue;
        };
        if let Some((_, first)) = spelled.iter().find(|(known, _)| *known == name) {
            let message = format!("`{key}` repeats `{first}`: give `{name}` once");
            sink.push(
                Issue::at_key(code::CONFLICTING_FIELDS, path.key(key.clone()), message),
                false,
            );
            continue;
        }
        spelled.push((name.clone(), key.clone()));
        normalized.push((name, key, value));
    }
    normalized
}

/// Number fields also take a number written as a string (a rendered template, `"8888"`), as
/// Polyaxon's models do.
macro_rules! numbers_from_text {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            if let Json::String(text) = &self.value
                && let Ok(number) = serde_json::from_str::<serde_json::Number>(text.trim())
            {
                let value = Json::Number(number);
                return PathDe::within(value, self.path, self.sink, self.k8s).deserialize_any(visitor);
            }
            self.deserialize_any(visitor)
        })*
    };
}

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.deserialize_any(visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for PathDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let result = match self.value {
            Json::Null => visitor.visit_unit(),
            Json::Bool(flag) => visitor.visit_bool(flag),
            Json::Number(ref number) => {
                if let Some(int) = number.as_u64() {
                    visitor.visit_u64(int)
                } else if let Some(int) = number.as_i64() {
                    visitor.visit_i64(int)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(text) => visitor.visit_string(text),
            Json::Array(items) => visitor.visit_seq(SeqDe::new(items, path.clone(), self.sink, self.k8s)),
            Json::Object(mut entries) => {
                self.sink.keep_entries(&mut entries, &path);
                let entries = entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), key, value))
                    .collect();
                visitor.visit_map(MapDe::new(entries, path.clone(), self.sink, self.k8s))
            }
        };
        result.map_err(|error| error.at(&path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Json::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let mut entries = match self.value {
            Json::Object(entries) => entries,
            _ => return Err(self.invalid("a mapping")),
        };
        self.sink.keep_entries(&mut entries, &path);
        let mut entries = normalize(entries, name, fields, &path, self.sink, self.k8s >= 2);
        if name == "Container" {
            // Polyaxon accepts `command: python train.py` for `command: [python train.py]`.
            for (field, _, value) in &mut entries {
                if (field == "command" || field == "args")
                    && let Json::String(text) = value
                {
                    *value = Json::Array(vec![Json::String(std::mem::take(text))]);
                }
            }
        }
        let depth = if self.k8s > 0 { self.k8s.saturating_add(1) } else { 0 };
        visitor
            .visit_map(MapDe::new(entries, path.clone(), self.sink, depth))
            .map_err(|error| error.at(&path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.k8s >= 2 && self.value.is_object() {
            let message = "expected a list, found a mapping: read as a list of one item";
            self.sink
                .push(Issue::at(code::INVALID_FIELD, self.path.clone(), message), true);
            let path = self.path.clone();
            let wrapped = Json::Array(vec![self.value]);
            return PathDe::within(wrapped, path, self.sink, self.k8s).deserialize_any(visitor);
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let access = match self.value {
            Json::String(text) => EnumDe::unit(text, path.clone(), self.sink),
            Json::Object(mut entries) => {
                self.sink.keep_entries(&mut entries, &path);
                let kind_path = path.key("kind");
                let kind = match entries.remove("kind") {
                    Some(Json::String(kind)) => kind,
                    None | Some(Json::Null) => {
                        let message = format!("`kind` is required: one of {}", variants.join(", "));
                        return Err(DeError::new(code::MISSING_FIELD, message).at(&kind_path));
                    }
                    Some(other) => {
                        let message = format!("`kind` must be one of {}", variants.join(", "));
                        let found = json_kind(&other);
                        return Err(
                            DeError::new(code::UNKNOWN_KIND, format!("{message}, found {found}")).at(&kind_path)
                        );
                    }
                };
                EnumDe::tagged(kind, kind_path, entries, path.clone(), self.sink)
            }
            _ => return Err(self.invalid(&format!("a mapping with a `kind` ({})", variants.join(", ")))),
        };
        visitor.visit_enum(access).map_err(|error| error.at(&path))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let result = match name {
            K8S => {
                let k8s = self.k8s.max(1);
                visitor.visit_newtype_struct(PathDe::within(self.value, path.clone(), self.sink, k8s))
            }
            OR_REF => match self.value {
                Json::String(text) if is_template(&text) => visitor.visit_string(text),
                value => visitor.visit_newtype_struct(PathDe::new(value, path.clone(), self.sink)),
            },
            PARAM => {
                let full = match &self.value {
                    Json::Object(entries) => {
                        entries.is_empty()
                            || entries.keys().any(|key| {
                                let key = snake_to_camel(key);
                                PARAM_KEYS.contains(&key.as_str()) || nearest(&key, PARAM_KEYS).is_some()
                            })
                    }
                    _ => false,
                };
                if full {
                    visitor.visit_newtype_struct(self)
                } else {
                    let mut wrapped = Map::new();
                    wrapped.insert("value".to_owned(), self.value);
                    visitor.visit_newtype_struct(PathDe::new(Json::Object(wrapped), path.clone(), self.sink))
                }
            }
            _ => visitor.visit_newtype_struct(self),
        };
        result.map_err(|error| error.at(&path))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    numbers_from_text! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.value {
            Json::String(text) if text == "true" || text == "false" => {
                let path = self.path.clone();
                visitor
                    .visit_bool::<DeError>(text == "true")
                    .map_err(|error| error.at(&path))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_any! {
        deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_map
        deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }
}
