//! Inputs and outputs of a component (Polyaxon's `V1IO`): each a mapping with a unique `name`
//! and an optional `type`.
//!
//! A type is one of Polyaxon's type names (`int`, `s3`, `artifacts`, ...) or, as in Polyaxon 2,
//! a Python type hint built from them: `List[float]`, `Dict[str, int]`, `Optional[path]`,
//! `int | None`. Values are checked against types when operations are compiled, not here.

use yaml_serde::Value as Yaml;

use crate::error::{Issue, code};
use crate::path::Path;
use crate::validate::common::kind_of;
use crate::validate::fields::{Fields, IO};

/// Polyaxon's type names (`polyaxon.types` plus the names `clipped` maps).
pub const TYPES: &[&str] = &[
    "any",
    "int",
    "float",
    "bool",
    "str",
    "dict",
    "dict_of_dicts",
    "uri",
    "auth",
    "list",
    "gcs",
    "s3",
    "wasb",
    "dockerfile",
    "git",
    "image",
    "event",
    "artifacts",
    "path",
    "metric",
    "metadata",
    "date",
    "datetime",
    "timedelta",
    "file",
    "tensorboard",
    "uuid",
    "email",
];
/// Python generics a type hint may use.
const GENERICS: &[&str] = &[
    "List", "Dict", "Set", "Tuple", "Optional", "Union", "list", "dict", "set", "tuple",
];
/// Names taken by the template context (`IO_NAME_BLACK_LIST`).
const RESERVED_NAMES: &[&str] = &["globals", "params", "connections"];

/// `inputs` or `outputs` of a component, when given; each entry is checked on its own and
/// every problem is recorded in `issues`.
pub(crate) fn validate(component: &Fields<'_>, field: &str, issues: &mut Vec<Issue>) {
    let Some(value) = component.get(field) else {
        return;
    };
    let path = component.path(field);
    let Yaml::Sequence(items) = value else {
        let message = format!("`{field}` must be a list, found {}", kind_of(value));
        issues.push(Issue::invalid(path, message));
        return;
    };
    let mut names: Vec<(String, Path)> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(io) = Fields::read(item, &path.index(index), &IO, issues) else {
            continue;
        };
        let misspelt = io.misspells(&["name"]);
        match name(&io) {
            Ok(name) => {
                if let Some((_, first)) = names.iter().find(|(seen, _)| *seen == name) {
                    let message = format!("`{name}` is declared twice in `{field}` (first at {first})");
                    issues.push(Issue::at(code::CONFLICTING_FIELDS, io.path("name"), message));
                }
                names.push((name, io.path("name")));
            }
            Err(issue) if issue.code == code::MISSING_FIELD && misspelt => {}
            Err(issue) => issues.push(issue),
        }
        match io_type(&io) {
            Ok(io_type) => {
                if let Some(Yaml::Bool(true)) = io.get("isFlag")
                    && io_type.as_deref() != Some("bool")
                {
                    let message = "only an input/output of type `bool` can be a flag";
                    issues.push(Issue::invalid(io.path("isFlag"), message));
                }
            }
            Err(issue) => issues.push(issue),
        }
    }
}

/// The name of an input/output, or what is wrong with it.
fn name(io: &Fields<'_>) -> Result<String, Issue> {
    let path = io.path("name");
    match io.get("name") {
        None => Err(Issue::missing(path, "an input/output needs a `name`")),
        Some(Yaml::String(name)) if name.is_empty() => Err(Issue::invalid(path, "`name` must not be empty")),
        Some(Yaml::String(name)) if RESERVED_NAMES.contains(&name.as_str()) => Err(Issue::invalid(
            path,
            format!(
                "`{name}` is reserved by the template context ({})",
                RESERVED_NAMES.join(", ")
            ),
        )),
        Some(Yaml::String(name)) if name.contains('.') => Err(Issue::invalid(
            path,
            format!("invalid name `{name}`: input/output names cannot contain dots"),
        )),
        Some(Yaml::String(name)) => Ok(name.clone()),
        Some(other) => Err(Issue::invalid(
            path,
            format!("`name` must be a string, found {}", kind_of(other)),
        )),
    }
}

/// The type of an input/output (`None` when not declared), or what is wrong with it.
fn io_type(io: &Fields<'_>) -> Result<Option<String>, Issue> {
    let path = io.path("type");
    match io.get("type") {
        None => Ok(None),
        Some(Yaml::String(text)) => match check_type(text) {
            Ok(()) => Ok(Some(text.trim().to_owned())),
            Err(problem) => Err(Issue::invalid(
                path,
                format!(
                    "invalid type `{text}`: {problem}; use one of {} or a type hint such as `List[float]`",
                    TYPES.join(", ")
                ),
            )),
        },
        Some(other) => Err(Issue::invalid(
            path,
            format!("`type` must be a string, found {}", kind_of(other)),
        )),
    }
}

/// Checks a type or type hint; the error says what is wrong.
pub fn check_type(text: &str) -> Result<(), String> {
    let mut parser = TypeParser {
        rest: text.trim_start(),
    };
    parser.union()?;
    match parser.rest.trim_start() {
        "" => Ok(()),
        rest => Err(format!("unexpected `{rest}`")),
    }
}

/// Recursive descent over `term ('|' term)*`, `term = name ('[' union (',' union)* ']')?`.
struct TypeParser<'a> {
    rest: &'a str,
}

impl TypeParser<'_> {
    fn union(&mut self) -> Result<(), String> {
        self.term()?;
        while self.eat('|') {
            self.term()?;
        }
        Ok(())
    }

    fn term(&mut self) -> Result<(), String> {
        self.rest = self.rest.trim_start();
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        if name.is_empty() {
            return Err("a type name is missing".to_owned());
        }
        if !self.eat('[') {
            let known = TYPES.contains(&name) || GENERICS.contains(&name) || matches!(name, "Any" | "None");
            return if known {
                Ok(())
            } else {
                Err(format!("unknown type `{name}`"))
            };
        }
        if !GENERICS.contains(&name) {
            return Err(format!("`{name}` takes no parameters"));
        }
        self.union()?;
        while self.eat(',') {
            self.union()?;
        }
        if self.eat(']') {
            Ok(())
        } else {
            Err(format!("`{name}[` is not closed"))
        }
    }

    fn eat(&mut self, token: char) -> bool {
        let rest = self.rest.trim_start();
        match rest.strip_prefix(token) {
            Some(after) => {
                self.rest = after;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_polyaxon_types_and_type_hints() {
        for text in [
            "int",
            "s3",
            "dict_of_dicts",
            "List[float]",
            "Dict[str, List[int]]",
            "Optional[path]",
            "int | None",
            " str ",
        ] {
            assert_eq!(check_type(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn rejects_unknown_types_and_broken_hints() {
        assert_eq!(check_type("integer"), Err("unknown type `integer`".to_owned()));
        assert_eq!(check_type("List[int"), Err("`List[` is not closed".to_owned()));
        assert_eq!(check_type("int[str]"), Err("`int` takes no parameters".to_owned()));
        assert_eq!(check_type(""), Err("a type name is missing".to_owned()));
        assert_eq!(check_type("int str"), Err("unexpected `str`".to_owned()));
    }
}
