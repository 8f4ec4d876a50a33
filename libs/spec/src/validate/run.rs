//! A component's `run` section: a mapping whose `kind` names the runtime. For a dag, the
//! `operations` and `components` it declares are validated as operations and components.
//! The other fields of each runtime (container, replicas, ...) are checked at compilation.

use yaml_serde::Value as Yaml;

use super::common::{kind_of, render};
use super::fields::{Fields, nearest};
use super::{Level, component, operation};
use crate::error::{Issue, code};
use crate::kinds::{self, RunKind};
use crate::path::Path;

/// Validates `run` of a component and returns its kind; `None` (recorded in `issues`) when
/// the section or its kind is missing or wrong. The operations and components of a dag are
/// each validated on their own.
pub(crate) fn validate(component: &Fields<'_>, issues: &mut Vec<Issue>) -> Option<RunKind> {
    let path = component.path("run");
    let Some(run) = component.get("run") else {
        if !component.misspells(&["run"]) {
            let message = format!("a component needs a `run` section with a `kind` ({})", accepted());
            issues.push(Issue::missing(path, message));
        }
        return None;
    };
    if !run.is_mapping() {
        let message = format!("`run` must be a mapping with a `kind`, found {}", kind_of(run));
        issues.push(Issue::invalid(path, message));
        return None;
    }
    let kind_path = path.key("kind");
    let kind = match run.get("kind") {
        None | Some(Yaml::Null) => {
            let message = format!("`run.kind` is required: one of {}", accepted());
            issues.push(Issue::missing(kind_path, message));
            return None;
        }
        Some(kind) => kind,
    };
    let Some(run_kind) = kind.as_str().and_then(|name| name.parse::<RunKind>().ok()) else {
        let hint = kind
            .as_str()
            .and_then(|name| nearest(name, RunKind::ALL.map(|kind| kind.as_str())))
            .map(|name| format!("did you mean `{name}`?"));
        let message = format!("unknown run kind {}: expected one of {}", render(kind), accepted());
        issues.push(Issue::at(code::UNKNOWN_KIND, kind_path, message).with_hint(hint));
        return None;
    };
    if run_kind == RunKind::Dag {
        each(run, &path, "operations", issues, |item, item_path, issues| {
            operation::validate(item, item_path, Level::Nested, issues);
        });
        each(run, &path, "components", issues, |item, item_path, issues| {
            component::validate(item, item_path, Level::Nested, issues);
        });
    }
    Some(run_kind)
}

fn accepted() -> String {
    kinds::list(RunKind::ALL.map(|kind| kind.as_str()))
}

/// Runs `check` on every item of the list `run.<field>`, when given.
fn each(
    run: &Yaml,
    run_path: &Path,
    field: &str,
    issues: &mut Vec<Issue>,
    check: impl Fn(&Yaml, &Path, &mut Vec<Issue>),
) {
    let path = run_path.key(field);
    match run.get(field) {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Sequence(items)) => {
            for (index, item) in items.iter().enumerate() {
                check(item, &path.index(index), issues);
            }
        }
        Some(other) => issues.push(Issue::invalid(
            path,
            format!("`{field}` must be a list, found {}", kind_of(other)),
        )),
    }
}
