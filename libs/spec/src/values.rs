//! Values against input/output types: [`coerce`] checks a value (a param, a default, a `-P`
//! string) against a Polyaxon type or type hint and returns it in its typed form; [`validate`]
//! applies the `validation` rules (gt, ge, lt, le, multipleOf, lengths, regex, options, ...).
//! Values holding a `{{ }}` template are resolved later and pass as they are.

use serde_json::{Map, Number, Value as Json};

use crate::de::is_template;
use crate::model::{OrRef, Validation};

/// `value` as a value of `type_name` (`int`, `List[float]`, `Optional[str]`, ...). Strings
/// from the command line (`text: true`) are parsed: `-P lr=0.1` gives a float for a float
/// input, `-P layers=[1,2]` a list.
pub fn coerce(type_name: &str, value: &Json, text: bool) -> Result<Json, String> {
    if let Json::String(raw) = value
        && is_template(raw)
    {
        return Ok(value.clone());
    }
    let type_name = type_name.trim();
    if let Some(inner) = strip_generic(type_name, &["Optional"]) {
        return if value.is_null() {
            Ok(Json::Null)
        } else {
            coerce(inner, value, text)
        };
    }
    if let Some(parts) = split_union(type_name) {
        if value.is_null() && parts.iter().any(|part| part.trim() == "None") {
            return Ok(Json::Null);
        }
        let mut problems = Vec::new();
        for part in parts.iter().filter(|part| part.trim() != "None") {
            match coerce(part, value, text) {
                Ok(typed) => return Ok(typed),
                Err(problem) => problems.push(problem),
            }
        }
        return Err(problems.join("; "));
    }
    if let Some(inner) = strip_generic(type_name, &["List", "list", "Set", "set", "Tuple", "tuple"]) {
        let items = as_list(value, text)?;
        let inner = inner.split(',').next().unwrap_or("any");
        return items
            .iter()
            .map(|item| coerce(inner, item, text))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array);
    }
    if let Some(inner) = strip_generic(type_name, &["Dict", "dict"]) {
        let object = as_object(value, text)?;
        let value_type = inner.split_once(',').map_or("any", |(_, value_type)| value_type);
        let mut typed = Map::new();
        for (key, item) in object {
            typed.insert(key, coerce(value_type, &item, text)?);
        }
        return Ok(Json::Object(typed));
    }
    scalar(type_name, value, text)
}

/// `Generic[inner]` → `inner` for one of `names`.
fn strip_generic<'a>(type_name: &'a str, names: &[&str]) -> Option<&'a str> {
    let (name, rest) = type_name.split_once('[')?;
    let inner = rest.strip_suffix(']')?;
    names.contains(&name.trim()).then_some(inner.trim())
}

/// `a | b` or `Union[a, b]` → its members, split at the top level only.
fn split_union(type_name: &str) -> Option<Vec<&str>> {
    let body = strip_generic(type_name, &["Union"]).unwrap_or(type_name);
    let separator = if body.len() < type_name.len() { ',' } else { '|' };
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (index, c) in body.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c == separator && depth == 0 => {
                parts.push(body[start..index].trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(body[start..].trim());
    (parts.len() > 1).then_some(parts)
}

fn parse_text(text: &str) -> Option<Json> {
    yaml_serde::from_str::<Json>(text).ok()
}

fn as_list(value: &Json, text: bool) -> Result<Vec<Json>, String> {
    match value {
        Json::Array(items) => Ok(items.clone()),
        Json::String(raw) if text => match parse_text(raw) {
            Some(Json::Array(items)) => Ok(items),
            _ => Ok(raw
                .split(',')
                .map(|item| Json::String(item.trim().to_owned()))
                .collect()),
        },
        other => Err(format!("expected a list, found {}", crate::de::json_kind(other))),
    }
}

fn as_object(value: &Json, text: bool) -> Result<Map<String, Json>, String> {
    match value {
        Json::Object(object) => Ok(object.clone()),
        Json::String(raw) if text => match parse_text(raw) {
            Some(Json::Object(object)) => Ok(object),
            _ => Err(format!("expected a mapping, found `{raw}`")),
        },
        other => Err(format!("expected a mapping, found {}", crate::de::json_kind(other))),
    }
}

fn scalar(type_name: &str, value: &Json, text: bool) -> Result<Json, String> {
    let found = || match value {
        Json::String(raw) => format!("`{raw}`"),
        other => crate::de::json_kind(other).to_owned(),
    };
    match (type_name, value) {
        ("any" | "Any" | "metadata", _) => Ok(value.clone()),
        (_, Json::Null) => Err("expected a value, found null".to_owned()),
        ("int", Json::Number(number)) if number.is_i64() || number.is_u64() => Ok(value.clone()),
        ("int", Json::String(raw)) if text => raw
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| format!("expected an integer, found `{raw}`")),
        ("int", _) => Err(format!("expected an integer, found {}", found())),
        ("float" | "metric" | "timedelta", Json::Number(_)) => Ok(value.clone()),
        ("float" | "metric" | "timedelta", Json::String(raw)) if text => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Json::Number)
            .ok_or_else(|| format!("expected a number, found `{raw}`")),
        ("float" | "metric" | "timedelta", _) => Err(format!("expected a number, found {}", found())),
        ("bool", Json::Bool(_)) => Ok(value.clone()),
        ("bool", Json::Number(number)) if number.as_i64().is_some_and(|n| n == 0 || n == 1) => {
            Ok(Json::Bool(number.as_i64() == Some(1)))
        }
        ("bool", Json::String(raw)) => match raw.trim().to_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" | "t" => Ok(Json::Bool(true)),
            "false" | "0" | "no" | "n" | "off" | "f" => Ok(Json::Bool(false)),
            _ => Err(format!("expected a boolean, found `{raw}`")),
        },
        ("bool", _) => Err(format!("expected a boolean, found {}", found())),
        ("str", Json::String(_)) => Ok(value.clone()),
        ("str", Json::Number(_) | Json::Bool(_)) => Ok(Json::String(value.to_string())),
        ("dict" | "dict_of_dicts", _) => {
            let object = as_object(value, text)?;
            if type_name == "dict_of_dicts"
                && let Some((key, _)) = object.iter().find(|(_, item)| !item.is_object())
            {
                return Err(format!("expected a mapping of mappings, `{key}` is not a mapping"));
            }
            Ok(Json::Object(object))
        }
        ("list", _) => as_list(value, text).map(Json::Array),
        ("gcs", Json::String(raw)) => prefixed(raw, &["gs://"]),
        ("s3", Json::String(raw)) => prefixed(raw, &["s3://"]),
        ("wasb", Json::String(raw)) => prefixed(raw, &["wasb://", "wasbs://", "abfs://", "abfss://"]),
        ("uri" | "auth", Json::String(raw)) if type_name == "auth" && !raw.contains(':') => {
            Err(format!("expected `user:password`, found `{raw}`"))
        }
        ("date", Json::String(raw)) => chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map(|_| value.clone())
            .map_err(|_| format!("expected a date such as 2024-01-31, found `{raw}`")),
        ("datetime", Json::String(raw)) => datetime(raw)
            .map(|_| value.clone())
            .ok_or_else(|| format!("expected a date and time such as 2024-01-31T10:00:00Z, found `{raw}`")),
        ("uuid", Json::String(raw)) if is_uuid(raw) => Ok(value.clone()),
        ("uuid", _) => Err(format!("expected a uuid, found {}", found())),
        ("email", Json::String(raw)) if raw.contains('@') => Ok(value.clone()),
        ("email", _) => Err(format!("expected an email address, found {}", found())),
        ("git" | "artifacts" | "dockerfile" | "file" | "tensorboard", Json::Object(_)) => Ok(value.clone()),
        ("git" | "artifacts" | "dockerfile" | "file" | "tensorboard", Json::String(raw)) if text => {
            match parse_text(raw) {
                Some(parsed @ Json::Object(_)) => Ok(parsed),
                _ if type_name == "git" => Ok(serde_json::json!({ "url": raw })),
                _ => Err(format!("expected a mapping, found `{raw}`")),
            }
        }
        ("git" | "artifacts" | "dockerfile" | "file" | "tensorboard", _) => {
            Err(format!("expected a mapping, found {}", found()))
        }
        ("str" | "uri" | "auth" | "image" | "path" | "event" | "gcs" | "s3" | "wasb" | "date" | "datetime", _) => {
            Err(format!("expected a string, found {}", found()))
        }
        _ => Ok(value.clone()),
    }
}

fn prefixed(raw: &str, schemes: &[&str]) -> Result<Json, String> {
    if schemes.iter().any(|scheme| raw.starts_with(scheme)) && raw.len() > 5 {
        Ok(Json::String(raw.to_owned()))
    } else {
        Err(format!(
            "expected a path starting with {}, found `{raw}`",
            schemes.join(" or ")
        ))
    }
}

/// An ISO 8601 / RFC 3339 date-time, with or without offset (`2019-06-24 21:20:07`).
pub(crate) fn datetime(raw: &str) -> Option<chrono::NaiveDateTime> {
    let raw = raw.trim();
    if let Ok(parsed) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Some(parsed.naive_utc());
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| chrono::NaiveDateTime::parse_from_str(raw, format).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
    })
}

fn is_uuid(raw: &str) -> bool {
    let hex: String = raw.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A rule's bound, unless it is a template.
fn bound<T: Copy>(rule: &Option<OrRef<T>>) -> Option<T> {
    rule.as_ref().and_then(OrRef::value).copied()
}

/// Checks `value` against `rules` (item-wise for lists and mapping values).
pub fn validate(rules: &Validation, value: &Json) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    match value {
        Json::Array(items) => items.iter().try_for_each(|item| validate_one(rules, item))?,
        Json::Object(object) => object.values().try_for_each(|item| validate_one(rules, item))?,
        other => validate_one(rules, other)?,
    }
    let size = match value {
        Json::Array(items) => Some(items.len() as u64),
        Json::Object(object) => Some(object.len() as u64),
        _ => None,
    };
    if let Some(size) = size {
        if let Some(min) = bound(&rules.min_items).filter(|min| size < *min) {
            return Err(format!("`{value}` must have at least {min} items"));
        }
        if let Some(max) = bound(&rules.max_items).filter(|max| size > *max) {
            return Err(format!("`{value}` must have at most {max} items"));
        }
    }
    if let Json::Object(object) = value {
        if let Some(keys) = &rules.keys
            && (keys.len() != object.len() || keys.iter().any(|key| !object.contains_key(key)))
        {
            return Err(format!("`{value}` must have exactly the keys {}", keys.join(", ")));
        }
        if let Some(key) = rules
            .contains_keys
            .iter()
            .flatten()
            .find(|key| !object.contains_key(*key))
        {
            return Err(format!("`{value}` must contain the key `{key}`"));
        }
        if let Some(key) = rules
            .excludes_keys
            .iter()
            .flatten()
            .find(|key| object.contains_key(*key))
        {
            return Err(format!("`{value}` must not contain the key `{key}`"));
        }
    }
    Ok(())
}

fn validate_one(rules: &Validation, value: &Json) -> Result<(), String> {
    if let Some(number) = value.as_f64() {
        let checks = [
            (
                bound(&rules.gt),
                "greater than",
                number > bound(&rules.gt).unwrap_or(f64::NEG_INFINITY),
            ),
            (
                bound(&rules.ge),
                "greater than or equal to",
                number >= bound(&rules.ge).unwrap_or(f64::NEG_INFINITY),
            ),
            (
                bound(&rules.lt),
                "less than",
                number < bound(&rules.lt).unwrap_or(f64::INFINITY),
            ),
            (
                bound(&rules.le),
                "less than or equal to",
                number <= bound(&rules.le).unwrap_or(f64::INFINITY),
            ),
        ];
        if let Some((Some(limit), words, _)) = checks.iter().find(|(limit, _, ok)| limit.is_some() && !ok) {
            return Err(format!("`{value}` must be {words} {limit}"));
        }
        if let Some(step) = bound(&rules.multiple_of).filter(|step| *step != 0.0) {
            let ratio = number / step;
            if (ratio - ratio.round()).abs() > 1e-9 {
                return Err(format!("`{value}` must be a multiple of {step}"));
            }
        }
        let digits = value.to_string().replace(['.', '-'], "").len() as u64;
        if let Some(min) = bound(&rules.min_digits).filter(|min| digits < *min) {
            return Err(format!("`{value}` must have at least {min} digits"));
        }
        if let Some(max) = bound(&rules.max_digits).filter(|max| digits > *max) {
            return Err(format!("`{value}` must have at most {max} digits"));
        }
        let places = value
            .to_string()
            .split_once('.')
            .map_or(0, |(_, places)| places.len() as u64);
        if let Some(max) = bound(&rules.decimal_places).filter(|max| places > *max) {
            return Err(format!("`{value}` must have at most {max} decimal places"));
        }
    }
    if let Json::String(text) = value {
        let length = text.chars().count() as u64;
        if let Some(min) = bound(&rules.min_length).filter(|min| length < *min) {
            return Err(format!("`{text}` must have at least {min} characters"));
        }
        if let Some(max) = bound(&rules.max_length).filter(|max| length > *max) {
            return Err(format!("`{text}` must have at most {max} characters"));
        }
        if let Some(pattern) = &rules.regex
            && let Ok(regex) = regex::Regex::new(&format!("^(?:{pattern})"))
            && !regex.is_match(text)
        {
            // An invalid regex is reported on its own by the rules.
            return Err(format!("`{text}` must match the regex `{pattern}`"));
        }
    }
    if let Some(options) = rules.options.as_ref().and_then(Json::as_array)
        && !options.iter().any(|option| same(option, value))
    {
        return Err(format!(
            "`{}` must be one of {}",
            show(value),
            show(&Json::Array(options.clone()))
        ));
    }
    if let Some(needle) = &rules.contains
        && !contains(value, needle)
    {
        return Err(format!("`{}` must contain `{}`", show(value), show(needle)));
    }
    if let Some(needle) = &rules.excludes
        && contains(value, needle)
    {
        return Err(format!("`{}` must not contain `{}`", show(value), show(needle)));
    }
    Ok(())
}

/// A value in a message: strings as they are, others as JSON.
fn show(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Equality where `1` and `1.0` are the same number.
fn same(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn contains(haystack: &Json, needle: &Json) -> bool {
    match (haystack, needle) {
        (Json::String(text), Json::String(part)) => text.contains(part.as_str()),
        (Json::Array(items), _) => items.iter().any(|item| same(item, needle)),
        (Json::Object(object), Json::String(key)) => object.contains_key(key),
        _ => same(haystack, needle),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn coerces_cli_strings_and_checks_types() {
        assert_eq!(coerce("float", &json!("0.1"), true), Ok(json!(0.1)));
        assert_eq!(coerce("int", &json!("3"), true), Ok(json!(3)));
        assert_eq!(coerce("bool", &json!("yes"), true), Ok(json!(true)));
        assert_eq!(coerce("List[int]", &json!("[1, 2]"), true), Ok(json!([1, 2])));
        assert_eq!(coerce("Dict[str, float]", &json!({"a": 1}), false), Ok(json!({"a": 1})));
        assert_eq!(coerce("int | None", &json!(null), false), Ok(json!(null)));
        assert_eq!(
            coerce("s3", &json!("s3://bucket/key"), false),
            Ok(json!("s3://bucket/key"))
        );
        assert!(coerce("int", &json!(1.5), false).is_err());
        assert!(coerce("int", &json!("abc"), true).is_err());
        assert!(coerce("gcs", &json!("s3://x/y"), false).is_err());
        assert_eq!(coerce("int", &json!("{{ x }}"), false), Ok(json!("{{ x }}")));
        assert_eq!(coerce("str", &json!(3), false), Ok(json!("3")));
    }

    #[test]
    fn validates_rules() {
        let rules: Validation =
            serde_json::from_value(json!({"gt": 0.001, "lt": 0.5, "options": [0.1, 0.2]})).unwrap_or_default();
        assert_eq!(validate(&rules, &json!(0.1)), Ok(()));
        assert_eq!(
            validate(&rules, &json!(0.3)),
            Err("`0.3` must be one of 0.1, 0.2".to_owned())
        );
        assert_eq!(
            validate(&rules, &json!(0.7)),
            Err("`0.7` must be less than 0.5".to_owned())
        );
        let rules: Validation = serde_json::from_value(json!({"regex": "^s3://", "maxLength": 8})).unwrap_or_default();
        assert_eq!(validate(&rules, &json!("s3://a")), Ok(()));
        assert!(validate(&rules, &json!("gs://a")).is_err());
        assert!(validate(&rules, &json!("s3://abcdef")).is_err());
    }
}
