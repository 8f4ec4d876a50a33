//! `myelin run -f FILE -p PROJECT [-P k=v]... [-w] [-l]`: submits a Polyaxonfile as a new run.
//!
//! The file and the params are checked locally first (an unknown `-P` name or a bad value stops
//! here, before anything is stored), then sent as Polyaxon's CLI sends them: an operation, as a
//! JSON string in `content`, with the params under `params` (a component is wrapped into an
//! operation that inlines it). `-w` watches the status, `-l` follows the log; with either, the
//! exit code says whether the run succeeded.

use std::path::Path;

use myelin_contracts::{CreateRun, ManagedBy};
use serde_json::{Map, Value, json};

use crate::args::{Conn, RunArgs};
use crate::error::Error;
use crate::output;

/// Runs `myelin run`.
pub async fn run(conn: &Conn, args: RunArgs) -> Result<(), Error> {
    let client = super::client(conn)?;
    let raw = read(&args.file)?;
    let params = args
        .params
        .iter()
        .map(|pair| {
            myelin_spec::split_param(pair).ok_or_else(|| Error::Usage(format!("`-P {pair}` is not `name=value`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let report = myelin_spec::check(&[(args.file.display().to_string(), raw.clone())], &params, &[], false);
    if !report.ok {
        output::line(report.to_string().trim_end())?;
        return Err(Error::Invalid(format!(
            "{} error(s); nothing was submitted",
            report.errors.len()
        )));
    }
    let content = if params.is_empty() {
        raw
    } else {
        with_params(&raw, &params)?
    };
    let body = CreateRun {
        content: Some(content),
        managed_by: Some(ManagedBy::Agent),
        is_managed: Some(true),
        name: args.name,
        description: args.description,
        tags: (!args.tags.is_empty()).then_some(args.tags),
        ..CreateRun::default()
    };
    let project = &args.project;
    let run = client.create_run(&project.owner, &project.name, &body).await?;
    if args.json {
        output::json(&run)?;
    } else {
        output::line(&format!("Run `{}` was created in `{project}`.", run.uuid))?;
        if !args.watch && !args.log {
            output::line(&super::ops::show(&run, project).to_string())?;
        }
    }
    super::follow::after_submit(&client, project, &run.uuid, args.watch, args.log).await
}

/// The operation to send: the file's operation with `params` set, or an operation inlining the
/// file's component.
fn with_params(raw: &str, params: &[(String, String)]) -> Result<String, Error> {
    let document: Value = yaml_serde::from_str(raw).map_err(|e| Error::Usage(format!("cannot read the file: {e}")))?;
    let mut operation = match document.get("kind").and_then(Value::as_str) {
        Some("operation") => document,
        _ => json!({ "version": 1.1, "kind": "operation", "component": document }),
    };
    let Some(fields) = operation.as_object_mut() else {
        return Err(Error::Usage("the Polyaxonfile is not a mapping".into()));
    };
    let entry = fields.entry("params").or_insert_with(|| Value::Object(Map::new()));
    let Some(existing) = entry.as_object_mut() else {
        return Err(Error::Usage("`params` in the file is not a mapping".into()));
    };
    for (name, value) in params {
        existing.insert(name.clone(), json!({ "value": typed(value) }));
    }
    serde_json::to_string(&operation).map_err(|e| Error::Usage(format!("cannot encode the operation: {e}")))
}

/// `-P` values as YAML reads them (numbers, booleans, lists stay typed; the rest is a string).
fn typed(value: &str) -> Value {
    yaml_serde::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_owned()))
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|error| Error::Usage(format!("cannot read Polyaxonfile `{}`: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_wrapped_with_typed_params() {
        let raw = "version: 1.1\nkind: component\ninputs: [{name: lr, type: float}]\nrun: {kind: job, container: {image: x, command: [echo]}}\n";
        let op: Value = serde_json::from_str(&with_params(raw, &[("lr".into(), "0.5".into())]).unwrap()).unwrap();
        assert_eq!(op["kind"], "operation");
        assert_eq!(op["params"]["lr"]["value"], 0.5);
        assert_eq!(op["component"]["kind"], "component");
        let check = myelin_spec::parse(&op.to_string());
        assert!(check.is_ok(), "{check:?}");
    }
}
