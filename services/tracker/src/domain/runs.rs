//! Pure run logic: what a create, clone or patch body turns into.
//!
//! A create body's `content` (a Polyaxonfile, YAML or JSON, as `polyaxon run` sends it) is
//! validated with `myelin_spec`; the run takes its name, description, tags and kind from it unless
//! the body says otherwise, and its initial `inputs` from the component's input values overridden by
//! the operation's `params`. Unmanaged SDK runs come without content.

use myelin_contracts::run::{CloneRun, ManagedBy, RunPending};
use myelin_contracts::{CloningKind, CreateRun, PatchRun, Run, RunKind, RunOriginal};
use serde_json::{Map, Value, json};

use crate::error::Error;

/// Everything needed to insert a run (the store adds uuid, project, user, times and status).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub kind: RunKind,
    pub runtime: Option<RunKind>,
    pub content: Option<String>,
    pub raw_content: Option<String>,
    pub inputs: Option<Value>,
    pub outputs: Option<Value>,
    pub meta_info: Value,
    pub settings: Value,
    pub managed_by: ManagedBy,
    pub is_managed: bool,
    pub pending: Option<RunPending>,
    pub readme: Option<String>,
    pub original: Option<RunOriginal>,
}

/// The settings every run gets (`v1RunSettings`); clients read `namespace` to build stream URLs.
pub fn default_settings() -> Value {
    json!({
        "namespace": "myelin",
        "agent": null,
        "queue": null,
        "artifacts_store": null,
        "tensorboard": null,
        "build": null,
        "component": null,
        "models": [],
        "artifacts": [],
    })
}

/// Validates a create body into a [`NewRun`].
pub fn from_create(body: CreateRun) -> Result<NewRun, Error> {
    let content = body.content.filter(|c| !c.trim().is_empty());
    let doc = match &content {
        Some(text) => Some(myelin_spec::parse(text).map_err(Error::InvalidPolyaxonfile)?),
        None => None,
    };
    let run_kind = match doc.as_ref().and_then(|d| d.run_kind) {
        Some(kind) => Some(
            kind.as_str()
                .parse::<RunKind>()
                .map_err(|e| Error::Corrupt(e.to_string()))?,
        ),
        None => None,
    };
    let is_managed = body.is_managed.unwrap_or(true);
    let managed_by = body
        .managed_by
        .unwrap_or(if is_managed { ManagedBy::Agent } else { ManagedBy::User });
    let doc_tags = doc.as_ref().map(|d| d.tags.clone()).filter(|t| !t.is_empty());
    let inputs = match (&doc, body.inputs) {
        (_, Some(inputs)) => Some(object(inputs, "inputs")?),
        (Some(doc), None) => Some(inputs_of(&doc.value)),
        (None, None) => None,
    };
    Ok(NewRun {
        name: body.name.or_else(|| doc.as_ref().and_then(|d| d.name.clone())),
        description: body
            .description
            .or_else(|| doc.as_ref().and_then(|d| d.description.clone())),
        tags: body.tags.or(doc_tags),
        kind: run_kind.unwrap_or_default(),
        runtime: run_kind,
        raw_content: content.clone(),
        content,
        inputs,
        outputs: body.outputs.map(|o| object(o, "outputs")).transpose()?,
        meta_info: body
            .meta_info
            .map(|m| object(m, "meta_info"))
            .transpose()?
            .unwrap_or_else(|| json!({})),
        settings: default_settings(),
        managed_by,
        is_managed,
        pending: body.pending,
        readme: body.readme,
        original: None,
    })
}

/// A new run cloned from `source` (`restart` or `copy`), with the body's overrides.
pub fn clone_of(source: &Run, kind: CloningKind, overrides: CloneRun) -> Result<NewRun, Error> {
    // A clone starts from the submitted file (`raw_content`), not from the compiled operation the
    // scheduler stored in `content`; it is compiled again.
    let submitted = source.raw_content.clone().or_else(|| source.content.clone());
    let content = overrides.content.or_else(|| submitted.clone());
    if let Some(text) = content.as_deref().filter(|_| content != submitted) {
        myelin_spec::parse(text).map_err(Error::InvalidPolyaxonfile)?;
    }
    Ok(NewRun {
        name: overrides.name.or_else(|| source.name.clone()),
        description: overrides.description.or_else(|| source.description.clone()),
        tags: overrides.tags.or_else(|| source.tags.clone()),
        kind: source.kind,
        runtime: source.runtime,
        raw_content: content.clone(),
        content,
        inputs: source.inputs.clone(),
        outputs: None,
        meta_info: json!({}),
        settings: source.settings.clone().unwrap_or_else(default_settings),
        managed_by: source.managed_by.unwrap_or(ManagedBy::Agent),
        is_managed: source.is_managed,
        pending: None,
        readme: source.readme.clone(),
        original: Some(RunOriginal {
            uuid: source.uuid,
            name: source.name.clone(),
            kind,
        }),
    })
}

/// The editable fields of a run, as a patch sees them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Editable {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub readme: Option<String>,
    pub inputs: Option<Value>,
    pub outputs: Option<Value>,
    pub meta_info: Option<Value>,
}

/// Applies a patch. With `merge: true`, `inputs`/`outputs`/`meta_info` are merged key by key into
/// the current objects and `tags` are added to the current ones; otherwise present fields replace.
pub fn patch(current: &mut Editable, body: PatchRun) -> Result<(), Error> {
    let merge = body.merge.unwrap_or(false);
    if let Some(name) = body.name {
        current.name = Some(name);
    }
    if let Some(description) = body.description {
        current.description = Some(description);
    }
    if let Some(readme) = body.readme {
        current.readme = Some(readme);
    }
    if let Some(tags) = body.tags {
        current.tags = Some(if merge {
            union(current.tags.take().unwrap_or_default(), tags)
        } else {
            tags
        });
    }
    for (field, new, slot) in [
        ("inputs", body.inputs, &mut current.inputs),
        ("outputs", body.outputs, &mut current.outputs),
        ("meta_info", body.meta_info, &mut current.meta_info),
    ] {
        let Some(new) = new else { continue };
        let Value::Object(new) = object(new, field)? else {
            continue;
        };
        let mut base = match (merge, slot.take()) {
            (true, Some(Value::Object(old))) => old,
            _ => Map::new(),
        };
        base.extend(new);
        *slot = Some(Value::Object(base));
    }
    Ok(())
}

fn union(mut tags: Vec<String>, more: Vec<String>) -> Vec<String> {
    for tag in more {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// `value` if it is a JSON object (null counts as `{}`), else a 400 naming `field`.
fn object(value: Value, field: &str) -> Result<Value, Error> {
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(json!({})),
        other => Err(Error::bad_field(
            "tracker.invalid_field",
            field,
            format!("`{field}` must be a JSON object, not {other}"),
        )),
    }
}

/// The initial inputs of a Polyaxonfile: each component input's `value`, overridden by the
/// operation's `params.<name>.value` (params with a `ref` are resolved later, by compilation).
pub fn inputs_of(doc: &Value) -> Value {
    let component = if doc.get("kind").and_then(Value::as_str) == Some("component") {
        Some(doc)
    } else {
        doc.get("component")
    };
    let mut inputs = Map::new();
    let declared = component
        .and_then(|c| c.get("inputs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for input in declared {
        if let (Some(name), Some(value)) = (input.get("name").and_then(Value::as_str), input.get("value"))
            && !value.is_null()
        {
            inputs.insert(name.to_owned(), value.clone());
        }
    }
    if let Some(params) = doc.get("params").and_then(Value::as_object) {
        for (name, param) in params {
            if let Some(value) = param.get("value").filter(|_| param.get("ref").is_none()) {
                inputs.insert(name.clone(), value.clone());
            }
        }
    }
    Value::Object(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLI_CONTENT: &str = r#"{"version":1.1,"kind":"operation","params":{"msg":{"value":"override"}},"component":{"version":1.1,"kind":"component","name":"hello","tags":["demo","cli"],"inputs":[{"name":"msg","type":"str","isOptional":true,"value":"hello-from-polyaxon"},{"name":"n","type":"int","isOptional":true,"value":3}],"run":{"kind":"job","container":{"image":"python:3.11-slim"}}}}"#;

    #[test]
    fn create_from_cli_content() {
        let body = CreateRun {
            content: Some(CLI_CONTENT.into()),
            managed_by: Some(ManagedBy::Agent),
            tags: Some(vec!["a".into()]),
            ..CreateRun::default()
        };
        let run = from_create(body).unwrap();
        assert_eq!(run.name.as_deref(), Some("hello"));
        assert_eq!(run.tags, Some(vec!["a".to_string()]), "body tags override the file's");
        assert_eq!(run.kind, RunKind::Job);
        assert_eq!(run.runtime, Some(RunKind::Job));
        assert!(run.is_managed);
        assert_eq!(run.inputs, Some(json!({"msg": "override", "n": 3})));
        assert_eq!(run.content.as_deref(), Some(CLI_CONTENT));
        assert_eq!(run.raw_content.as_deref(), Some(CLI_CONTENT));
    }

    #[test]
    fn create_unmanaged_and_invalid() {
        let body = CreateRun {
            is_managed: Some(false),
            managed_by: Some(ManagedBy::User),
            name: Some("sdk-run".into()),
            ..CreateRun::default()
        };
        let run = from_create(body).unwrap();
        assert_eq!(
            (run.kind, run.runtime, run.content, run.inputs),
            (RunKind::Job, None, None, None)
        );
        let bad = CreateRun {
            content: Some("kind: operation\nrun: [".into()),
            ..CreateRun::default()
        };
        assert!(matches!(from_create(bad), Err(Error::InvalidPolyaxonfile(_))));
        let bad = CreateRun {
            content: Some("kind: nonsense\n".into()),
            ..CreateRun::default()
        };
        let Err(Error::InvalidPolyaxonfile(e)) = from_create(bad) else {
            panic!("expected an invalid file")
        };
        assert_eq!(e.path, "kind");
        let bad = CreateRun {
            inputs: Some(json!([1])),
            ..CreateRun::default()
        };
        assert!(matches!(from_create(bad), Err(Error::BadRequest { .. })));
    }

    #[test]
    fn patch_merges_or_replaces() {
        let mut run = Editable {
            tags: Some(vec!["sdk".into()]),
            inputs: Some(json!({"lr": 0.1})),
            meta_info: Some(json!({"a": 1})),
            ..Editable::default()
        };
        let merge = PatchRun {
            tags: Some(vec!["extra".into(), "sdk".into()]),
            inputs: Some(json!({"batch": 32})),
            outputs: Some(json!({"acc": 0.9})),
            merge: Some(true),
            ..PatchRun::default()
        };
        patch(&mut run, merge).unwrap();
        assert_eq!(run.tags, Some(vec!["sdk".to_string(), "extra".to_string()]));
        assert_eq!(run.inputs, Some(json!({"lr": 0.1, "batch": 32})));
        assert_eq!(run.outputs, Some(json!({"acc": 0.9})));
        let replace = PatchRun {
            tags: Some(vec!["x".into()]),
            inputs: Some(json!({"k": 1})),
            ..PatchRun::default()
        };
        patch(&mut run, replace).unwrap();
        assert_eq!(run.tags, Some(vec!["x".to_string()]));
        assert_eq!(run.inputs, Some(json!({"k": 1})));
        assert_eq!(run.meta_info, Some(json!({"a": 1})), "absent fields stay");
        let bad = PatchRun {
            outputs: Some(json!("nope")),
            ..PatchRun::default()
        };
        assert!(patch(&mut run, bad).is_err());
    }
}
