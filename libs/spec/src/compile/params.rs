//! Params at compilation: `-P name=value` and `-HP name=kind:values` from the command line,
//! the value of every input/output (param, default, matrix, or missing), and the `params.<x>`
//! entries of the template context (`value`, `as_str`, `as_arg`, `type`, `connection`).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::de::is_template;
use crate::error::{Issue, code};
use crate::model::{HpParam, Io, Param};
use crate::path::Path;
use crate::rules::io::typed;
use crate::validate::fields::nearest;
use crate::values;

/// Splits `name=value`.
pub(crate) fn split(pair: &str) -> Option<(&str, &str)> {
    let (name, value) = pair.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then_some((name, value))
}

/// `-HP lr=linspace:0.01:0.1:5` as the JSON of a hyperparameter.
pub(crate) fn hparam(name: &str, text: &str) -> Result<Json, Issue> {
    let path = Path::root().key("matrix").key("params").key(name.to_owned());
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    let kind = kind.trim();
    if !HpParam::KINDS.contains(&kind) {
        let hint = nearest(kind, HpParam::KINDS.iter().copied()).map(|near| format!("did you mean `{near}`?"));
        let message = format!(
            "unknown distribution `{kind}` in `-HP {name}={text}`: expected one of {}",
            HpParam::KINDS.join(", ")
        );
        return Err(Issue::nowhere(code::UNKNOWN_KIND, path, message).with_hint(hint));
    }
    let parsed = yaml_serde::from_str::<Json>(rest).ok();
    let value = match (kind, parsed) {
        (_, Some(list @ Json::Array(_))) => list,
        (_, Some(map @ Json::Object(_))) => map,
        ("choice", _) => Json::Array(rest.split(',').map(|item| scalar(item.trim())).collect()),
        _ => Json::String(rest.to_owned()),
    };
    Ok(json!({"kind": kind, "value": value}))
}

fn scalar(text: &str) -> Json {
    yaml_serde::from_str::<Json>(text).unwrap_or_else(|_| Json::String(text.to_owned()))
}

/// Where the value of an input/output comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// A literal value (param, `-P`, or default).
    Value(Json),
    /// Known only later: a ref, a matrix param, or an output.
    Pending,
}

/// The resolved inputs/outputs, context values and params.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Every io and context name with its value, when known.
    pub values: BTreeMap<String, Source>,
    /// The final params (file params with `-P` values over them).
    pub params: BTreeMap<String, Param>,
    /// Undeclared literal params (context values).
    pub contexts: BTreeMap<String, Json>,
}

/// Resolves `inputs`/`outputs` from `params` (from the file), `cli` (`-P`, already checked to
/// name declared ios) and `matrix_names`. `component_path` locates the declarations.
pub(crate) fn resolve(
    inputs: &[Io],
    outputs: &[Io],
    params: &BTreeMap<String, Param>,
    cli: &[(String, String)],
    matrix_names: &[String],
    component_path: &Path,
) -> Result<Resolved, Vec<Issue>> {
    let mut resolved = Resolved {
        params: params.clone(),
        ..Resolved::default()
    };
    let mut from_cli: Vec<&str> = Vec::new();
    for (name, text) in cli {
        resolved
            .params
            .insert(name.clone(), Param::literal(Json::String(text.clone())));
        from_cli.push(name);
    }
    let mut issues = Vec::new();
    for (field, ios) in [("inputs", inputs), ("outputs", outputs)] {
        for (index, io) in ios.iter().enumerate() {
            let path = component_path.key(field).index(index);
            let source = match resolved.params.get(&io.name) {
                Some(param) if param.r#ref.is_some() => Source::Pending,
                Some(param) => {
                    let raw = param.value.clone().unwrap_or(Json::Null);
                    let cli = from_cli.contains(&io.name.as_str());
                    let at = if cli {
                        Path::root().key("params").key(io.name.clone())
                    } else {
                        Path::root().key("params").key(io.name.clone()).key("value")
                    };
                    match check_value(io, &raw, cli) {
                        Ok(value) => {
                            if let Some(param) = resolved.params.get_mut(&io.name) {
                                param.value = Some(value.clone());
                            }
                            Source::Value(value)
                        }
                        Err(problem) => {
                            let origin = if cli {
                                format!("-P {}", io.name)
                            } else {
                                format!("param `{}`", io.name)
                            };
                            let message = format!("{origin}: {problem}");
                            issues.push(if cli {
                                Issue::nowhere(code::INVALID_PARAM, at, message)
                            } else {
                                Issue::at(code::INVALID_PARAM, at, message)
                            });
                            Source::Pending
                        }
                    }
                }
                None if matrix_names.contains(&io.name) => Source::Pending,
                None => match &io.value {
                    Some(value) => Source::Value(value.clone()),
                    None if field == "outputs" => Source::Pending,
                    None if io.optional() => Source::Value(Json::Null),
                    None => {
                        let message = format!("input `{}` is required and has no value", io.name);
                        let hint = format!("pass `-P {}=...` or set `params.{}`", io.name, io.name);
                        issues
                            .push(Issue::at_key(code::MISSING_PARAM, path.key("name"), message).with_hint(Some(hint)));
                        Source::Pending
                    }
                },
            };
            resolved.values.insert(io.name.clone(), source);
        }
    }
    for (name, param) in &resolved.params {
        if resolved.values.contains_key(name) {
            continue;
        }
        let source = match (&param.r#ref, &param.value) {
            (None, Some(value)) => {
                resolved.contexts.insert(name.clone(), value.clone());
                Source::Value(value.clone())
            }
            _ => Source::Pending,
        };
        resolved.values.insert(name.clone(), source);
    }
    if issues.is_empty() { Ok(resolved) } else { Err(issues) }
}

/// A literal value checked against the io's type and validation.
fn check_value(io: &Io, raw: &Json, cli: bool) -> Result<Json, String> {
    if raw.is_null() {
        return if io.optional() {
            Ok(Json::Null)
        } else {
            Err(format!("input `{}` is required and cannot be null", io.name))
        };
    }
    if matches!(raw, Json::String(text) if is_template(text)) {
        return Ok(raw.clone());
    }
    let value = typed(io, raw, cli).map_err(|problem| format!("not a valid `{}`: {problem}", io.type_name()))?;
    if let Some(rules) = &io.validation {
        values::validate(rules, &value)?;
    }
    Ok(value)
}

/// The text of a value in a command line: strings as they are, others as JSON.
pub(crate) fn as_str(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `params.<name>` of the template context.
pub(crate) fn param_context(
    name: &str,
    io: Option<&Io>,
    value: &Json,
    connection: Option<&str>,
    render_format: &dyn Fn(&str, &Json) -> String,
) -> Json {
    let is_flag = io.and_then(|io| io.is_flag) == Some(true);
    let as_arg = if value.is_null() {
        String::new()
    } else if let Some(format) = io.and_then(|io| io.arg_format.as_deref()) {
        render_format(format, value)
    } else if is_flag {
        if value == &Json::Bool(true) {
            format!("--{name}")
        } else {
            String::new()
        }
    } else {
        format!("--{name}={}", as_str(value))
    };
    let mut entry = Map::new();
    entry.insert("value".to_owned(), value.clone());
    entry.insert("as_str".to_owned(), Json::String(as_str(value)));
    entry.insert("as_arg".to_owned(), Json::String(as_arg));
    entry.insert(
        "type".to_owned(),
        io.map_or(Json::Null, |io| Json::String(io.type_name().to_owned())),
    );
    entry.insert(
        "connection".to_owned(),
        connection.map_or(Json::Null, |c| Json::String(c.to_owned())),
    );
    Json::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hparam_shorthands() {
        assert_eq!(
            hparam("lr", "linspace:0.01:0.1:5").unwrap(),
            json!({"kind": "linspace", "value": "0.01:0.1:5"})
        );
        assert_eq!(
            hparam("x", "choice:[1, 2]").unwrap(),
            json!({"kind": "choice", "value": [1, 2]})
        );
        assert_eq!(
            hparam("x", "choice:a,b").unwrap(),
            json!({"kind": "choice", "value": ["a", "b"]})
        );
        let error = hparam("lr", "linspapce:0:1:2").unwrap_err();
        assert_eq!(error.hint.as_deref(), Some("did you mean `linspace`?"));
        assert_eq!(split("a=b=c"), Some(("a", "b=c")));
        assert_eq!(split("=x"), None);
    }
}
