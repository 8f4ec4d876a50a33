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

/// Validates the operation at `path`. Its summary takes `name`, `description` and `tags` from
/// the inline component when the operation does not set them, as Polyaxon does for the run.
pub(crate) fn validate(value: &Yaml, path: &Path, level: Level) -> Result<Summary, Issue> {
    let fields = Fields::read(value, path, &OPERATION)?;
    if level == Level::Nested {
        doc_kind(value, path, Some(DocKind::Operation))?;
    }
    let version = common::version(&fields)?;
    let name = common::name(&fields, NameRule::Slug)?;
    let description = common::string(&fields, "description")?;
    let tags = common::string_list(&fields, "tags")?;
    common::string_list(&fields, "presets")?;
    common::string(&fields, "queue")?;
    common::string(&fields, "namespace")?;
    common::params(&fields)?;
    if let Some(patch) = fields.get("runPatch")
        && !patch.is_mapping()
    {
        return Err(Issue::invalid(
            fields.path("runPatch"),
            format!("`runPatch` must be a mapping, found {}", kind_of(patch)),
        ));
    }
    references(&fields)?;
    let inline = match fields.get("component") {
        Some(inline) => component::validate(inline, &fields.path("component"), Level::Nested)?,
        None => Summary::default(),
    };
    Ok(Summary {
        version,
        name: name.or(inline.name),
        description: description.or(inline.description),
        tags: tags.or(inline.tags),
        run_kind: inline.run_kind,
    })
}

/// Polyaxon's rule: one and only one of `hubRef`, `dagRef`, `urlRef`, `pathRef`, or else an
/// inline `component` (which may also sit beside one reference: it is then the resolved
/// definition). Presets (`isPreset: true`) are partial operations and need none.
fn references(fields: &Fields<'_>) -> Result<(), Issue> {
    let mut given = Vec::new();
    for reference in REFERENCES {
        match fields.get(reference) {
            None => {}
            Some(Yaml::String(target)) if target.trim().is_empty() => {
                return Err(Issue::invalid(
                    fields.path(reference),
                    format!("`{reference}` must not be empty"),
                ));
            }
            Some(Yaml::String(_)) => given.push(reference),
            Some(other) => {
                let message = format!("`{reference}` must be a string, found {}", kind_of(other));
                return Err(Issue::invalid(fields.path(reference), message));
            }
        }
    }
    if let [first, second, ..] = given[..] {
        let message = format!("`{first}` and `{second}` both name the component to run: keep one");
        return Err(Issue::at_key(code::CONFLICTING_FIELDS, fields.path(second), message));
    }
    let is_preset = matches!(fields.get("isPreset"), Some(Yaml::Bool(true)));
    if given.is_empty() && fields.get("component").is_none() && !is_preset {
        let message =
            "an operation needs its component: inline `component`, or one of `hubRef`, `dagRef`, `urlRef`, `pathRef`";
        return Err(Issue::missing(fields.path("component"), message));
    }
    Ok(())
}
