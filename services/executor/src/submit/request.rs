//! What a submission task was asked (pure: no IO): the kwargs of `myelin.submit` /
//! `myelin.status` read into [`SubmitRequest`] / [`StatusRequest`], and the operation to send
//! ([`operation`]): the Polyaxonfile with the params set, validated by `myelin_spec`.

use std::fmt;
use std::str::FromStr;

use myelin_spec::DocKind;
use serde_json::{Map, Value, json};

use super::error::SubmitError;

/// A project, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef {
    pub owner: String,
    pub name: String,
}

impl FromStr for ProjectRef {
    type Err = SubmitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => Ok(ProjectRef {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(SubmitError::InvalidRequest(format!(
                "`project` must be `owner/name`, got `{s}`"
            ))),
        }
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Where the Polyaxonfile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Given inline (`content`).
    Content(String),
    /// A configured component (`component`, or the task's own name).
    Component(String),
}

/// A `myelin.submit` call.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitRequest {
    /// `None`: the executor's `celery_project`.
    pub project: Option<ProjectRef>,
    pub source: Source,
    pub params: Map<String, Value>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    /// `false`: return `{uuid, project, status}` once the run is created, without waiting.
    pub wait: bool,
}

/// A `myelin.status` call.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRequest {
    pub project: Option<ProjectRef>,
    pub uuid: String,
}

/// The kwargs `myelin.submit` takes.
const SUBMIT_KWARGS: &[&str] = &[
    "project",
    "content",
    "component",
    "params",
    "name",
    "description",
    "tags",
    "wait",
];

/// Reads `myelin.submit`'s arguments (keywords only).
pub fn submit_request(args: &[Value], kwargs: &Map<String, Value>) -> Result<SubmitRequest, SubmitError> {
    keywords_only("myelin.submit", args)?;
    if let Some(unknown) = kwargs.keys().find(|k| !SUBMIT_KWARGS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "myelin.submit got an unexpected keyword argument `{unknown}` (it takes {}; params go under `params`)",
            SUBMIT_KWARGS.join(", ")
        )));
    }
    let source = match (string(kwargs, "content")?, string(kwargs, "component")?) {
        (Some(content), None) => Source::Content(content),
        (None, Some(component)) => Source::Component(component),
        (Some(_), Some(_)) => return Err(invalid("give either `content` or `component`, not both".into())),
        (None, None) => {
            return Err(invalid(
                "myelin.submit needs `content` (a Polyaxonfile) or `component` (a configured name)".into(),
            ));
        }
    };
    let params = match kwargs.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params.clone(),
        Some(other) => return Err(invalid(format!("`params` must be a mapping, got {other}"))),
    };
    let tags = match kwargs.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("`tags` must be a list of strings".into()))?,
        ),
        Some(_) => return Err(invalid("`tags` must be a list of strings".into())),
    };
    let wait = match kwargs.get("wait") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(wait)) => *wait,
        Some(other) => return Err(invalid(format!("`wait` must be a boolean, got {other}"))),
    };
    Ok(SubmitRequest {
        project: project(kwargs)?,
        source,
        params,
        name: string(kwargs, "name")?,
        description: string(kwargs, "description")?,
        tags,
        wait,
    })
}

/// Reads a component task's arguments: every kwarg is a param.
pub fn component_request(
    task: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<SubmitRequest, SubmitError> {
    keywords_only(task, args)?;
    Ok(SubmitRequest {
        project: None,
        source: Source::Component(task.to_owned()),
        params: kwargs.clone(),
        name: None,
        description: None,
        tags: None,
        wait: true,
    })
}

/// Reads `myelin.status`'s arguments: `uuid` (or one positional uuid) and an optional `project`.
pub fn status_request(args: &[Value], kwargs: &Map<String, Value>) -> Result<StatusRequest, SubmitError> {
    let uuid = match (string(kwargs, "uuid")?, args) {
        (Some(uuid), []) => uuid,
        (None, [Value::String(uuid)]) => uuid.clone(),
        _ => {
            return Err(invalid(
                "myelin.status needs the run's `uuid` (and its `project`)".into(),
            ));
        }
    };
    if let Some(unknown) = kwargs.keys().find(|k| !["uuid", "project"].contains(&k.as_str())) {
        return Err(invalid(format!(
            "myelin.status got an unexpected keyword argument `{unknown}`"
        )));
    }
    Ok(StatusRequest {
        project: project(kwargs)?,
        uuid,
    })
}

/// The content to submit: `content` unchanged without params; otherwise an operation with
/// `params.<name> = {value: ...}` for each param (over the operation's own params), a component
/// being wrapped into an operation that inlines it (as `myelin run -P` does). Both the given
/// Polyaxonfile and the result are validated; an error names the field path and line.
pub fn operation(content: &str, params: &Map<String, Value>) -> Result<String, SubmitError> {
    let doc = myelin_spec::parse(content).map_err(|e| SubmitError::InvalidPolyaxonfile(e.to_string()))?;
    if params.is_empty() {
        return Ok(content.to_owned());
    }
    let mut op = match doc.kind {
        DocKind::Operation => doc.value,
        DocKind::Component => json!({ "version": 1.1, "kind": "operation", "component": doc.value }),
    };
    let fields = op
        .as_object_mut()
        .ok_or_else(|| SubmitError::InvalidPolyaxonfile("the Polyaxonfile is not a mapping".into()))?;
    let entry = fields.entry("params").or_insert_with(|| Value::Object(Map::new()));
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    let existing = entry
        .as_object_mut()
        .ok_or_else(|| SubmitError::InvalidPolyaxonfile("params: must be a mapping".into()))?;
    for (name, value) in params {
        existing.insert(name.clone(), json!({ "value": value }));
    }
    let text = op.to_string();
    myelin_spec::parse(&text).map_err(|e| SubmitError::InvalidPolyaxonfile(format!("with the params applied, {e}")))?;
    Ok(text)
}

fn keywords_only(task: &str, args: &[Value]) -> Result<(), SubmitError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "{task} takes keyword arguments only, got {} positional",
            args.len()
        )))
    }
}

fn project(kwargs: &Map<String, Value>) -> Result<Option<ProjectRef>, SubmitError> {
    string(kwargs, "project")?.map(|p| p.parse()).transpose()
}

fn string(kwargs: &Map<String, Value>, key: &str) -> Result<Option<String>, SubmitError> {
    match kwargs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!("`{key}` must be a string, got {other}"))),
    }
}

fn invalid(message: String) -> SubmitError {
    SubmitError::InvalidRequest(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = "version: 1.1\nkind: component\ninputs: [{name: lr, type: float}]\nrun:\n  kind: job\n  container: {image: x, command: [echo, '{{ lr }}']}\n";

    fn kwargs(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn submit_kwargs() {
        let req = submit_request(
            &[],
            &kwargs(json!({"project": "acme/demo", "content": COMPONENT, "params": {"lr": 0.1}, "tags": ["a"]})),
        )
        .unwrap();
        assert_eq!(req.project.unwrap().to_string(), "acme/demo");
        assert_eq!(req.source, Source::Content(COMPONENT.into()));
        assert_eq!(req.params["lr"], 0.1);
        assert_eq!(req.tags, Some(vec!["a".into()]));
        assert!(req.wait);

        let req = submit_request(&[], &kwargs(json!({"component": "train", "wait": false}))).unwrap();
        assert_eq!(
            (req.source, req.project, req.wait),
            (Source::Component("train".into()), None, false)
        );

        for bad in [
            json!({}),
            json!({"content": "x", "component": "y"}),
            json!({"content": "x", "lr": 0.1}),
            json!({"content": "x", "params": [1]}),
            json!({"content": "x", "project": "nope"}),
            json!({"content": 3}),
        ] {
            let err = submit_request(&[], &kwargs(bad.clone())).unwrap_err();
            assert!(matches!(err, SubmitError::InvalidRequest(_)), "{bad}: {err:?}");
        }
        assert!(submit_request(&[json!(1)], &kwargs(json!({"content": "x"}))).is_err());
    }

    #[test]
    fn status_kwargs() {
        let req = status_request(&[], &kwargs(json!({"uuid": "abc", "project": "a/b"}))).unwrap();
        assert_eq!((req.uuid.as_str(), req.project.unwrap().name.as_str()), ("abc", "b"));
        let req = status_request(&[json!("abc")], &Map::new()).unwrap();
        assert_eq!(req.uuid, "abc");
        assert!(status_request(&[], &Map::new()).is_err());
    }

    #[test]
    fn params_wrap_a_component_and_override_an_operation() {
        assert_eq!(operation(COMPONENT, &Map::new()).unwrap(), COMPONENT);
        let op: Value = serde_json::from_str(&operation(COMPONENT, &kwargs(json!({"lr": 0.5}))).unwrap()).unwrap();
        assert_eq!(op["kind"], "operation");
        assert_eq!(op["params"]["lr"]["value"], 0.5);
        assert_eq!(op["component"]["inputs"][0]["name"], "lr");

        let given = op.to_string();
        let op: Value = serde_json::from_str(&operation(&given, &kwargs(json!({"lr": 0.9}))).unwrap()).unwrap();
        assert_eq!(op["params"]["lr"]["value"], 0.9);
    }

    #[test]
    fn validation_errors_name_the_field() {
        let bad = "version: 1.1\nkind: component\nrun:\n  kind: jobb\n";
        let err = operation(bad, &Map::new()).unwrap_err();
        assert!(
            matches!(&err, SubmitError::InvalidPolyaxonfile(m) if m.contains("run.kind")),
            "{err}"
        );
    }
}
