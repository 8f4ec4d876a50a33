//! The context templates are rendered against: `globals` (run, project and paths, from
//! [`CompileContext`]), every input/output/context value by name, `inputs`/`outputs` as
//! mappings, `params.<name>` (`value`, `as_str`, `as_arg`, `type`, `connection`) and
//! `connections`.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::params::{Resolved, Source, param_context};
use super::template::Renderer;
use crate::model::{Component, Io, Operation, OrRef, Run};
use crate::path::Path;

/// What the platform knows about the run being compiled (`globals.*` in templates).
#[derive(Debug, Clone, PartialEq)]
pub struct CompileContext {
    /// The run's uuid (hex, no dashes).
    pub uuid: String,
    /// The run's name, when it has one.
    pub name: Option<String>,
    /// The project's name.
    pub project_name: String,
    /// The project's uuid.
    pub project_uuid: Option<String>,
    /// The owner (organization or user) of the project.
    pub owner_name: String,
    /// Where the run writes its artifacts.
    pub run_artifacts_path: String,
    /// Where the run writes its outputs.
    pub run_outputs_path: String,
    /// The root of the artifacts store.
    pub artifacts_path: String,
    /// Where code and init artifacts are placed in the containers.
    pub context_path: String,
    /// The Kubernetes namespace, when any.
    pub namespace: Option<String>,
    /// The iteration of a search, when the run is one.
    pub iteration: Option<u64>,
    /// When the run was created (RFC 3339).
    pub created_at: Option<String>,
    /// More `globals` (overriding the ones above).
    pub extra: BTreeMap<String, Json>,
}

impl Default for CompileContext {
    /// Placeholders, for checking a file outside of any project (`myelin check`).
    fn default() -> Self {
        let uuid = "00000000000000000000000000000000".to_owned();
        Self {
            run_artifacts_path: format!("/plx-context/artifacts/{uuid}"),
            run_outputs_path: format!("/plx-context/artifacts/{uuid}/outputs"),
            uuid,
            name: None,
            project_name: "project".to_owned(),
            project_uuid: None,
            owner_name: "owner".to_owned(),
            artifacts_path: "/plx-context/artifacts".to_owned(),
            context_path: "/plx-context".to_owned(),
            namespace: None,
            iteration: None,
            created_at: None,
            extra: BTreeMap::new(),
        }
    }
}

/// The ports a service exposes (for `globals.ports`).
fn ports(run: &Run) -> Vec<u16> {
    match run {
        Run::Service(service) => match &service.ports {
            Some(OrRef::Value(ports)) => ports.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The template context of an operation.
pub(super) fn build(
    ctx: &CompileContext,
    resolved: &Resolved,
    inputs: &[Io],
    outputs: &[Io],
    operation: &Operation,
    component: &Component,
) -> Json {
    let name = ctx
        .name
        .clone()
        .or_else(|| operation.name.clone())
        .or_else(|| component.name.clone());
    let namespace = ctx.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let mut globals: Map<String, Json> = serde_json::json!({
        "owner_name": ctx.owner_name,
        "project_name": ctx.project_name,
        "project_unique_name": format!("{}.{}", ctx.owner_name, ctx.project_name),
        "project_uuid": ctx.project_uuid,
        "uuid": ctx.uuid,
        "name": name,
        "iteration": ctx.iteration,
        "namespace": namespace,
        "context_path": ctx.context_path,
        "artifacts_path": ctx.artifacts_path,
        "run_artifacts_path": ctx.run_artifacts_path,
        "run_outputs_path": ctx.run_outputs_path,
        "run_info": format!("{}.{}.runs.{}", ctx.owner_name, ctx.project_name, ctx.uuid),
        "created_at": ctx.created_at,
        "compiled_at": ctx.created_at,
        "schedule_at": Json::Null,
        "started_at": Json::Null,
        "finished_at": Json::Null,
        "duration": Json::Null,
        "cloning_kind": Json::Null,
        "original_uuid": Json::Null,
        "is_independent": true,
        "status": "compiled",
        "ports": ports(&component.run),
        "base_url": format!("/services/v1/{namespace}/{}/{}/runs/{}", ctx.owner_name, ctx.project_name, ctx.uuid),
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    globals.extend(ctx.extra.clone());
    let value_of = |name: &str| match resolved.values.get(name) {
        Some(Source::Value(value)) => Some(value.clone()),
        _ => None,
    };
    let mut context = Map::new();
    let mut params = Map::new();
    let section = |ios: &[Io], key: &str, context: &mut Map<String, Json>| {
        let mut values = Map::new();
        for io in ios {
            if let Some(value) = value_of(&io.name) {
                values.insert(io.name.clone(), value.clone());
                context.insert(io.name.clone(), value);
            }
        }
        context.insert(key.to_owned(), Json::Object(values));
    };
    section(inputs, "inputs", &mut context);
    section(outputs, "outputs", &mut context);
    for (name, value) in &resolved.contexts {
        context.entry(name.clone()).or_insert_with(|| value.clone());
    }
    let format_context = Json::Object(context.clone());
    let render_format = |format: &str, value: &Json| {
        let mut scope = format_context.as_object().cloned().unwrap_or_default();
        for io in inputs.iter().chain(outputs) {
            if format.contains(&io.name) {
                scope.insert(io.name.clone(), value.clone());
            }
        }
        Renderer::new(&Json::Object(scope))
            .render(format, &Path::root())
            .map(|rendered| super::params::as_str(&rendered))
            .unwrap_or_else(|_| format.to_owned())
    };
    for (name, source) in &resolved.values {
        if let Source::Value(value) = source {
            let io = inputs.iter().chain(outputs).find(|io| io.name == *name);
            let connection = resolved.params.get(name).and_then(|param| param.connection.as_deref());
            params.insert(name.clone(), param_context(name, io, value, connection, &render_format));
        }
    }
    context.insert("params".to_owned(), Json::Object(params));
    context.insert("globals".to_owned(), Json::Object(globals));
    context.insert("connections".to_owned(), Json::Object(Map::new()));
    Json::Object(context)
}
