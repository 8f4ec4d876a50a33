//! An operation (Polyaxon's `V1Operation`): shared fields, `params`, `runPatch`, and the
//! component it runs: inline (`component:`) or referenced (`hubRef`, `dagRef`, `urlRef`,
//! `pathRef`). Used for `kind: operation` documents and the `operations` of a dag.

use yaml_serde::Value as Yaml;

use super::common::{self, NameRule, kind_of};
use super::fields::{Fields, OPERATION};
use super::{Level, Summary, component, doc_kind};
use crate::error::{Issue, code};
use crate::kinds::DocKind;
use crate::path::Path;

/// The fields that reference a component defined elsewhere.
const REFERENCES: [&str; 4] = ["hubRef", "dagRef", "urlRef", "pathRef"];

/// Validates the operation at `path`, recording every problem in `issues`; `None` when it is
/// not a mapping at all. Its summary takes `name`, `description` and `tags` from the inline
/// component when the operation does not set them, as Polyaxon does for the run.
pub(crate) fn validate(value: &Yaml, path: &Path, level: Level, issues: &mut Vec<Issue>) -> Option<Summary> {
    let fields = Fields::read(value, path, &OPERATION, issues)?;
    if level == Level::Nested
        && let Err(issue) = doc_kind(value, path, Some(DocKind::Operation))
    {
        issues.push(issue);
    }
    let version = common::version(&fields, issues);
    let name = common::name(&fields, NameRule::Slug, issues);
    let description = common::string(&fields, "description", issues);
    let tags = common::string_list(&fields, "tags", issues);
    common::string_list(&fields, "presets", issues);
    common::string(&fields, "queue", issues);
    common::string(&fields, "namespace", issues);
    common::params(&fields, issues);
    if let Some(patch) = fields.get("runPatch")
        && !patch.is_mapping()
    {
        let message = format!("`runPatch` must be a mapping, found {}", kind_of(patch));
        issues.push(Issue::invalid(fields.path("runPatch"), message));
    }
    references(&fields, issues);
    let inline = fields
        .get("component")
        .and_then(|inline| component::validate(inline, &fields.path("component"), Level::Nested, issues))
        .unwrap_or_default();
    Some(Summary {
        version,
        name: name.or(inline.name),
        description: description.or(inline.description),
        tags: tags.or(inline.tags),
        run_kind: inline.run_kind,
    })
}

/// Polyaxon's rule: one and only one of `hubRef`, `dagRef`, `urlRef`, `pathRef`, or else an
/// inline `component` (which may also sit beside one reference: it is then the resolved
/// definition). Presets (`isPreset: true`) are partial operations and need none. A reference
/// that is given but broken (empty, not a string) counts as given: it is its own error.
fn references(fields: &Fields<'_>, issues: &mut Vec<Issue>) {
    let mut given = Vec::new();
    for reference in REFERENCES {
        match fields.get(reference) {
            None => continue,
            Some(Yaml::String(target)) if target.trim().is_empty() => {
                let message = format!("`{reference}` must not be empty");
                issues.push(Issue::invalid(fields.path(reference), message));
            }
            Some(Yaml::String(_)) => {}
            Some(other) => {
                let message = format!("`{reference}` must be a string, found {}", kind_of(other));
                issues.push(Issue::invalid(fields.path(reference), message));
            }
        }
        given.push(reference);
    }
    if let [first, second, ..] = given[..] {
        let message = format!("`{first}` and `{second}` both name the component to run: keep one");
        issues.push(Issue::at_key(code::CONFLICTING_FIELDS, fields.path(second), message));
    }
    let is_preset = matches!(fields.get("isPreset"), Some(Yaml::Bool(true)));
    let misspelt = fields.misspells(&["component", "hubRef", "dagRef", "urlRef", "pathRef"]);
    if given.is_empty() && fields.get("component").is_none() && !is_preset && !misspelt {
        let message =
            "an operation needs its component: inline `component`, or one of `hubRef`, `dagRef`, `urlRef`, `pathRef`";
        issues.push(Issue::missing(fields.path("component"), message));
    }
}
