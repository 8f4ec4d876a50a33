//! Rules of inputs/outputs and params: defaults that match their type and validation, `isOptional:
//! false` with a value, `toInit` on types that cannot initialize, refs (`ops.<name>`, `dag`,
//! `runs.<uuid>`) and their values (`outputs.x`, `inputs.x`, `globals.x`, `artifacts.x`), and
//! params against the component's declarations (`strictParams`, `contextOnly`, types).

use super::Report;
use crate::de::is_template;
use crate::error::code;
use crate::model::{Component, Io, Json, Operation, Param};
use crate::path::Path;
use crate::values;

/// The context sections a ref's value may name.
const CONTEXTS: [&str; 4] = ["inputs", "outputs", "io", "artifacts"];
/// The sections that take a name after them (`outputs.loss`).
const NESTED: [&str; 4] = ["inputs", "outputs", "artifacts", "globals"];
/// Types an input can be turned into an init container for (without a connection).
const INIT_TYPES: [&str; 4] = ["git", "artifacts", "dockerfile", "path"];

/// Inputs and outputs of `component`.
pub(crate) fn check_component(report: &mut Report, component: &Component, path: &Path) {
    for (field, ios) in [("inputs", &component.inputs), ("outputs", &component.outputs)] {
        for (index, io) in ios.iter().flatten().enumerate() {
            check_io(report, io, field == "outputs", &path.key(field).index(index));
        }
    }
}

fn check_io(report: &mut Report, io: &Io, output: bool, path: &Path) {
    let what = if output { "output" } else { "input" };
    if io.is_optional == Some(false) && io.value.is_some() {
        let message = format!("{what} `{}` has a default value but `isOptional: false`", io.name);
        let issue = crate::error::Issue::at(code::INVALID_FIELD, path.key("isOptional"), message)
            .with_hint(Some("remove the value or drop `isOptional: false`".to_owned()));
        report.issues.push(issue);
    }
    if let Some(validation) = &io.validation
        && let Some(pattern) = &validation.regex
        && let Err(error) = regex::Regex::new(pattern)
    {
        let message = format!("invalid regex `{pattern}`: {}", first_line(&error.to_string()));
        report.invalid(path.key("validation").key("regex"), message);
    }
    if io.to_init == Some(true) && io.connection.is_none() && !INIT_TYPES.contains(&io.type_name()) {
        let message = format!(
            "{what} `{}` of type `{}` cannot be turned into an init container: use a type among {} or a connection",
            io.name,
            io.type_name(),
            INIT_TYPES.join(", ")
        );
        report.invalid(path.key("toInit"), message);
    }
    if let Some(name) = &io.to_env
        && !is_env_name(name)
    {
        report.invalid(
            path.key("toEnv"),
            format!("`{name}` is not a valid environment variable name"),
        );
    }
    let Some(value) = io.value.as_ref().filter(|value| !value.is_null()) else {
        return;
    };
    match typed(io, value, false) {
        Ok(typed) => {
            if let Some(rules) = &io.validation
                && let Err(problem) = values::validate(rules, &typed)
            {
                report.invalid(path.key("value"), format!("default of {what} `{}`: {problem}", io.name));
            }
        }
        Err(problem) => report.invalid(
            path.key("value"),
            format!(
                "default of {what} `{}` is not a valid `{}`: {problem}",
                io.name,
                io.type_name()
            ),
        ),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}

/// `value` checked against the io's type (a list of it with `isList`).
pub(crate) fn typed(io: &Io, value: &Json, text: bool) -> Result<Json, String> {
    let type_name = io.type_name();
    if io.is_list == Some(true) && !io.is_list_type() {
        return values::coerce(&format!("List[{type_name}]"), value, text);
    }
    values::coerce(type_name, value, text)
}

/// An environment variable name.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The shape of every param of `operation`.
pub(crate) fn check_params(report: &mut Report, operation: &Operation, path: &Path) {
    for (name, param) in operation.params.iter().flatten() {
        check_param(report, name, param, &path.key("params").key(name.clone()));
    }
}

/// The shape of one param: its ref and the value a ref needs.
pub(crate) fn check_param(report: &mut Report, name: &str, param: &Param, path: &Path) {
    if let Some(env) = &param.to_env
        && !is_env_name(env)
    {
        report.invalid(
            path.key("toEnv"),
            format!("`{env}` is not a valid environment variable name"),
        );
    }
    let Some(reference) = &param.r#ref else {
        return;
    };
    if let Err(problem) = check_ref(reference) {
        report.push(code::INVALID_REF, path.key("ref"), format!("param `{name}`: {problem}"));
        return;
    }
    let Some(Json::String(value)) = &param.value else {
        let message = format!("param `{name}` has a `ref`, so its `value` must be a string such as `outputs.loss`");
        report.invalid(path.key("value"), message);
        return;
    };
    if let Err(problem) = check_ref_value(reference, value) {
        report.invalid(path.key("value"), format!("param `{name}`: {problem}"));
    }
}

/// `dag`, `ops.<name>` or `runs.<uuid>`.
pub(crate) fn check_ref(reference: &str) -> Result<(), String> {
    let parts: Vec<&str> = reference.split('.').collect();
    match parts[..] {
        ["dag"] => Ok(()),
        ["ops", op] if !op.is_empty() => Ok(()),
        ["runs", uuid] if is_uuid(uuid) => Ok(()),
        ["runs", uuid] => Err(format!("`{uuid}` is not a run uuid")),
        _ => Err(format!(
            "invalid ref `{reference}`: expected `ops.<operation>`, `dag` or `runs.<uuid>`"
        )),
    }
}

fn is_uuid(text: &str) -> bool {
    values::coerce("uuid", &Json::String(text.to_owned()), false).is_ok()
}

/// The value of a param with a ref: `outputs.x`, `inputs.x`, `globals.x`, `artifacts.x`,
/// `artifacts.lineage.x`, or a whole section (`outputs`), possibly inside `{{ }}`.
pub(crate) fn check_ref_value(reference: &str, value: &str) -> Result<(), String> {
    let inner = if is_template(value) {
        value.trim().trim_start_matches("{{").trim_end_matches("}}").trim()
    } else {
        value.trim()
    };
    let parts: Vec<&str> = inner.split('.').map(str::trim).collect();
    match parts[..] {
        [section] if !CONTEXTS.contains(&section) => Err(format!(
            "invalid value `{value}`: expected one of {} (or `<section>.<name>`)",
            CONTEXTS.join(", ")
        )),
        ["outputs"] if reference == "dag" => Err(format!(
            "invalid value `{value}`: the outputs of the current dag are not known yet"
        )),
        [_] => Ok(()),
        [section, _] if !NESTED.contains(&section) => Err(format!(
            "invalid value `{value}`: `{section}` must be one of {}",
            NESTED.join(", ")
        )),
        [_, _] => Ok(()),
        ["artifacts", _, _] => Ok(()),
        _ => Err(format!(
            "invalid value `{value}`: expected `<section>.<name>` such as `outputs.loss`"
        )),
    }
}

/// The params of `operation` against the inputs/outputs of its inline `component`; a param
/// with a part left out as broken is not checked.
pub(crate) fn check_params_against(report: &mut Report, operation: &Operation, component: &Component, path: &Path) {
    let strict = operation.strict_params == Some(true) || component.strict_params == Some(true);
    for (name, param) in operation.params.iter().flatten() {
        let param_path = path.key("params").key(name.clone());
        if !report.skipped.intact(std::slice::from_ref(&param_path)) {
            continue;
        }
        let Some(io) = component.io().find(|io| io.name == *name) else {
            let declared: Vec<&str> = component.io().map(|io| io.name.as_str()).collect();
            let refused = param.context_only == Some(false) || (strict && param.context_only != Some(true));
            if refused {
                let message = format!("param `{name}` matches no input or output of the component");
                let hint = crate::validate::fields::nearest(name, declared.iter().copied())
                    .map(|near| format!("did you mean `{near}`?"))
                    .or_else(|| Some("declare it, or set `contextOnly: true`".to_owned()));
                let issue = crate::error::Issue::at_key(code::UNKNOWN_PARAM, param_path, message).with_hint(hint);
                report.issues.push(issue);
            }
            continue;
        };
        if param.r#ref.is_some() {
            continue;
        }
        let Some(value) = param.value.as_ref().filter(|value| !value.is_null()) else {
            continue;
        };
        match typed(io, value, false) {
            Ok(typed) => {
                if let Some(rules) = &io.validation
                    && let Err(problem) = values::validate(rules, &typed)
                {
                    report.push(
                        code::INVALID_PARAM,
                        param_path.key("value"),
                        format!("param `{name}`: {problem}"),
                    );
                }
            }
            Err(problem) => report.push(
                code::INVALID_PARAM,
                param_path.key("value"),
                format!("param `{name}` is not a valid `{}`: {problem}", io.type_name()),
            ),
        }
    }
}
