//! [`Document`]: a Polyaxonfile that passed structural validation, with the facts the tracker
//! needs at hand and the whole document kept as JSON for later stages (compilation, storage).

use serde::Serialize;

use crate::kinds::{DocKind, RunKind};
use crate::model::Spec;

/// A structurally valid Polyaxonfile.
///
/// `name`, `description` and `tags` are the effective values, as Polyaxon resolves them for a
/// run: an operation's own value, else the one of its inline component. A `tags` string is
/// split on commas (Polyaxon accepts `tags: "a, b"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// `component` or `operation`.
    pub kind: DocKind,
    /// The spec version (`1.1`, or `1.0`); absent in what `polyaxon run` sends.
    pub version: Option<f64>,
    /// The effective name (a slug; for components possibly `name:tag` or `owner/name:tag`).
    pub name: Option<String>,
    /// The effective description.
    pub description: Option<String>,
    /// The effective tags, in order.
    pub tags: Vec<String>,
    /// The component's `run.kind`: the document's own for a component, the inline component's
    /// for an operation; `None` when the operation references its component (`hubRef`, ...).
    pub run_kind: Option<RunKind>,
    /// The whole document as JSON (YAML merge keys applied; keys of non-string scalars become
    /// strings, as Python's `json.dumps` writes them).
    pub value: serde_json::Value,
    /// The typed document.
    #[serde(skip)]
    pub spec: Spec,
    /// What Polyaxon accepts but is likely a mistake (a field it ignores, ...).
    pub warnings: Vec<crate::Error>,
    /// The text it was parsed from (to locate errors found later, at compilation).
    #[serde(skip)]
    pub source: String,
}
