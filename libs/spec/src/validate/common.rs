//! Checks of the fields every section shares: `version`, `name`, `description`, `tags`, plain
//! strings and lists of strings, and `params`.

use yaml_serde::Value as Yaml;

use super::fields::{Fields, PARAM};
use crate::error::Issue;

/// The spec versions Polyaxon files are written in (`SCHEMA_VERSION` is 1.1; 1.0 files load).
const VERSIONS: [f64; 2] = [1.0, 1.1];

/// `version`, when given: `1.1` or `1`/`1.0`, as a number or a numeric string.
pub(crate) fn version(fields: &Fields<'_>) -> Result<Option<f64>, Issue> {
    let Some(value) = fields.get("version") else {
        return Ok(None);
    };
    let number = match value {
        Yaml::Number(number) => number.as_f64(),
        Yaml::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(number) if VERSIONS.contains(&number) => Ok(Some(number)),
        _ => Err(Issue::invalid(
            fields.path("version"),
            format!("unsupported version {}: expected 1.1", render(value)),
        )),
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
pub(crate) fn name(fields: &Fields<'_>, rule: NameRule) -> Result<Option<String>, Issue> {
    let Some(name) = string(fields, "name")? else {
        return Ok(None);
    };
    if is_template(&name) || follows(&name, rule) {
        return Ok(Some(name));
    }
    let expected = match rule {
        NameRule::Slug => "letters, digits, `-` and `_`",
        NameRule::Qualified => "letters, digits, `-` and `_`, optionally `owner/` before and `:tag` after",
    };
    Err(Issue::invalid(
        fields.path("name"),
        format!("invalid name `{name}`: use {expected}"),
    ))
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
pub(crate) fn string(fields: &Fields<'_>, field: &str) -> Result<Option<String>, Issue> {
    match fields.get(field) {
        None => Ok(None),
        Some(Yaml::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(Issue::invalid(
            fields.path(field),
            format!("`{field}` must be a string, found {}", kind_of(other)),
        )),
    }
}

/// Field `field` when given: a list of strings, or one string of comma-separated items (which
/// Polyaxon splits, as `tags: "a, b"`).
pub(crate) fn string_list(fields: &Fields<'_>, field: &str) -> Result<Option<Vec<String>>, Issue> {
    let path = fields.path(field);
    match fields.get(field) {
        None => Ok(None),
        Some(Yaml::String(text)) => Ok(Some(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Yaml::String(text) => Ok(text.clone()),
                other => Err(Issue::invalid(
                    path.index(index),
                    format!("`{field}` items must be strings, found {}", kind_of(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(Issue::invalid(
            path,
            format!("`{field}` must be a list of strings, found {}", kind_of(other)),
        )),
    }
}

/// `params`, when given: a mapping from a param name to `{value: ...}` or `{ref: ..., ...}`.
pub(crate) fn params(fields: &Fields<'_>) -> Result<(), Issue> {
    let Some(value) = fields.get("params") else {
        return Ok(());
    };
    let path = fields.path("params");
    let Yaml::Mapping(params) = value else {
        return Err(Issue::invalid(
            path,
            format!(
                "`params` must be a mapping of names to params, found {}",
                kind_of(value)
            ),
        ));
    };
    for (key, param) in params {
        let name = crate::convert::scalar_key(key).unwrap_or_else(|| "?".to_owned());
        let param_path = path.key(name.clone());
        if !param.is_mapping() {
            let message = format!(
                "param `{name}` must be a mapping such as `{{value: ...}}`, found {}",
                kind_of(param)
            );
            return Err(Issue::invalid(param_path, message));
        }
        let param = Fields::read(param, &param_path, &PARAM)?;
        if !param.has("value") && !param.has("ref") {
            return Err(Issue::missing(
                param_path.key("value"),
                format!("param `{name}` needs a `value` or a `ref`"),
            ));
        }
        if let Some(reference) = param.get("ref")
            && !reference.is_string()
        {
            return Err(Issue::invalid(
                param.path("ref"),
                "`ref` must be a string such as `ops.upstream`",
            ));
        }
    }
    Ok(())
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
