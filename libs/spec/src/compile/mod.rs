//! The compiler: an operation (or a component), the files and presets that patch it, and the
//! command-line params → a [`CompiledOperation`] ready to schedule.
//!
//! Order, as Polyaxon resolves a specification:
//! 1. the main document as an operation (a component becomes `{kind: operation, component}`);
//! 2. presets and `-f` files in order, each patching the result with its own `patchStrategy`;
//! 3. `-HP name=kind:values` into `matrix.params` (a grid is created when there is none);
//! 4. the merged operation is read and checked again (types and rules);
//! 5. the component: inline, else an error (references are resolved by the caller);
//! 6. `-P` names checked against the declared inputs/outputs, before anything else;
//! 7. the operation's fields over the component's, and `runPatch` over `run`;
//! 8. every input/output gets its value (param, `-P`, default; matrix params and refs later),
//!    typed and validated; a required input without one is an error;
//! 9. templates: first the params' own values (`{{ globals.uuid }}`), then the top-level
//!    fields (name, description, tags, queue, namespace, conditions), then the sections
//!    (cache, termination, plugins) and last `run` (not the operations of a dag, which are
//!    compiled on their own). A run whose inputs come from a matrix or a ref keeps its
//!    templates until those are known (`resolved: false`);
//! 10. the result is read as a typed [`CompiledOperation`].

mod context;
pub(crate) mod merge;
pub(crate) mod params;
pub(crate) mod template;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

pub use context::CompileContext;

use crate::document::Document;
use crate::error::{Error, Issue, code};
use crate::kinds::DocKind;
use crate::model::{Io, Operation, Param};
use crate::path::Path;
use crate::validate::fields::nearest;
use crate::{Spec, de, lines, rules};
use params::Source;
use template::Renderer;

crate::section! {
    /// An operation with its component folded in, params resolved and templates rendered.
    #[derive(Default)]
    pub struct CompiledOperation {
        version: Option<f64>,
        /// `compiled_operation`.
        kind: Option<String>,
        name: Option<String>,
        description: Option<String>,
        tags: Option<Vec<String>>,
        presets: Option<Vec<String>>,
        strict_params: Option<bool>,
        queue: Option<String>,
        namespace: Option<String>,
        cache: Option<crate::model::Cache>,
        termination: Option<crate::model::Termination>,
        plugins: Option<crate::model::Plugins>,
        build: Option<crate::model::Build>,
        hooks: Option<Vec<crate::model::Hook>>,
        is_approved: Option<crate::model::OrRef<bool>>,
        cost: Option<crate::model::OrRef<f64>>,
        mount: Option<Vec<crate::model::Mount>>,
        schedule: Option<crate::model::Schedule>,
        events: Option<Vec<crate::model::EventTrigger>>,
        matrix: Option<crate::model::Matrix>,
        joins: Option<Vec<crate::model::Join>>,
        dependencies: Option<Vec<String>>,
        trigger: Option<crate::model::TriggerPolicy>,
        conditions: Option<String>,
        skip_on_upstream_skip: Option<bool>,
        /// The inputs with their resolved `value`.
        inputs: Option<Vec<Io>>,
        outputs: Option<Vec<Io>>,
        /// Params that declare no input/output, by name.
        contexts: Option<BTreeMap<String, Json>>,
        /// The final params (file params with `-P` values over them).
        params: Option<BTreeMap<String, Param>>,
        run: crate::model::Run,
        template: Option<crate::model::Template>,
        /// Whether every template was rendered (false while matrix values or refs are unknown).
        #[serde(skip)]
        resolved: bool,
    }
}

/// Compiles `document` with `presets` (and `-f` files, in order) and `-P` params.
pub fn compile(
    document: &Document,
    presets: &[Document],
    params: &[(String, String)],
    ctx: &CompileContext,
) -> Result<CompiledOperation, Vec<Error>> {
    compile_with(document, presets, params, &[], ctx)
}

/// [`compile`] with `-HP name=kind:values` hyperparameters.
pub fn compile_with(
    document: &Document,
    presets: &[Document],
    params: &[(String, String)],
    hparams: &[(String, String)],
    ctx: &CompileContext,
) -> Result<CompiledOperation, Vec<Error>> {
    let sources: Vec<&str> = std::iter::once(document.source.as_str())
        .chain(presets.iter().map(|preset| preset.source.as_str()))
        .collect();
    compile_issues(document, presets, params, hparams, ctx).map_err(|issues| locate(&sources, issues))
}

/// Locates issues in the first source that has their path (the main document's nearest
/// ancestor otherwise); issues about the command line keep no position.
fn locate(sources: &[&str], issues: Vec<Issue>) -> Vec<Error> {
    issues
        .into_iter()
        .map(|issue| {
            let position = sources
                .iter()
                .find_map(|source| lines::locate(source, &issue.path, issue.anchor))
                .or_else(|| {
                    sources
                        .first()
                        .and_then(|source| lines::locate_nearest(source, &issue.path, issue.anchor))
                });
            Error {
                code: issue.code,
                path: issue.path.to_string(),
                line: position.map(|at| crate::error::position(at.line)),
                column: position.map(|at| crate::error::position(at.column)),
                message: issue.message,
                hint: issue.hint,
                file: None,
            }
        })
        .collect()
}

fn compile_issues(
    document: &Document,
    presets: &[Document],
    cli: &[(String, String)],
    hparams: &[(String, String)],
    ctx: &CompileContext,
) -> Result<CompiledOperation, Vec<Issue>> {
    // 1–3: the operation, patched by presets and -HP.
    let mut operation = as_operation(document);
    for preset in presets {
        if preset.kind != DocKind::Operation {
            let message = "a file that patches another must be an operation (`kind: operation`, `isPreset: true`)";
            return Err(vec![Issue::at(
                code::INVALID_DOCUMENT,
                Path::root().key("kind"),
                message,
            )]);
        }
        if let Json::Object(newer) = &preset.value {
            operation = merge::patch_operation(&operation, newer);
        }
    }
    apply_hparams(&mut operation, hparams)?;
    // 4: read and check the merged operation.
    let mut warnings = Vec::new();
    let typed: Operation = de::from_value(Json::Object(operation.clone()), &Path::root(), &mut warnings)?;
    let issues = rules::check(&Spec::Operation(Box::new(typed.clone())));
    if !issues.is_empty() {
        return Err(issues);
    }
    // 5: the component.
    let Some(component) = typed.component.as_deref() else {
        let (field, target) = typed.reference().unwrap_or(("component", "?"));
        let message = format!("the operation runs `{field}: {target}`, whose definition is not available to compile");
        return Err(vec![Issue::at(
            code::UNRESOLVED_COMPONENT,
            Path::root().key(field),
            message,
        )]);
    };
    let component_path = if document.kind == DocKind::Component {
        Path::root()
    } else {
        Path::root().key("component")
    };
    // 6: -P names.
    let declared: Vec<&str> = component.io().map(|io| io.name.as_str()).collect();
    let unknown: Vec<Issue> = cli
        .iter()
        .filter(|(name, _)| !declared.contains(&name.as_str()))
        .map(|(name, _)| {
            let hint = nearest(name, declared.iter().copied())
                .map(|near| format!("did you mean `{near}`?"))
                .or_else(|| (!declared.is_empty()).then(|| format!("declared: {}", declared.join(", "))));
            let message = format!("`-P {name}` names no input or output of the component");
            Issue::nowhere(
                code::UNKNOWN_PARAM,
                Path::root().key("params").key(name.clone()),
                message,
            )
            .with_hint(hint)
        })
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    // 7: the operation over the component.
    let component_json = operation
        .get("component")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let mut compiled = merge::over_component(&component_json, &operation);
    for key in [
        "schedule",
        "events",
        "matrix",
        "joins",
        "dependencies",
        "trigger",
        "conditions",
        "skipOnUpstreamSkip",
    ] {
        if let Some(value) = operation.get(key) {
            compiled.insert(key.to_owned(), value.clone());
        }
    }
    compiled.insert("kind".to_owned(), Json::String("compiled_operation".to_owned()));
    compiled.insert("version".to_owned(), Json::from(1.1));
    // 8: values of inputs/outputs.
    let matrix_names: Vec<String> = typed
        .matrix
        .as_ref()
        .map(|matrix| match matrix {
            crate::model::Matrix::Mapping(mapping) => mapping
                .values
                .value()
                .and_then(|values| values.first())
                .map(|first| first.keys().cloned().collect())
                .unwrap_or_default(),
            other => other
                .params()
                .map(|params| params.keys().cloned().collect())
                .unwrap_or_default(),
        })
        .unwrap_or_default();
    let inputs = component.inputs.clone().unwrap_or_default();
    let outputs = component.outputs.clone().unwrap_or_default();
    let file_params = typed.params.clone().unwrap_or_default();
    let resolved = params::resolve(&inputs, &outputs, &file_params, cli, &matrix_names, &component_path)?;
    // 9: templates.
    let outputs_names: Vec<&str> = component.outputs.iter().flatten().map(|io| io.name.as_str()).collect();
    let pending = resolved
        .values
        .iter()
        .any(|(name, source)| *source == Source::Pending && !outputs_names.contains(&name.as_str()));
    let context = context::build(ctx, &resolved, &inputs, &outputs, &typed, component);
    let renderer = Renderer::new(&context);
    let mut issues = Vec::new();
    let mut final_params = resolved.params.clone();
    for (name, param) in final_params.iter_mut() {
        if param.r#ref.is_none()
            && let Some(value) = param.value.as_mut()
        {
            renderer.render_tree(
                value,
                &Path::root().key("params").key(name.clone()).key("value"),
                &mut issues,
            );
        }
    }
    for key in [
        "name",
        "description",
        "tags",
        "queue",
        "namespace",
        "conditions",
        "cache",
        "termination",
        "plugins",
    ] {
        if let Some(value) = compiled.get_mut(key) {
            renderer.render_tree(value, &Path::root().key(key), &mut issues);
        }
    }
    let run_path = component_path.key("run");
    if let Some(run) = compiled.get_mut("run").and_then(Json::as_object_mut) {
        let is_dag = run.get("kind").and_then(Json::as_str) == Some("dag");
        if !pending {
            for (key, value) in run.iter_mut() {
                if key == "kind" || (is_dag && (key == "operations" || key == "components")) {
                    continue;
                }
                renderer.render_tree(value, &run_path.key(key.clone()), &mut issues);
            }
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    compiled.insert("inputs".to_owned(), with_values(&inputs, &resolved.values)?);
    compiled.insert("outputs".to_owned(), with_values(&outputs, &resolved.values)?);
    if !resolved.contexts.is_empty() {
        compiled.insert(
            "contexts".to_owned(),
            serde_json::to_value(&resolved.contexts).unwrap_or_default(),
        );
    }
    if !final_params.is_empty() {
        compiled.insert(
            "params".to_owned(),
            serde_json::to_value(&final_params).unwrap_or_default(),
        );
    }
    // 10: the typed result.
    let mut result: CompiledOperation = de::from_value(Json::Object(compiled), &Path::root(), &mut warnings)?;
    result.resolved = !pending;
    Ok(result)
}

/// The operation `operation` with `component` inlined in place of its reference (`pathRef`,
/// `hubRef`, `urlRef`), as the CLI does once it has fetched the component.
pub fn inline_component(operation: &Document, component: &Document) -> Result<Document, Vec<Error>> {
    let mut value = as_operation(operation);
    for key in ["hubRef", "urlRef", "pathRef", "dagRef"] {
        value.remove(key);
    }
    value.insert("component".to_owned(), component.value.clone());
    let text = serde_json::to_string_pretty(&Json::Object(value)).map_err(|error| {
        vec![Error {
            code: code::INVALID_DOCUMENT,
            path: String::new(),
            line: None,
            column: None,
            message: error.to_string(),
            hint: None,
            file: None,
        }]
    })?;
    crate::parse_all(&text)
}

/// The main document as an operation.
fn as_operation(document: &Document) -> Map<String, Json> {
    match (&document.kind, &document.value) {
        (DocKind::Operation, Json::Object(operation)) => operation.clone(),
        (_, value) => {
            let mut operation = Map::new();
            operation.insert("kind".to_owned(), Json::String("operation".to_owned()));
            operation.insert("component".to_owned(), value.clone());
            operation
        }
    }
}

/// `-HP` values into `matrix.params` (a grid when there is no matrix).
fn apply_hparams(operation: &mut Map<String, Json>, hparams: &[(String, String)]) -> Result<(), Vec<Issue>> {
    if hparams.is_empty() {
        return Ok(());
    }
    let matrix = operation
        .entry("matrix")
        .or_insert_with(|| serde_json::json!({"kind": "grid", "params": {}}));
    if matrix.get("kind").and_then(Json::as_str) == Some("mapping") {
        let message = "`-HP` sets hyperparameters, but the matrix is a mapping: use `-P` or edit `values`";
        return Err(vec![Issue::at(
            code::INVALID_FIELD,
            Path::root().key("matrix").key("kind"),
            message,
        )]);
    }
    let Some(object) = matrix.as_object_mut() else {
        return Ok(());
    };
    let params = object.entry("params").or_insert_with(|| Json::Object(Map::new()));
    if !params.is_object() {
        *params = Json::Object(Map::new());
    }
    let mut issues = Vec::new();
    for (name, text) in hparams {
        match params::hparam(name, text) {
            Ok(value) => {
                if let Some(params) = params.as_object_mut() {
                    params.insert(name.clone(), value);
                }
            }
            Err(issue) => issues.push(issue),
        }
    }
    if issues.is_empty() { Ok(()) } else { Err(issues) }
}

/// The ios with their resolved values (pending ones keep none).
fn with_values(ios: &[Io], values: &BTreeMap<String, Source>) -> Result<Json, Vec<Issue>> {
    let ios: Vec<Io> = ios
        .iter()
        .map(|io| {
            let mut io = io.clone();
            if let Some(Source::Value(value)) = values.get(&io.name) {
                io.value = Some(value.clone());
                io.is_optional = Some(true);
            }
            io
        })
        .collect();
    serde_json::to_value(ios).map_err(|error| vec![Issue::at(code::INVALID_FIELD, Path::root(), error.to_string())])
}
