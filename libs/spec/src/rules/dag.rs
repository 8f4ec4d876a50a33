//! Rules of a dag: named, unique operations and components, `dagRef`s that name a component,
//! `dependencies` and refs (`ops.<name>`) that name an operation, outputs that the referenced
//! component declares, templates that only use upstream operations, and no cycle.

use std::collections::{BTreeMap, BTreeSet};

use super::Report;
use crate::error::{Issue, code};
use crate::model::run::Dag;
use crate::model::{Component, Json, Operation};
use crate::path::Path;
use crate::validate::fields::nearest;

/// The dag at `path` (`run` of `owner`).
pub(crate) fn check(report: &mut Report, dag: &Dag, _owner: &Component, path: &Path) {
    let operations = dag.operations.as_deref().unwrap_or_default();
    // The checks across operations need every name, dependency, param, ... of them.
    let whole = intact(report, dag, path);
    if operations.is_empty() && whole {
        report.push(
            code::MISSING_FIELD,
            path.key("operations"),
            "a dag needs at least one operation",
        );
    }
    let mut components: BTreeMap<&str, &Component> = BTreeMap::new();
    for (index, component) in dag.components.iter().flatten().enumerate() {
        let component_path = path.key("components").index(index);
        super::component(report, component, &component_path);
        match component.name.as_deref() {
            None => report.push(
                code::MISSING_FIELD,
                component_path.key("name"),
                "a component of a dag needs a `name`",
            ),
            Some(name) if components.contains_key(name) && whole => report.push(
                code::CONFLICTING_FIELDS,
                component_path.key("name"),
                format!("two components are named `{name}`"),
            ),
            Some(name) => {
                components.insert(name, component);
            }
        }
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, operation) in operations.iter().enumerate() {
        let op_path = path.key("operations").index(index);
        super::operation(report, operation, &op_path);
        match operation.name.as_deref() {
            None => report.push(
                code::MISSING_FIELD,
                op_path.key("name"),
                "an operation of a dag needs a `name`",
            ),
            Some(name) if names.contains_key(name) && whole => report.push(
                code::CONFLICTING_FIELDS,
                op_path.key("name"),
                format!("two operations are named `{name}`"),
            ),
            Some(name) => {
                names.insert(name, index);
            }
        }
        if let Some(reference) = &operation.dag_ref
            && whole
            && !components.contains_key(reference.as_str())
        {
            let hint = nearest(reference, components.keys().copied()).map(|near| format!("did you mean `{near}`?"));
            let message = format!("`dagRef: {reference}` names no component of this dag");
            report
                .issues
                .push(Issue::at(code::INVALID_REF, op_path.key("dagRef"), message).with_hint(hint));
        }
    }
    fn definition<'a>(operation: &'a Operation, components: &BTreeMap<&str, &'a Component>) -> Option<&'a Component> {
        operation.component.as_deref().or_else(|| {
            operation
                .dag_ref
                .as_deref()
                .and_then(|name| components.get(name).copied())
        })
    }
    if !whole {
        return;
    }
    let mut upstream: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); operations.len()];
    for (index, operation) in operations.iter().enumerate() {
        let op_path = path.key("operations").index(index);
        let this = operation.name.as_deref().unwrap_or("?");
        let mut link = |report: &mut Report, target: &str, at: Path, what: &str| match names.get(target) {
            Some(&other) if other == index => {
                report.push(code::CYCLE, at, format!("operation `{this}` {what} itself"));
            }
            Some(&other) => {
                upstream[index].insert(other);
            }
            None => {
                let hint = nearest(target, names.keys().copied()).map(|near| format!("did you mean `{near}`?"));
                let message = format!("operation `{this}` {what} `{target}`, which is not an operation of this dag");
                report
                    .issues
                    .push(Issue::at(code::INVALID_REF, at, message).with_hint(hint));
            }
        };
        for (position, dependency) in operation.dependencies.iter().flatten().enumerate() {
            link(
                report,
                dependency,
                op_path.key("dependencies").index(position),
                "depends on",
            );
        }
        for (name, param) in operation.params.iter().flatten() {
            let Some(target) = param
                .r#ref
                .as_deref()
                .and_then(|reference| reference.strip_prefix("ops."))
            else {
                continue;
            };
            let param_path = op_path.key("params").key(name.clone());
            link(report, target, param_path.key("ref"), "takes a param from");
            if let (Some(&other), Some(Json::String(value))) = (names.get(target), &param.value)
                && let Some(component) = definition(&operations[other], &components)
            {
                check_output(report, target, component, value, &param_path.key("value"));
            }
        }
        for (position, event) in operation.events.iter().flatten().enumerate() {
            if let Some(target) = event.r#ref.trim().strip_prefix("ops.") {
                link(
                    report,
                    target,
                    op_path.key("events").index(position).key("ref"),
                    "waits for events of",
                );
            }
        }
    }
    // Templates may only read operations that run before.
    for (index, operation) in operations.iter().enumerate() {
        let op_path = path.key("operations").index(index);
        let mut texts: Vec<(Path, &str)> = Vec::new();
        if let Some(conditions) = &operation.conditions {
            texts.push((op_path.key("conditions"), conditions));
        }
        for (name, param) in operation.params.iter().flatten() {
            if param.r#ref.is_none()
                && let Some(Json::String(value)) = &param.value
            {
                texts.push((op_path.key("params").key(name.clone()).key("value"), value));
            }
        }
        for (at, text) in texts {
            for target in template_ops(text) {
                let upstream_here = names
                    .get(target)
                    .is_some_and(|other| ancestors(&upstream, index).contains(other));
                if !upstream_here {
                    let this = operation.name.as_deref().unwrap_or("?");
                    let message = format!("`ops.{target}` is not upstream of operation `{this}`");
                    let hint = Some(format!("add `{target}` to its `dependencies`"));
                    report
                        .issues
                        .push(Issue::at(code::INVALID_REF, at.clone(), message).with_hint(hint));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&upstream) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|index| operations[*index].name.as_deref().unwrap_or("?"))
            .collect();
        let message = format!(
            "the operations depend on each other in a cycle: {}",
            names.join(" needs ")
        );
        report.push(code::CYCLE, path.key("operations").index(cycle[0]), message);
    }
}

/// Whether the dag at `path` was read whole, as far as the checks across its operations go:
/// no operation or component left out (broken), nor any of the fields these checks read
/// (see [`super::partial`]).
fn intact(report: &Report, dag: &Dag, path: &Path) -> bool {
    const OPERATION: [&str; 6] = ["name", "dependencies", "params", "events", "conditions", "dagRef"];
    let skipped = &report.skipped;
    let operations = path.key("operations");
    let components = path.key("components");
    skipped.list_intact(&operations, &OPERATION)
        && skipped.list_intact(&components, &["name"])
        && dag.operations.iter().flatten().enumerate().all(|(index, operation)| {
            operation.component.is_none() || super::ios_intact(skipped, &operations.index(index).key("component"))
        })
        && (0..dag.components.as_ref().map_or(0, Vec::len))
            .all(|index| super::ios_intact(skipped, &components.index(index)))
}

/// `outputs.x` / `inputs.x` of a ref must be declared by the referenced component.
fn check_output(report: &mut Report, target: &str, component: &Component, value: &str, at: &Path) {
    let inner = value.trim().trim_start_matches("{{").trim_end_matches("}}").trim();
    let (section, name) = match inner.split_once('.') {
        Some((section, name)) if section == "outputs" || section == "inputs" => (section, name),
        _ => return,
    };
    let declared = if section == "outputs" {
        &component.outputs
    } else {
        &component.inputs
    };
    let names: Vec<&str> = declared.iter().flatten().map(|io| io.name.as_str()).collect();
    if !names.contains(&name) {
        let hint = nearest(name, names.iter().copied()).map(|near| format!("did you mean `{near}`?"));
        let singular = section.trim_end_matches('s');
        let message = format!("operation `{target}` has no {singular} `{name}`");
        report
            .issues
            .push(Issue::at(code::INVALID_REF, at.clone(), message).with_hint(hint));
    }
}

/// The operation names a template reads (`{{ ops.train.outputs.loss }}` → `train`).
fn template_ops(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let expression = &rest[start + 2..start + end];
        for (position, _) in expression.match_indices("ops.") {
            let preceded = expression[..position]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if preceded {
                continue;
            }
            let name: &str = expression[position + 4..]
                .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .next()
                .unwrap_or("");
            if !name.is_empty() {
                found.push(name);
            }
        }
        rest = &rest[start + end + 2..];
    }
    found
}

/// Every operation that runs before `index`.
fn ancestors(upstream: &[BTreeSet<usize>], index: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = upstream[index].iter().copied().collect();
    while let Some(next) = stack.pop() {
        if seen.insert(next) {
            stack.extend(upstream[next].iter().copied());
        }
    }
    seen
}

/// A cycle of the graph, as the operations in order, first repeated at the end.
fn find_cycle(upstream: &[BTreeSet<usize>]) -> Option<Vec<usize>> {
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; upstream.len()];
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        node: usize,
        upstream: &[BTreeSet<usize>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[node] = 1;
        stack.push(node);
        for &next in &upstream[node] {
            if state[next] == 1 {
                let start = stack.iter().position(|n| *n == next).unwrap_or(0);
                let mut cycle: Vec<usize> = stack[start..].to_vec();
                cycle.push(next);
                return Some(cycle);
            }
            if state[next] == 0
                && let Some(cycle) = visit(next, upstream, state, stack)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        state[node] = 2;
        None
    }
    (0..upstream.len()).find_map(|node| {
        if state[node] == 0 {
            visit(node, upstream, &mut state, &mut stack)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ops_of_templates_and_finds_cycles() {
        assert_eq!(
            template_ops("{{ ops.train.outputs.loss }} < {{ops.eval-1.outputs.x}}"),
            ["train", "eval-1"]
        );
        assert!(template_ops("{{ myops.a }} ops.b").is_empty());
        let graph = vec![BTreeSet::from([2]), BTreeSet::from([0]), BTreeSet::from([1])];
        assert_eq!(find_cycle(&graph), Some(vec![0, 2, 1, 0]));
        let graph = vec![BTreeSet::new(), BTreeSet::from([0])];
        assert_eq!(find_cycle(&graph), None);
    }
}
