//! Semantic rules over the typed model: what types alone cannot say (an input with a default
//! that is not optional, a range that goes backwards, a cron expression no date matches, a
//! dag whose operations depend on each other in a cycle, ...). Each submodule checks one
//! area and reports every broken rule with the path of the offending node.

pub(crate) mod dag;
pub(crate) mod io;
pub(crate) mod matrix;
pub(crate) mod partial;
pub(crate) mod runtime;
pub(crate) mod schedule;

use crate::error::{Issue, code};
use crate::model::{Component, Operation, Spec};
use crate::path::Path;
use partial::Skipped;

/// Collects the broken rules.
#[derive(Default)]
pub(crate) struct Report {
    pub issues: Vec<Issue>,
    /// Nodes left out of the typed model as broken, their errors reported already.
    pub skipped: Skipped,
}

impl Report {
    /// Records an invalid value at `path`.
    pub fn invalid(&mut self, path: Path, message: impl Into<String>) {
        self.issues.push(Issue::at(code::INVALID_FIELD, path, message));
    }

    /// Records an issue of `code` at `path`.
    pub fn push(&mut self, code: &'static str, path: Path, message: impl Into<String>) {
        self.issues.push(Issue::at(code, path, message));
    }
}

/// Every rule broken by `spec`.
pub(crate) fn check(spec: &Spec) -> Vec<Issue> {
    check_read(spec, &[])
}

/// Every rule broken by `spec`, a model read without the nodes in `skipped`, which are broken
/// and reported already (see `crate::de::recover` and [`partial`]).
pub(crate) fn check_read(spec: &Spec, skipped: &[Path]) -> Vec<Issue> {
    let mut report = Report {
        issues: Vec::new(),
        skipped: Skipped::new(skipped),
    };
    match spec {
        Spec::Component(component) => self::component(&mut report, component, &Path::root()),
        Spec::Operation(operation) => self::operation(&mut report, operation, &Path::root()),
    }
    if report.skipped.is_empty() {
        return report.issues;
    }
    let skipped = report.skipped;
    report
        .issues
        .into_iter()
        .map(|issue| Issue {
            path: skipped.original(&issue.path),
            ..issue
        })
        .filter(|issue| skipped.keeps(&issue.path))
        .collect()
}

/// The rules of a component at `path`.
pub(crate) fn component(report: &mut Report, component: &Component, path: &Path) {
    io::check_component(report, component, path);
    schedule::check_base(report, component.hooks.as_deref(), component.termination.as_ref(), path);
    runtime::check(report, &component.run, &path.key("run"));
    if let crate::model::Run::Dag(dag) = &component.run {
        dag::check(report, dag, component, &path.key("run"));
    }
}

/// The rules of an operation at `path`.
pub(crate) fn operation(report: &mut Report, operation: &Operation, path: &Path) {
    schedule::check_base(report, operation.hooks.as_deref(), operation.termination.as_ref(), path);
    io::check_params(report, operation, path);
    if let Some(schedule) = &operation.schedule {
        schedule::check_schedule(report, schedule, &path.key("schedule"));
    }
    if let Some(matrix) = &operation.matrix {
        matrix::check(report, matrix, &path.key("matrix"));
    }
    for (index, event) in operation.events.iter().flatten().enumerate() {
        schedule::check_event(report, event, &path.key("events").index(index));
    }
    if let Some(component) = &operation.component {
        let at = path.key("component");
        self::component(report, component, &at);
        // Each param is checked when it was read whole (see `io::check_params_against`).
        let strict = [path.key("strictParams"), at.key("strictParams")];
        if report.skipped.intact(&strict) && ios_intact(&report.skipped, &at) {
            io::check_params_against(report, operation, component, path);
        }
    }
}

/// Whether the names, types and validation of the inputs and outputs of the component at
/// `path` were all read (see [`Skipped::list_intact`]).
pub(crate) fn ios_intact(skipped: &Skipped, path: &Path) -> bool {
    const READ: [&str; 4] = ["name", "type", "isList", "validation"];
    skipped.list_intact(&path.key("inputs"), &READ) && skipped.list_intact(&path.key("outputs"), &READ)
}
