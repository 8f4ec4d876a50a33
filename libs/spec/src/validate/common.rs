//! Checks of the fields every section shares: `version`, `name`, `description`, `tags`, plain
//! strings and lists of strings, and `params`.

use yaml_serde::Value as Yaml;

use super::fields::{Fields, PARAM};
use crate::error::Issue;

/// The spec versions Polyaxon files are written in (`SCHEMA_VERSION` is 1.1; 1.0 files load).
const VERSIONS: [f64; 2] = [1.0, 1.1];

/// `version`, when given: `1.1` or `1`/`1.0`, as a number or a numeric string.
pub(crate) fn version(fields: &Fields<'_>, issues: &mut Vec<Issue>) -> Option<f64> {
    let value = fields.get("version")?;
    let number = match value {
        Yaml::Number(number) => number.as_f64(),
        Yaml::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(number) if VERSIONS.contains(&number) => Some(number),
        _ => {
            let message = format!("unsupported version {}: expected 1.1", render(value));
            issues.push(Issue::invalid(fields.path("version"), message));
            None
        }
    }
}

/// Which names a section accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRule {
    /// `[-a-zA-Z0-9_]+` (Polyaxon's `NAME_REGEX`): operations, inputs/outputs.
    Slug,
    /// A slug with an optional `owner/` prefix and `:tag` suffix (`[-a-zA-Z0-9_.]+`):
    /// components, which the hub names `owner/name:version`.
    Qualified,
}

/// `name`, when given: a string that follows `rule`, or a `{{ ... }}` template (Polyaxon's
/// `RefField`), resolved later.
pub(crate) fn name(fields: &Fields<'_>, rule: NameRule, issues: &mut Vec<Issue>) -> Option<String> {
    let name = string(fields, "name", issues)?;
    if is_template(&name) || follows(&name, rule) {
        return Some(name);
    }
    let expected = match rule {
        NameRule::Slug => "letters, digits, `-` and `_`",
        NameRule::Qualified => "letters, digits, `-` and `_`, optionally `owner/` before and `:tag` after",
    };
    let message = format!("invalid name `{name}`: use {expected}");
    issues.push(Issue::invalid(fields.path("name"), message));
    None
}

fn follows(name: &str, rule: NameRule) -> bool {
    let slug = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match rule {
        NameRule::Slug => slug(name),
        NameRule::Qualified => {
            let (base, tag) = name.split_once(':').unwrap_or((name, "-"));
            let (owner, base) = base.split_once('/').unwrap_or(("-", base));
            slug(owner) && slug(base) && slug(&tag.replace('.', "_"))
        }
    }
}

/// A value that Polyaxon resolves from the context at compile time (`"{{ globals.uuid }}"`).
pub(crate) fn is_template(text: &str) -> bool {
    text.find("{{").is_some_and(|start| text[start..].contains("}}"))
}

/// Field `field` when given: it must be a string.
pub(crate) fn string(fields: &Fields<'_>, field: &str, issues: &mut Vec<Issue>) -> Option<String> {
    match fields.get(field)? {
        Yaml::String(text) => Some(text.clone()),
        other => {
            let message = format!("`{field}` must be a string, found {}", kind_of(other));
            issues.push(Issue::invalid(fields.path(field), message));
            None
        }
    }
}

/// Field `field` when given: a list of strings, or one string of comma-separated items (which
/// Polyaxon splits, as `tags: "a, b"`). Every item that is not a string is recorded.
pub(crate) fn string_list(fields: &Fields<'_>, field: &str, issues: &mut Vec<Issue>) -> Option<Vec<String>> {
    let path = fields.path(field);
    match fields.get(field)? {
        Yaml::String(text) => Some(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Yaml::Sequence(items) => {
            let before = issues.len();
            let mut strings = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                match item {
                    Yaml::String(text) => strings.push(text.clone()),
                    other => issues.push(Issue::invalid(
                        path.index(index),
                        format!("`{field}` items must be strings, found {}", kind_of(other)),
                    )),
                }
            }
            (issues.len() == before).then_some(strings)
        }
        other => {
            let message = format!("`{field}` must be a list of strings, found {}", kind_of(other));
            issues.push(Issue::invalid(path, message));
            None
        }
    }
}

/// `params`, when given: a mapping from a param name to `{value: ...}` or `{ref: ..., ...}`;
/// each param is checked on its own.
pub(crate) fn params(fields: &Fields<'_>, issues: &mut Vec<Issue>) {
    let Some(value) = fields.get("params") else {
        return;
    };
    let path = fields.path("params");
    let Yaml::Mapping(params) = value else {
        let message = format!(
            "`params` must be a mapping of names to params, found {}",
            kind_of(value)
        );
        issues.push(Issue::invalid(path, message));
        return;
    };
    for (key, param) in params {
        let name = crate::convert::scalar_key(key).unwrap_or_else(|| "?".to_owned());
        let param_path = path.key(name.clone());
        if is_short_form(param) {
            continue;
        }
        let before = issues.len();
        let Some(param) = Fields::read(param, &param_path, &PARAM, issues) else {
            continue;
        };
        // A misspelt `vlaue` is reported as such, not again as a missing value.
        if issues.len() == before && !param.has("value") && !param.has("ref") {
            let message = format!("param `{name}` needs a `value` or a `ref`");
            issues.push(Issue::missing(param_path.key("value"), message));
        }
        if let Some(reference) = param.get("ref")
            && !reference.is_string()
        {
            let message = "`ref` must be a string such as `ops.upstream`";
            issues.push(Issue::invalid(param.path("ref"), message));
        }
    }
}

/// The keys of a full-form param (Polyaxon's `V1_PARAM_KEYS`).
const PARAM_KEYS: [&str; 6] = ["value", "ref", "toInit", "toEnv", "contextOnly", "connection"];

/// Whether a param is written in the short form (`lr: 0.1`, `config: {a: 1}`), as Polyaxon
/// 2.13+ reads it: anything but a mapping with a param key, or an empty mapping. A mapping
/// whose key is a near miss of a param key (`{vlaue: 0.1}`) is taken as a mistake, not as a
/// dict value.
fn is_short_form(param: &Yaml) -> bool {
    let Yaml::Mapping(entries) = param else {
        return true;
    };
    if entries.is_empty() {
        return false;
    }
    let keys: Vec<String> = entries
        .keys()
        .filter_map(crate::convert::scalar_key)
        .map(|key| super::fields::snake_to_camel(&key))
        .collect();
    let full = keys.iter().any(|key| PARAM_KEYS.contains(&key.as_str()));
    let near_miss = keys.iter().any(|key| super::fields::nearest(key, PARAM_KEYS).is_some());
    !full && !near_miss
}

/// What a YAML value is, for messages.
pub(crate) fn kind_of(value: &Yaml) -> &'static str {
    match value {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

/// A scalar as it reads in a message.
pub(crate) fn render(value: &Yaml) -> String {
    match value {
        Yaml::String(text) => format!("`{text}`"),
        Yaml::Number(number) => format!("`{number}`"),
        Yaml::Bool(flag) => format!("`{flag}`"),
        other => kind_of(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_polyaxon_rules() {
        assert!(follows("test-pipeline_2", NameRule::Slug));
        assert!(!follows("a.b", NameRule::Slug));
        assert!(!follows("a:b", NameRule::Slug));
        assert!(follows("org/tensorboard:v1.2", NameRule::Qualified));
        assert!(follows("tensorboard", NameRule::Qualified));
        assert!(!follows("a:", NameRule::Qualified));
        assert!(!follows("/a", NameRule::Qualified));
        assert!(is_template("run-{{ globals.uuid }}"));
        assert!(!is_template("}} {{"));
    }
}
