//! `{{ }}` templating of JSON trees with minijinja: every string holding a template is
//! rendered against the context; a string that is one expression and nothing else
//! (`"{{ ports }}"`) takes the expression's value when it is a list or a mapping, as Polyaxon's
//! parser does (scalars become their text, which number fields read back). Undefined names are errors, and rendering is bounded (fuel), so a
//! hostile template cannot loop forever.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::de::is_template;
use crate::error::{Issue, code};
use crate::model::Json;
use crate::path::Path;

/// Instructions a template may execute before it is stopped.
const FUEL: u64 = 50_000;

/// Renders templates against one context.
pub(crate) struct Renderer {
    env: Environment<'static>,
    context: Value,
}

impl Renderer {
    /// A renderer for `context` (a JSON object of names).
    pub fn new(context: &Json) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(32);
        Self {
            env,
            context: Value::from(minijinja::value::Serde(context)),
        }
    }

    /// Renders one string (`path` is where it sits, for errors).
    pub fn render(&self, text: &str, path: &Path) -> Result<Json, Issue> {
        if !is_template(text) && !text.contains("{%") {
            return Ok(Json::String(text.to_owned()));
        }
        let problem = |error: minijinja::Error| {
            let detail = error.detail().map(|detail| format!(": {detail}")).unwrap_or_default();
            let message = format!("cannot render `{text}`: {}{detail}", error.kind());
            Issue::at(code::INVALID_TEMPLATE, path.clone(), message)
        };
        if let Some(expression) = single_expression(text) {
            let compiled = self.env.compile_expression(expression).map_err(problem)?;
            let value = compiled.eval(self.context.clone()).map_err(problem)?;
            if value.is_undefined() {
                let message = format!("cannot render `{text}`: undefined value");
                return Err(Issue::at(code::INVALID_TEMPLATE, path.clone(), message));
            }
            let json = serde_json::to_value(&value).map_err(|error| {
                Issue::at(
                    code::INVALID_TEMPLATE,
                    path.clone(),
                    format!("cannot render `{text}`: {error}"),
                )
            })?;
            // Lists and mappings keep their type; scalars become text, which number and bool
            // fields read back.
            return Ok(match json {
                Json::Array(_) | Json::Object(_) | Json::String(_) | Json::Null => json,
                _ => Json::String(value.to_string()),
            });
        }
        self.env
            .render_str(text, self.context.clone())
            .map(Json::String)
            .map_err(problem)
    }

    /// Renders every string of `value` in place, collecting the failures.
    pub fn render_tree(&self, value: &mut Json, path: &Path, issues: &mut Vec<Issue>) {
        match value {
            Json::String(text) => match self.render(text, path) {
                Ok(rendered) => *value = rendered,
                Err(issue) => issues.push(issue),
            },
            Json::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    self.render_tree(item, &path.index(index), issues);
                }
            }
            Json::Object(object) => {
                for (key, item) in object.iter_mut() {
                    self.render_tree(item, &path.key(key.clone()), issues);
                }
            }
            _ => {}
        }
    }
}

/// The expression of `"{{ expr }}"` when the string is exactly one expression.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

/// The variables the templates of `value` read, as dotted names (`params.lr.as_arg`), with the
/// path of the string; strings that do not parse are skipped (rendering reports them).
pub(crate) fn variables(value: &Json, path: &Path, found: &mut Vec<(Path, BTreeSet<String>)>) {
    match value {
        Json::String(text) if is_template(text) || text.contains("{%") => {
            let env = Environment::new();
            let names = match single_expression(text) {
                Some(expression) => env
                    .compile_expression(expression)
                    .map(|e| e.undeclared_variables(true))
                    .ok(),
                None => env.template_from_str(text).map(|t| t.undeclared_variables(true)).ok(),
            };
            if let Some(names) = names {
                found.push((path.clone(), names.into_iter().collect()));
            }
        }
        Json::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                variables(item, &path.index(index), found);
            }
        }
        Json::Object(object) => {
            for (key, item) in object {
                variables(item, &path.key(key.clone()), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_strings_native_values_and_errors() {
        let renderer = Renderer::new(&json!({"lr": 0.01, "ports": [8888], "params": {"lr": {"as_arg": "--lr=0.01"}}}));
        let root = Path::root();
        assert_eq!(renderer.render("--lr={{ lr }}", &root), Ok(json!("--lr=0.01")));
        assert_eq!(renderer.render("{{ ports }}", &root), Ok(json!([8888])));
        assert_eq!(renderer.render("{{ params.lr.as_arg }}", &root), Ok(json!("--lr=0.01")));
        assert_eq!(renderer.render("plain", &root), Ok(json!("plain")));
        let error = renderer.render("{{ missing }}", &root).unwrap_err();
        assert_eq!(error.code, code::INVALID_TEMPLATE);
        let error = renderer.render("x {{ missing.x }}", &root).unwrap_err();
        assert!(
            error.message.starts_with("cannot render `x {{ missing.x }}`"),
            "{}",
            error.message
        );
        let looping = renderer.render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            &root,
        );
        assert!(looping.is_err());
    }

    #[test]
    fn lists_variables() {
        let mut found = Vec::new();
        variables(
            &json!({"args": ["{{ params.lr.as_arg }}", "--x={{ x }}"]}),
            &Path::root(),
            &mut found,
        );
        let names: Vec<String> = found.into_iter().flat_map(|(_, names)| names).collect();
        assert_eq!(names, ["params.lr.as_arg", "x"]);
    }
}
