//! Patch strategies on JSON trees (Polyaxon's `replace`, `isnull`, `post_merge`, `pre_merge`),
//! used for `-f a.yaml -f b.yaml` overrides and presets (a later file patches the earlier
//! result), for an operation over its component, and for `runPatch` over `run`.

use serde_json::{Map, Value as Json};

use crate::model::PatchStrategy;

/// How lists merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lists {
    /// Merged lists are concatenated (older then newer for `post_merge`), without repeating
    /// an item the first list holds.
    Concatenate,
    /// A newer list replaces the older one.
    Replace,
}

/// `newer` applied over `current` with `strategy`.
pub(crate) fn patch(current: &Json, newer: &Json, strategy: PatchStrategy, lists: Lists) -> Json {
    match (current, newer) {
        (_, Json::Null) => current.clone(),
        (Json::Null, _) => newer.clone(),
        _ if strategy == PatchStrategy::Replace => newer.clone(),
        _ if strategy == PatchStrategy::IsNull => current.clone(),
        (Json::Object(old), Json::Object(new)) => {
            let mut merged = old.clone();
            for (key, value) in new {
                let patched = patch(old.get(key).unwrap_or(&Json::Null), value, strategy, lists);
                merged.insert(key.clone(), patched);
            }
            Json::Object(merged)
        }
        (Json::Array(old), Json::Array(new)) if lists == Lists::Concatenate => {
            let (first, second) = if strategy == PatchStrategy::PreMerge {
                (new, old)
            } else {
                (old, new)
            };
            // As Polyaxon: the items of the second list that the first does not hold.
            let added = second.iter().filter(|item| !first.contains(item));
            Json::Array(first.iter().chain(added).cloned().collect())
        }
        _ if strategy == PatchStrategy::PreMerge => current.clone(),
        _ => newer.clone(),
    }
}

/// Fields of an operation that patching never touches (Polyaxon's `_FIELDS_MANUAL_PATCH`).
const MANUAL: [&str; 9] = [
    "version",
    "isPreset",
    "hubRef",
    "dagRef",
    "urlRef",
    "pathRef",
    "component",
    "runPatch",
    "patchStrategy",
];
/// Sections replaced whole when the kinds differ.
const SAME_KIND: [&str; 2] = ["schedule", "matrix"];

/// The strategy written in an operation, `post_merge` by default.
pub(crate) fn strategy_of(operation: &Map<String, Json>) -> PatchStrategy {
    match operation.get("patchStrategy").and_then(Json::as_str) {
        Some("replace") => PatchStrategy::Replace,
        Some("isnull") => PatchStrategy::IsNull,
        Some("pre_merge") => PatchStrategy::PreMerge,
        _ => PatchStrategy::PostMerge,
    }
}

/// `newer` (an operation or a preset) over the operation `current`, with `newer`'s strategy.
pub(crate) fn patch_operation(current: &Map<String, Json>, newer: &Map<String, Json>) -> Map<String, Json> {
    let strategy = strategy_of(newer);
    let mut result = current.clone();
    for (key, value) in newer {
        if MANUAL.contains(&key.as_str()) || key == "kind" {
            continue;
        }
        let old = current.get(key).unwrap_or(&Json::Null);
        let kind_changes = SAME_KIND.contains(&key.as_str()) && old.get("kind") != value.get("kind");
        let patched = if kind_changes && !value.is_null() {
            value.clone()
        } else if key == "params" {
            by_entry(old, value, strategy)
        } else if key == "matrix" {
            let mut matrix = patch(old, value, strategy, Lists::Concatenate);
            if let (Some(params), Some(newer), Json::Object(fields)) =
                (old.get("params"), value.get("params"), &mut matrix)
            {
                fields.insert("params".to_owned(), by_entry(params, newer, strategy));
            }
            matrix
        } else {
            patch(old, value, strategy, Lists::Concatenate)
        };
        result.insert(key.clone(), patched);
    }
    let has_definition = ["component", "hubRef", "dagRef", "urlRef", "pathRef"]
        .iter()
        .any(|key| current.get(*key).is_some_and(|value| !value.is_null()));
    if !has_definition {
        for key in ["component", "hubRef", "dagRef", "urlRef", "pathRef"] {
            if let Some(value) = newer.get(key) {
                result.insert(key.to_owned(), value.clone());
            }
        }
    }
    if let Some(run_patch) = newer.get("runPatch").filter(|value| !value.is_null()) {
        let old = current.get("runPatch").unwrap_or(&Json::Null);
        result.insert(
            "runPatch".to_owned(),
            patch(old, run_patch, strategy, Lists::Concatenate),
        );
    }
    result
}

/// A mapping of named params or hyperparameters, patched entry by entry: a merge replaces (or,
/// `pre_merge`, keeps) a whole entry, as Polyaxon's `deep_update` does with its param and
/// hyperparameter objects; `-f override.yaml` with `lr: {kind: choice, value: [0.3]}` replaces
/// the search over `lr`, it does not add values to it.
fn by_entry(current: &Json, newer: &Json, strategy: PatchStrategy) -> Json {
    match (current, newer) {
        (Json::Object(old), Json::Object(new))
            if matches!(strategy, PatchStrategy::PostMerge | PatchStrategy::PreMerge) =>
        {
            let mut merged = old.clone();
            for (key, value) in new {
                if strategy == PatchStrategy::PostMerge || !old.contains_key(key) {
                    merged.insert(key.clone(), value.clone());
                }
            }
            Json::Object(merged)
        }
        _ => patch(current, newer, strategy, Lists::Concatenate),
    }
}

/// Fields an operation sets over its component (Polyaxon's `BaseComponent` fields).
pub(crate) const BASE: [&str; 15] = [
    "name",
    "description",
    "tags",
    "presets",
    "strictParams",
    "queue",
    "namespace",
    "cache",
    "termination",
    "plugins",
    "build",
    "hooks",
    "isApproved",
    "cost",
    "mount",
];

/// The component's fields with the operation's over them (lists and values replaced,
/// sections merged with the operation's strategy), and `runPatch` applied to `run`.
pub(crate) fn over_component(component: &Map<String, Json>, operation: &Map<String, Json>) -> Map<String, Json> {
    let strategy = strategy_of(operation);
    let mut result = component.clone();
    for key in BASE {
        if let Some(value) = operation.get(key) {
            let old = component.get(key).unwrap_or(&Json::Null);
            let lists = Lists::Replace;
            let patched = match (old, value) {
                (Json::Object(_), Json::Object(_)) => patch(old, value, strategy, lists),
                _ => patch(old, value, PatchStrategy::Replace, lists),
            };
            result.insert(key.to_owned(), patched);
        }
    }
    if key_is_true(operation, "strictParams") || key_is_true(component, "strictParams") {
        result.insert("strictParams".to_owned(), Json::Bool(true));
    }
    if let Some(run_patch) = operation.get("runPatch").filter(|value| value.is_object()) {
        let run = component.get("run").unwrap_or(&Json::Null);
        let mut run_patch = run_patch.clone();
        if let (Some(object), Some(kind)) = (run_patch.as_object_mut(), run.get("kind")) {
            object.insert("kind".to_owned(), kind.clone());
        }
        result.insert("run".to_owned(), patch(run, &run_patch, strategy, Lists::Concatenate));
    }
    result
}

fn key_is_true(object: &Map<String, Json>, key: &str) -> bool {
    object.get(key) == Some(&Json::Bool(true))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strategies_merge_as_polyaxon_documents() {
        let old = json!({"a": 1, "list": [1], "nested": {"x": 1, "y": 2}});
        let new = json!({"a": 2, "list": [2], "nested": {"y": 3}});
        assert_eq!(
            patch(&old, &new, PatchStrategy::PostMerge, Lists::Concatenate),
            json!({"a": 2, "list": [1, 2], "nested": {"x": 1, "y": 3}})
        );
        assert_eq!(
            patch(&old, &new, PatchStrategy::PreMerge, Lists::Concatenate),
            json!({"a": 1, "list": [2, 1], "nested": {"x": 1, "y": 2}})
        );
        assert_eq!(patch(&old, &new, PatchStrategy::Replace, Lists::Concatenate), new);
        assert_eq!(patch(&old, &new, PatchStrategy::IsNull, Lists::Concatenate), old);
        assert_eq!(patch(&Json::Null, &new, PatchStrategy::IsNull, Lists::Concatenate), new);
    }

    #[test]
    fn later_operations_patch_earlier_ones() {
        let base = json!({"kind": "operation", "queue": "a", "matrix": {"kind": "grid", "params": {}}, "hubRef": "x"});
        let preset = json!({"kind": "operation", "isPreset": true, "queue": "b", "matrix": {"kind": "random", "numRuns": 2}, "hubRef": "y"});
        let merged = patch_operation(base.as_object().unwrap(), preset.as_object().unwrap());
        assert_eq!(merged["queue"], "b");
        assert_eq!(merged["matrix"], json!({"kind": "random", "numRuns": 2}));
        assert_eq!(merged["hubRef"], "x");
    }

    #[test]
    fn params_and_hyperparameters_are_replaced_whole() {
        let base = json!({"kind": "operation", "tags": ["a"], "params": {"lr": {"value": 0.1, "toEnv": "LR"}},
            "matrix": {"kind": "grid", "concurrency": 2, "params": {
                "lr": {"kind": "choice", "value": [0.1, 0.2]}, "batch": {"kind": "choice", "value": [16]}}}});
        let newer = json!({"kind": "operation", "tags": ["a", "b"], "params": {"lr": {"value": 0.5}, "epochs": {"value": 2}},
            "matrix": {"kind": "grid", "params": {"lr": {"kind": "choice", "value": [0.3]}}}});
        let merged = patch_operation(base.as_object().unwrap(), newer.as_object().unwrap());
        assert_eq!(merged["tags"], json!(["a", "b"]));
        assert_eq!(merged["params"], json!({"lr": {"value": 0.5}, "epochs": {"value": 2}}));
        assert_eq!(
            merged["matrix"],
            json!({"kind": "grid", "concurrency": 2, "params": {
                "lr": {"kind": "choice", "value": [0.3]}, "batch": {"kind": "choice", "value": [16]}}})
        );
        let mut pre = newer.as_object().unwrap().clone();
        pre.insert("patchStrategy".to_owned(), json!("pre_merge"));
        let merged = patch_operation(base.as_object().unwrap(), &pre);
        assert_eq!(
            merged["params"],
            json!({"lr": {"value": 0.1, "toEnv": "LR"}, "epochs": {"value": 2}})
        );
        assert_eq!(
            merged["matrix"]["params"]["lr"],
            json!({"kind": "choice", "value": [0.1, 0.2]})
        );
    }
}
