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

/// Validates `run` of a component and returns its kind.
pub(crate) fn validate(component: &Fields<'_>) -> Result<RunKind, Issue> {
    let path = component.path("run");
    let Some(run) = component.get("run") else {
        let message = format!("a component needs a `run` section with a `kind` ({})", accepted());
        return Err(Issue::missing(path, message));
    };
    if !run.is_mapping() {
        return Err(Issue::invalid(
            path,
            format!("`run` must be a mapping with a `kind`, found {}", kind_of(run)),
        ));
    }
    let kind_path = path.key("kind");
    let kind = match run.get("kind") {
        None | Some(Yaml::Null) => {
            return Err(Issue::missing(
                kind_path,
                format!("`run.kind` is required: one of {}", accepted()),
            ));
        }
        Some(kind) => kind,
    };
    let Some(run_kind) = kind.as_str().and_then(|name| name.parse::<RunKind>().ok()) else {
        let hint = kind
            .as_str()
            .and_then(|name| nearest(name, RunKind::ALL.map(|kind| kind.as_str())))
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        let message = format!(
            "unknown run kind {}{hint}: expected one of {}",
            render(kind),
            accepted()
        );
        return Err(Issue::at(code::UNKNOWN_KIND, kind_path, message));
    };
    if run_kind == RunKind::Dag {
        each(run, &path, "operations", |item, item_path| {
            operation::validate(item, item_path, Level::Nested)
        })?;
        each(run, &path, "components", |item, item_path| {
            component::validate(item, item_path, Level::Nested)
        })?;
    }
    Ok(run_kind)
}

fn accepted() -> String {
    kinds::list(RunKind::ALL.map(|kind| kind.as_str()))
}

/// Runs `check` on every item of the list `run.<field>`, when given.
fn each<T>(
    run: &Yaml,
    run_path: &Path,
    field: &str,
    check: impl Fn(&Yaml, &Path) -> Result<T, Issue>,
) -> Result<(), Issue> {
    let path = run_path.key(field);
    match run.get(field) {
        None | Some(Yaml::Null) => Ok(()),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| check(item, &path.index(index)).map(|_| ())),
        Some(other) => Err(Issue::invalid(
            path,
            format!("`{field}` must be a list, found {}", kind_of(other)),
        )),
    }
}
