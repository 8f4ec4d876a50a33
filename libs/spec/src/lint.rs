//! Lint: what a valid file most likely gets wrong. Inputs no template reads, templates that
//! read a name nothing defines, deprecated io fields, params that declare no input (context
//! values), and searches asking for more runs than their discrete space holds.

use std::collections::BTreeSet;

use crate::compile::template;
use crate::error::{Error, Issue, code};
use crate::model::{Component, Json, Matrix, Operation, Spec};
use crate::path::Path;
use crate::rules::matrix::discrete_space;
use crate::{Document, lines};

/// The names every template may read at the top level.
const ROOTS: [&str; 5] = ["globals", "params", "inputs", "outputs", "connections"];
/// The names of `globals`.
const GLOBALS: [&str; 26] = [
    "owner_name",
    "project_name",
    "project_unique_name",
    "project_uuid",
    "uuid",
    "name",
    "iteration",
    "namespace",
    "context_path",
    "artifacts_path",
    "run_artifacts_path",
    "run_outputs_path",
    "run_info",
    "created_at",
    "compiled_at",
    "schedule_at",
    "started_at",
    "finished_at",
    "duration",
    "cloning_kind",
    "original_uuid",
    "is_independent",
    "status",
    "ports",
    "base_url",
    "store_path",
];

/// Lint findings of a valid document.
pub(crate) fn document(document: &Document) -> Vec<Error> {
    let mut issues = Vec::new();
    let (operation, component, component_path) = match &document.spec {
        Spec::Component(component) => (None, Some(component.as_ref()), Path::root()),
        Spec::Operation(operation) => (
            Some(operation.as_ref()),
            operation.component.as_deref(),
            Path::root().key("component"),
        ),
    };
    if let Some(component) = component {
        lint_component(component, operation, &component_path, &document.value, &mut issues);
    }
    if let Some(matrix) = operation.and_then(|operation| operation.matrix.as_ref()) {
        lint_matrix(matrix, &mut issues);
    }
    let mut warnings: Vec<Error> = issues
        .into_iter()
        .map(|issue| {
            let position = lines::locate_nearest(&document.source, &issue.path, issue.anchor);
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
        .collect();
    warnings.sort_by_key(|warning| (warning.line, warning.column));
    warnings
}

fn lint_component(
    component: &Component,
    operation: Option<&Operation>,
    path: &Path,
    root: &Json,
    issues: &mut Vec<Issue>,
) {
    let mut known: BTreeSet<String> = component.io().map(|io| io.name.clone()).collect();
    let params = operation.and_then(|operation| operation.params.as_ref());
    known.extend(params.into_iter().flatten().map(|(name, _)| name.clone()));
    if let Some(matrix) = operation.and_then(|operation| operation.matrix.as_ref()) {
        known.extend(matrix.params().into_iter().flatten().map(|(name, _)| name.clone()));
        if let Matrix::Mapping(mapping) = matrix {
            known.extend(
                mapping
                    .values
                    .value()
                    .and_then(|values| values.first())
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    let mut found = Vec::new();
    let section = path.segments().iter().fold(root, |node, segment| match segment {
        crate::path::Segment::Key(key) => node.get(key).unwrap_or(&Json::Null),
        crate::path::Segment::Index(index) => node.get(*index).unwrap_or(&Json::Null),
    });
    if let Some(object) = section.as_object() {
        for (key, value) in object {
            if key != "inputs" && key != "outputs" {
                template::variables(value, &path.key(key.clone()), &mut found);
            }
        }
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (at, names) in &found {
        for name in names {
            let parts: Vec<&str> = name.split('.').collect();
            let (root, second) = (parts[0], parts.get(1).copied());
            let unknown = match (root, second) {
                ("params" | "inputs" | "outputs", Some(second)) => {
                    used.insert(second.to_owned());
                    !known.contains(second)
                }
                ("globals", Some(second)) => !GLOBALS.contains(&second),
                (root, _) if ROOTS.contains(&root) => false,
                (root, _) => {
                    used.insert(root.to_owned());
                    !known.contains(root)
                }
            };
            if unknown {
                let message = format!("the template reads `{name}`, which is not an input, output, param or global");
                let hint = crate::validate::fields::nearest(
                    parts.last().copied().unwrap_or(root),
                    known.iter().map(String::as_str),
                )
                .map(|near| format!("did you mean `{near}`?"));
                issues.push(Issue::at(code::LINT_UNKNOWN_NAME, at.clone(), message).with_hint(hint));
            }
        }
    }
    for (index, io) in component.inputs.iter().flatten().enumerate() {
        let io_path = path.key("inputs").index(index);
        let wired = io.to_env.is_some() || io.to_init == Some(true) || io.connection.is_some();
        if !used.contains(&io.name) && !wired {
            let message = format!("input `{}` is never used: no template reads it", io.name);
            let hint = Some(format!(
                "use `{{{{ {} }}}}` or `{{{{ params.{}.as_arg }}}}`, or `toEnv`",
                io.name, io.name
            ));
            issues.push(Issue::at(code::LINT_UNUSED_INPUT, io_path.key("name"), message).with_hint(hint));
        }
        for (field, used) in [
            ("isList", io.is_list.is_some()),
            ("delayValidation", io.delay_validation.is_some()),
            ("options", io.options.is_some()),
        ] {
            if used {
                let replacement = if field == "isList" {
                    "`type: List[...]`"
                } else {
                    "`validation`"
                };
                let message = format!("`{field}` is deprecated");
                let issue = Issue::at(code::LINT_DEPRECATED, io_path.key(field), message)
                    .with_hint(Some(format!("use {replacement}")));
                issues.push(issue);
            }
        }
    }
    let declared: BTreeSet<&str> = component.io().map(|io| io.name.as_str()).collect();
    for (name, param) in params.into_iter().flatten() {
        if !declared.contains(name.as_str()) && param.context_only != Some(true) {
            let message = format!("param `{name}` declares no input or output: it is only a context value");
            let hint = crate::validate::fields::nearest(name, declared.iter().copied())
                .map(|near| format!("did you mean `{near}`?"));
            issues.push(
                Issue::at_key(
                    code::LINT_UNDECLARED_PARAM,
                    Path::root().key("params").key(name.clone()),
                    message,
                )
                .with_hint(hint),
            );
        }
    }
}

fn lint_matrix(matrix: &Matrix, issues: &mut Vec<Issue>) {
    let (runs, field) = match matrix {
        Matrix::Random(random) => (random.num_runs.value().copied(), "numRuns"),
        Matrix::Grid(grid) => (grid.num_runs.as_ref().and_then(|runs| runs.value().copied()), "numRuns"),
        _ => (None, "numRuns"),
    };
    if let (Some(runs), Some(space)) = (runs, discrete_space(matrix))
        && runs > space
    {
        let message = format!("`{field}` is {runs} but the search space has only {space} combinations");
        issues.push(Issue::at(
            code::LINT_NUM_RUNS,
            Path::root().key("matrix").key(field),
            message,
        ));
    }
}
