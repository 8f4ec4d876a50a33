//! The fields each section accepts (checked against Polyaxon's schemas: `BaseComponent`,
//! `V1Component`, `BaseOp`, `V1Operation`, `V1IO`, `V1Param`, and the `v1Component` /
//! `v1Operation` definitions of Polyaxon's API), and [`Fields`]: a mapping read against such a
//! [`Schema`], accepting the snake_case spelling of camelCase names as Polyaxon does, and
//! rejecting unknown keys with a "did you mean" hint.

use yaml_serde::Value as Yaml;

use crate::convert::scalar_key;
use crate::error::{Issue, code};
use crate::path::Path;

/// Fields shared by components and operations (`BaseComponent`).
const BASE: &[&str] = &[
    "version",
    "kind",
    "name",
    "description",
    "tags",
    "presets",
    "strictParams",
    "queue",
    "namespace",
    "cache",
    "termination",
    "plugins",
    "build",
    "hooks",
    "isApproved",
    "cost",
    "mount",
];
/// Fields only a component has (`V1Component`).
const COMPONENT_ONLY: &[&str] = &["inputs", "outputs", "run", "template"];
/// Fields only an operation has (`BaseOp` + `V1Operation`).
const OPERATION_ONLY: &[&str] = &[
    "schedule",
    "events",
    "matrix",
    "joins",
    "dependencies",
    "trigger",
    "conditions",
    "skipOnUpstreamSkip",
    "params",
    "runPatch",
    "patchStrategy",
    "isPreset",
    "template",
    "hubRef",
    "dagRef",
    "urlRef",
    "pathRef",
    "component",
];

/// What a section is called in messages, which fields it has, and which other section owns
/// fields users often misplace.
pub(crate) struct Schema {
    pub section: &'static str,
    groups: &'static [&'static [&'static str]],
    elsewhere: Option<(&'static str, &'static [&'static str])>,
}

/// A component (`kind: component`, inline `component:`, a dag's `components[]`).
pub(crate) const COMPONENT: Schema = Schema {
    section: "a component",
    groups: &[BASE, COMPONENT_ONLY],
    elsewhere: Some(("an operation", OPERATION_ONLY)),
};
/// An operation (`kind: operation`, a dag's `operations[]`).
pub(crate) const OPERATION: Schema = Schema {
    section: "an operation",
    groups: &[BASE, OPERATION_ONLY],
    elsewhere: Some(("a component", COMPONENT_ONLY)),
};
/// An entry of `inputs`/`outputs` (`V1IO`).
pub(crate) const IO: Schema = Schema {
    section: "an input/output",
    groups: &[&[
        "name",
        "description",
        "type",
        "value",
        "isOptional",
        "isList",
        "isFlag",
        "argFormat",
        "connection",
        "toInit",
        "toEnv",
        "validation",
        "delayValidation",
        "options",
    ]],
    elsewhere: None,
};
/// A value of `params` (`V1Param`).
pub(crate) const PARAM: Schema = Schema {
    section: "a param",
    groups: &[&["value", "ref", "connection", "toInit", "toEnv", "contextOnly"]],
    elsewhere: None,
};

impl Schema {
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.groups.iter().flat_map(|group| group.iter().copied())
    }

    /// The canonical (camelCase) name `key` spells, if it is one of this section's fields.
    fn canonical(&self, key: &str) -> Option<&'static str> {
        let camel = snake_to_camel(key);
        self.names()
            .find(|name| *name == key || (key.contains('_') && *name == camel))
    }

    /// The message and hint for an unknown `key`: where it belongs, or the nearest known name.
    fn unknown(&self, key: &str) -> (String, Option<String>) {
        if let Some((owner, names)) = self.elsewhere {
            let camel = snake_to_camel(key);
            if let Some(name) = names.iter().find(|name| **name == key || **name == camel) {
                return (
                    format!("`{key}` is not a field of {}", self.section),
                    Some(format!("`{name}` belongs to {owner}")),
                );
            }
        }
        let names: Vec<&str> = self.names().collect();
        (
            format!("unknown field `{key}` in {}", self.section),
            suggest(key, &names),
        )
    }
}

/// The candidate closest to `word` (case-insensitive edit distance of at most 2, and less than
/// the candidate's length), first one on ties; else the first candidate that contains `word`
/// or that `word` contains (for words of 4 letters or more: `merge` → `post_merge`).
pub(crate) fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let word = word.to_lowercase();
    let candidates: Vec<&'c str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|candidate| (distance(&word, &candidate.to_lowercase()), *candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance < candidate.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate);
    close.or_else(|| {
        candidates.into_iter().find(|candidate| {
            let candidate = candidate.to_lowercase();
            (word.len() >= 4 && candidate.contains(&word)) || (candidate.len() >= 4 && word.contains(&candidate))
        })
    })
}

/// Keys people write for a field, and the field.
const MISTAKES: [(&str, &str); 20] = [
    ("greater", "gt"),
    ("less", "lt"),
    ("min", "ge"),
    ("max", "le"),
    ("minimum", "ge"),
    ("maximum", "le"),
    ("pattern", "regex"),
    ("choices", "options"),
    ("ops", "operations"),
    ("op", "operations"),
    ("steps", "operations"),
    ("tasks", "operations"),
    ("deps", "dependencies"),
    ("dependsOn", "dependencies"),
    ("parameters", "params"),
    ("param", "params"),
    ("input", "inputs"),
    ("output", "outputs"),
    ("hyperparams", "params"),
    ("environments", "environment"),
];
/// Container fields people put directly under `run`.
const CONTAINER_FIELDS: [&str; 8] = [
    "image",
    "command",
    "args",
    "env",
    "resources",
    "volumeMounts",
    "workingDir",
    "imagePullPolicy",
];
/// Fields of one run kind, for the other kinds.
const RUN_FIELDS: [(&str, &str); 14] = [
    ("ports", "service"),
    ("rewritePath", "service"),
    ("isExternal", "service"),
    ("operations", "dag"),
    ("components", "dag"),
    ("concurrency", "dag"),
    ("chief", "tfjob"),
    ("ps", "tfjob"),
    ("evaluator", "tfjob"),
    ("master", "pytorchjob"),
    ("launcher", "mpijob"),
    ("head", "raycluster"),
    ("workers", "raycluster"),
    ("scheduler", "daskcluster"),
];

/// A hint for an unknown `key` of a section with `fields`: a known mistake, the nearest
/// field, or where the field belongs.
pub(crate) fn suggest(key: &str, fields: &[&str]) -> Option<String> {
    let camel = snake_to_camel(key);
    if let Some(field) = misspelling(key, fields) {
        return Some(format!("did you mean `{field}`?"));
    }
    if fields.contains(&"container") && CONTAINER_FIELDS.contains(&camel.as_str()) {
        return Some(format!("`{camel}` goes under `container`"));
    }
    let is_run = ["container", "operations", "worker", "head"]
        .iter()
        .any(|field| fields.contains(field));
    RUN_FIELDS
        .iter()
        .find(|(field, _)| is_run && *field == camel)
        .map(|(field, kind)| format!("`{field}` is a field of a `{kind}` run"))
}

/// The field of `fields` that the unknown `key` may be a misspelling of: a known mistake
/// (`ops` for `operations`) or the nearest name.
pub(crate) fn misspelling<'f>(key: &str, fields: &[&'f str]) -> Option<&'f str> {
    let camel = snake_to_camel(key);
    MISTAKES
        .iter()
        .find_map(|(mistake, field)| {
            (*mistake == key || *mistake == camel)
                .then(|| fields.iter().copied().find(|known| known == field))
                .flatten()
        })
        .or_else(|| nearest(&camel, fields.iter().copied()))
}

/// The entries of one mapping, by canonical field name.
pub(crate) struct Fields<'a> {
    path: Path,
    entries: Vec<(&'static str, String, &'a Yaml)>,
    /// The keys left out as unknown, as written.
    unknown: Vec<String>,
}

impl<'a> Fields<'a> {
    /// Reads `value` (at `path`) as a section described by `schema`. Unknown and repeated keys
    /// are recorded in `issues` and left out; `None` (recorded too) when `value` is not a mapping.
    pub fn read(value: &'a Yaml, path: &Path, schema: &Schema, issues: &mut Vec<Issue>) -> Option<Self> {
        let Yaml::Mapping(mapping) = value else {
            issues.push(Issue::invalid(
                path.clone(),
                format!("{} must be a mapping", schema.section),
            ));
            return None;
        };
        let mut entries: Vec<(&'static str, String, &'a Yaml)> = Vec::with_capacity(mapping.len());
        let mut unknown = Vec::new();
        for (key, item) in mapping {
            let key = scalar_key(key).unwrap_or_else(|| "?".to_owned());
            let Some(name) = schema.canonical(&key) else {
                let (message, hint) = schema.unknown(&key);
                issues.push(Issue::at_key(code::UNKNOWN_FIELD, path.key(key.clone()), message).with_hint(hint));
                unknown.push(key);
                continue;
            };
            if let Some((_, first, _)) = entries.iter().find(|(known, _, _)| *known == name) {
                let message = format!("`{key}` repeats `{first}`: give `{name}` once");
                issues.push(Issue::at_key(code::CONFLICTING_FIELDS, path.key(key), message));
                continue;
            }
            entries.push((name, key, item));
        }
        Some(Self {
            path: path.clone(),
            entries,
            unknown,
        })
    }

    /// Whether an unknown key looks like a misspelling of one of `names` (`rnu` for `run`):
    /// then a missing `names` is that mistake, already reported, not a second error.
    pub fn misspells(&self, names: &[&str]) -> bool {
        self.unknown.iter().any(|key| misspelling(key, names).is_some())
    }

    /// The value of field `name`; `None` when absent or null (Polyaxon's fields are optional
    /// and nullable).
    pub fn get(&self, name: &str) -> Option<&'a Yaml> {
        self.entries
            .iter()
            .find(|(known, _, value)| *known == name && !value.is_null())
            .map(|(_, _, value)| *value)
    }

    /// Whether field `name` is written at all, even as null (`{value: null}` is a value).
    pub fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|(known, _, _)| *known == name)
    }

    /// The path of field `name`, spelled as written (or canonically when absent).
    pub fn path(&self, name: &str) -> Path {
        match self.entries.iter().find(|(known, _, _)| *known == name) {
            Some((_, key, _)) => self.path.key(key.clone()),
            None => self.path.key(name),
        }
    }
}

/// `skip_on_upstream_skip` → `skipOnUpstreamSkip`.
pub(crate) fn snake_to_camel(key: &str) -> String {
    let mut camel = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match c {
            '_' if !camel.is_empty() => upper = true,
            c if upper => {
                camel.extend(c.to_uppercase());
                upper = false;
            }
            c => camel.push(c),
        }
    }
    camel
}

/// Levenshtein distance between two strings, by chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_and_distance() {
        assert_eq!(snake_to_camel("skip_on_upstream_skip"), "skipOnUpstreamSkip");
        assert_eq!(snake_to_camel("hubRef"), "hubRef");
        assert_eq!(distance("tgas", "tags"), 2);
        assert_eq!(distance("inptus", "inputs"), 2);
        assert_eq!(distance("", "run"), 3);
    }

    #[test]
    fn reads_known_fields_in_both_spellings() {
        let value: Yaml = yaml_serde::from_str("hub_ref: a\nname: x\ndescription: null\n").unwrap();
        let mut issues = Vec::new();
        let fields = Fields::read(&value, &Path::root(), &OPERATION, &mut issues).unwrap();
        assert!(issues.is_empty());
        assert!(fields.get("hubRef").is_some());
        assert_eq!(fields.path("hubRef").to_string(), "hub_ref");
        assert!(fields.get("description").is_none());
        assert_eq!(fields.path("pathRef").to_string(), "pathRef");
    }

    #[test]
    fn explains_unknown_and_repeated_fields() {
        let message = |source: &str, schema: &Schema| {
            let value: Yaml = yaml_serde::from_str(source).unwrap();
            let mut issues = Vec::new();
            Fields::read(&value, &Path::root(), schema, &mut issues);
            issues
                .into_iter()
                .next()
                .map(|issue| (issue.code, issue.message, issue.hint))
        };
        let (code, text, hint) = message("inptus: []\n", &COMPONENT).unwrap();
        assert_eq!(
            (code, text.as_str(), hint.as_deref()),
            (
                code::UNKNOWN_FIELD,
                "unknown field `inptus` in a component",
                Some("did you mean `inputs`?")
            )
        );
        let (_, text, hint) = message("params: {}\n", &COMPONENT).unwrap();
        assert_eq!(text, "`params` is not a field of a component");
        assert_eq!(hint.as_deref(), Some("`params` belongs to an operation"));
        let (_, text, hint) = message("zzzzzz: 1\n", &OPERATION).unwrap();
        assert_eq!((text.as_str(), hint), ("unknown field `zzzzzz` in an operation", None));
        let (code, _, _) = message("hubRef: a\nhub_ref: b\n", &OPERATION).unwrap();
        assert_eq!(code, code::CONFLICTING_FIELDS);
    }
}
