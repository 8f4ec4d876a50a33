//! Components and operations (Polyaxon's `BaseComponent`, `V1Component`, `BaseOp`,
//! `V1Operation`), and [`Spec`]: the document as one of them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::env::{Cache, Mount, Plugins, Template, Termination};
use super::inout::Io;
use super::matrix::Matrix;
use super::params::{Build, Hook, Join, Param};
use super::run::Run;
use super::schedule::{EventTrigger, PatchStrategy, Schedule, TriggerPolicy};
use super::{Json, OrRef};
use crate::section;

section! {
    /// A reusable definition: inputs, outputs and a runtime (`run`).
    #[derive(Default)]
    pub struct Component {
        /// The spec version, `1.1`.
        #[serde(deserialize_with = "super::version")]
        version: Option<f64>,
        /// `component` (optional inside an operation or a dag).
        kind: Option<String>,
        /// `name`, `name:tag` or `owner/name:tag`.
        name: Option<String>,
        description: Option<String>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        tags: Option<Vec<String>>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        presets: Option<Vec<String>>,
        /// Reject params that declare no input/output unless `contextOnly` (Polyaxon 2.18).
        strict_params: Option<bool>,
        queue: Option<String>,
        namespace: Option<String>,
        cache: Option<Cache>,
        termination: Option<Termination>,
        plugins: Option<Plugins>,
        build: Option<Build>,
        hooks: Option<Vec<Hook>>,
        is_approved: Option<OrRef<bool>>,
        cost: Option<OrRef<f64>>,
        mount: Option<Vec<Mount>>,
        inputs: Option<Vec<Io>>,
        outputs: Option<Vec<Io>>,
        /// The runtime.
        run: Run,
        template: Option<Template>,
    }
}

section! {
    /// An execution of a component: params, run-time settings and the component, inline or
    /// referenced.
    #[derive(Default)]
    pub struct Operation {
        #[serde(deserialize_with = "super::version")]
        version: Option<f64>,
        /// `operation` (optional inside a dag).
        kind: Option<String>,
        name: Option<String>,
        description: Option<String>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        tags: Option<Vec<String>>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        presets: Option<Vec<String>>,
        strict_params: Option<bool>,
        queue: Option<String>,
        namespace: Option<String>,
        cache: Option<Cache>,
        termination: Option<Termination>,
        plugins: Option<Plugins>,
        build: Option<Build>,
        hooks: Option<Vec<Hook>>,
        is_approved: Option<OrRef<bool>>,
        cost: Option<OrRef<f64>>,
        mount: Option<Vec<Mount>>,
        schedule: Option<Schedule>,
        events: Option<Vec<EventTrigger>>,
        matrix: Option<Matrix>,
        joins: Option<Vec<Join>>,
        dependencies: Option<Vec<String>>,
        trigger: Option<TriggerPolicy>,
        conditions: Option<String>,
        skip_on_upstream_skip: Option<bool>,
        /// Values for the component's inputs/outputs (or context values), by name.
        params: Option<BTreeMap<String, Param>>,
        hub_ref: Option<String>,
        dag_ref: Option<String>,
        url_ref: Option<String>,
        path_ref: Option<String>,
        component: Option<Box<Component>>,
        patch_strategy: Option<PatchStrategy>,
        /// A partial operation merged into others (`-f preset.yaml`), never run alone.
        is_preset: Option<bool>,
        /// A patch of the component's `run` section.
        run_patch: Option<Json>,
        template: Option<Template>,
    }
}

/// A whole Polyaxonfile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Spec {
    /// `kind: component`.
    Component(Box<Component>),
    /// `kind: operation`.
    Operation(Box<Operation>),
}

impl Default for super::run::Run {
    fn default() -> Self {
        super::run::Run::Job(Box::default())
    }
}

impl Operation {
    /// The name of the reference field set (`hubRef`, `dagRef`, `urlRef`, `pathRef`), with its
    /// value.
    pub fn reference(&self) -> Option<(&'static str, &str)> {
        [
            ("hubRef", &self.hub_ref),
            ("dagRef", &self.dag_ref),
            ("urlRef", &self.url_ref),
            ("pathRef", &self.path_ref),
        ]
        .into_iter()
        .find_map(|(field, value)| value.as_deref().map(|value| (field, value)))
    }
}

impl Component {
    /// The declared inputs then outputs.
    pub fn io(&self) -> impl Iterator<Item = &Io> {
        self.inputs.iter().flatten().chain(self.outputs.iter().flatten())
    }
}
