//! Conversion of a parsed YAML value into JSON, rejecting what JSON cannot hold.
//!
//! Mapping keys that are non-string scalars become strings the way Python's `json.dumps`
//! writes them (`1` → `"1"`, `true` → `"true"`, `null` → `"null"`), since that is what Polyaxon
//! stores for the same file. YAML tags (`!Foo`) are rejected, as Polyaxon's `yaml.safe_load`
//! rejects them, and so are non-finite numbers (`.inf`, `.nan`), which JSON has no spelling for.

use serde_json::{Map, Number, Value as Json};
use yaml_serde::Value as Yaml;

use crate::error::{Issue, code};
use crate::path::Path;

/// `value` (found at `path`) as JSON.
pub(crate) fn to_json(value: &Yaml, path: &Path) -> Result<Json, Issue> {
    Ok(match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(flag) => Json::Bool(*flag),
        Yaml::Number(number) => Json::Number(number_to_json(number, path)?),
        Yaml::String(text) => Json::String(text.clone()),
        Yaml::Sequence(items) => {
            let items = items
                .iter()
                .enumerate()
                .map(|(index, item)| to_json(item, &path.index(index)));
            Json::Array(items.collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, item) in mapping {
                let Some(key) = scalar_key(key) else {
                    return Err(Issue::at(
                        code::INVALID_YAML,
                        path.clone(),
                        "mapping keys must be scalars",
                    ));
                };
                let item_path = path.key(key.clone());
                if object.contains_key(&key) {
                    let message = format!("duplicate key `{key}`");
                    return Err(Issue::at_key(code::INVALID_YAML, item_path, message));
                }
                let item = to_json(item, &item_path)?;
                object.insert(key, item);
            }
            Json::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let message = format!("YAML tags are not supported (found `{}`)", tagged.tag);
            return Err(Issue::at(code::INVALID_YAML, path.clone(), message));
        }
    })
}

/// A mapping key as text: strings as they are, other scalars as Python's `json.dumps` writes
/// them; `None` for sequences, mappings and tagged keys.
pub(crate) fn scalar_key(key: &Yaml) -> Option<String> {
    match key {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Null => Some("null".to_owned()),
        Yaml::Bool(flag) => Some(flag.to_string()),
        Yaml::Number(number) => Some(number.to_string()),
        Yaml::Sequence(_) | Yaml::Mapping(_) | Yaml::Tagged(_) => None,
    }
}

fn number_to_json(number: &yaml_serde::Number, path: &Path) -> Result<Number, Issue> {
    if let Some(int) = number.as_i64() {
        return Ok(int.into());
    }
    if let Some(int) = number.as_u64() {
        return Ok(int.into());
    }
    number.as_f64().and_then(Number::from_f64).ok_or_else(|| {
        Issue::invalid(
            path.clone(),
            format!("`{number}` cannot be represented in JSON (not a finite number)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(source: &str) -> Result<Json, Issue> {
        let value: Yaml = yaml_serde::from_str(source).unwrap();
        to_json(&value, &Path::root())
    }

    #[test]
    fn converts_scalars_sequences_and_mappings() {
        let json = convert("a: 1\nb: [true, null, 1.5, -3, text]\n1: one\ntrue: yes\n").unwrap();
        assert_eq!(
            json,
            serde_json::json!({"a": 1, "b": [true, null, 1.5, -3, "text"], "1": "one", "true": "yes"})
        );
    }

    #[test]
    fn rejects_tags_infinities_and_colliding_keys() {
        let tagged = convert("a: !Custom 1\n").unwrap_err();
        assert_eq!(
            (tagged.code, tagged.path.to_string()),
            (code::INVALID_YAML, "a".to_owned())
        );
        let infinite = convert("a: [1, .inf]\n").unwrap_err();
        assert_eq!(
            (infinite.code, infinite.path.to_string()),
            (code::INVALID_FIELD, "a[1]".to_owned())
        );
        let duplicate = convert("1: a\n'1': b\n").unwrap_err();
        assert_eq!(
            (duplicate.code, duplicate.path.to_string()),
            (code::INVALID_YAML, "1".to_owned())
        );
    }
}
