//! Preparing a run: its Polyaxonfile compiled with `myelin_spec` (params, inputs, templates) into
//! what the scheduler stores and dispatches — the compiled operation, the resolved inputs, the run
//! queue, `termination.maxRetries`/`timeout`, and the process a job runs.
//!
//! Any problem is a [`Rejected`] whose message becomes the `failed` condition (reason
//! `SchedulerPrepare`): the validation errors of the file, a required input without a value, a run
//! kind or feature this scheduler cannot run yet.

use std::collections::BTreeMap;

use myelin_contracts::execution::{DEFAULT_RUN_QUEUE, JobProcess};
use myelin_spec::CompileContext;
use serde_json::{Map, Value};

/// What a run needs to be queued and dispatched.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The compiled operation (`kind: compiled_operation`), camelCase JSON.
    pub compiled: Value,
    /// The resolved inputs, `{name: value}`.
    pub inputs: Value,
    /// The run queue (`queue:`, default `default`), without an agent prefix.
    pub queue: String,
    /// `termination.maxRetries` (0 when absent).
    pub max_retries: u32,
    /// `termination.timeout` in seconds.
    pub timeout_secs: Option<u64>,
    pub process: JobProcess,
}

/// Why a run cannot be scheduled; the message is the `failed` condition's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

/// The template context of a run: its uuid, name, project and owner, and its artifacts paths
/// under `artifacts_root`.
pub fn context(
    uuid: &str,
    name: Option<String>,
    owner: &str,
    project: &str,
    artifacts_root: &str,
    created_at: Option<String>,
) -> CompileContext {
    let root = artifacts_root.trim_end_matches('/');
    CompileContext {
        uuid: uuid.to_owned(),
        name,
        project_name: project.to_owned(),
        owner_name: owner.to_owned(),
        run_artifacts_path: format!("{root}/{uuid}"),
        run_outputs_path: format!("{root}/{uuid}/outputs"),
        artifacts_path: root.to_owned(),
        created_at,
        ..CompileContext::default()
    }
}

/// Compiles `content` (the run's Polyaxonfile, operation or component) for `ctx`.
pub fn prepare(content: &str, ctx: &CompileContext) -> Result<Prepared, Rejected> {
    let document = myelin_spec::parse(content).map_err(|e| Rejected(format!("invalid Polyaxonfile: {e}")))?;
    let compiled = myelin_spec::compile(&document, &[], &[], ctx).map_err(|errors| {
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Rejected(all.join("; "))
    })?;
    if !compiled.resolved {
        return Err(Rejected(
            "the operation takes params from a matrix or from other runs, which cannot be scheduled yet".into(),
        ));
    }
    let json =
        myelin_spec::to_json(&compiled).map_err(|e| Rejected(format!("cannot encode the compiled operation: {e}")))?;
    let run_kind = json.pointer("/run/kind").and_then(Value::as_str).unwrap_or("?");
    if run_kind != "job" {
        return Err(Rejected(format!(
            "run kind `{run_kind}` cannot be scheduled yet: only `job` runs are supported"
        )));
    }
    let process = process(json.pointer("/run/container"))?;
    Ok(Prepared {
        inputs: inputs(&json),
        queue: queue(json.get("queue").and_then(Value::as_str))?,
        max_retries: number(&json, "/termination/maxRetries")?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .unwrap_or(0),
        timeout_secs: number(&json, "/termination/timeout")?.filter(|n| *n > 0),
        process,
        compiled: json,
    })
}

/// The job's main container as a process: command, args, plain env values, working dir.
fn process(container: Option<&Value>) -> Result<JobProcess, Rejected> {
    let Some(container) = container.filter(|c| c.is_object()) else {
        return Err(Rejected("run.container is required to run a job".into()));
    };
    let strings = |key: &str| -> Result<Vec<String>, Rejected> {
        match container.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(_) | Value::Bool(_) => Ok(item.to_string()),
                    _ => Err(Rejected(format!("run.container.{key} must be a list of strings"))),
                })
                .collect(),
            Some(_) => Err(Rejected(format!("run.container.{key} must be a list of strings"))),
        }
    };
    let command = strings("command")?;
    if command.is_empty() {
        return Err(Rejected(
            "run.container.command is required: the process runtime has no image entrypoint to fall back on".into(),
        ));
    }
    let mut env = BTreeMap::new();
    for var in container.get("env").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = var.get("name").and_then(Value::as_str) else {
            return Err(Rejected("run.container.env: every variable needs a `name`".into()));
        };
        // `valueFrom` (secrets, config maps, fields) only means something on Kubernetes.
        if let Some(value) = var.get("value").and_then(Value::as_str) {
            env.insert(name.to_owned(), value.to_owned());
        }
    }
    Ok(JobProcess {
        image: container.get("image").and_then(Value::as_str).map(str::to_owned),
        command,
        args: strings("args")?,
        env,
        working_dir: container.get("workingDir").and_then(Value::as_str).map(str::to_owned),
    })
}

/// `{name: value}` of the compiled inputs that have a value.
fn inputs(compiled: &Value) -> Value {
    let mut values = Map::new();
    for io in compiled.get("inputs").and_then(Value::as_array).into_iter().flatten() {
        if let (Some(name), Some(value)) = (io.get("name").and_then(Value::as_str), io.get("value"))
            && !value.is_null()
        {
            values.insert(name.to_owned(), value.clone());
        }
    }
    Value::Object(values)
}

/// The run queue: `agent/queue` keeps the queue part; the name must suit an AMQP queue.
fn queue(queue: Option<&str>) -> Result<String, Rejected> {
    let name = queue
        .map(|q| q.rsplit('/').next().unwrap_or(q).trim())
        .filter(|q| !q.is_empty())
        .unwrap_or(DEFAULT_RUN_QUEUE);
    if name.len() > 200 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(Rejected(format!(
            "queue `{name}` is not a valid queue name (letters, digits, `-`, `_`, `.`)"
        )));
    }
    Ok(name.to_owned())
}

/// A non-negative integer at `pointer` (a number, or a rendered template's numeric string).
fn number(compiled: &Value, pointer: &str) -> Result<Option<u64>, Rejected> {
    let field = pointer.trim_start_matches('/').replace('/', ".");
    match compiled.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| Rejected(format!("{field} must be a non-negative integer, found {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Rejected(format!("{field} must be a non-negative integer, found `{s}`"))),
        Some(other) => Err(Rejected(format!(
            "{field} must be a non-negative integer, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> CompileContext {
        context(
            "0123456789abcdef0123456789abcdef",
            None,
            "default",
            "demo",
            "/data/artifacts/",
            None,
        )
    }

    const JOB: &str = r#"
version: 1.1
kind: component
name: train
inputs:
- {name: lr, type: float, value: 0.01}
- {name: epochs, type: int}
termination: {maxRetries: 2, timeout: 30}
run:
  kind: job
  container:
    image: python:3.12
    command: [python, -c]
    args: ["print({{ epochs }}, {{ lr }})", "{{ globals.run_artifacts_path }}"]
    env: [{name: A, value: "1"}, {name: B, valueFrom: {secretKeyRef: {name: s, key: k}}}]
    workingDir: code
"#;

    fn operation(params: &str, queue: &str) -> String {
        let indented: String = JOB.lines().map(|l| format!("  {l}\n")).collect();
        format!("kind: operation\n{queue}params:\n{params}component:\n{indented}")
    }

    #[test]
    fn a_job_compiles_to_its_process() {
        let prepared = prepare(&operation("  epochs: {value: 3}\n", "queue: agent-1/gpu\n"), &ctx()).unwrap();
        assert_eq!(prepared.compiled["kind"], "compiled_operation");
        assert_eq!(prepared.inputs, json!({"lr": 0.01, "epochs": 3}));
        assert_eq!(prepared.queue, "gpu");
        assert_eq!((prepared.max_retries, prepared.timeout_secs), (2, Some(30)));
        let p = prepared.process;
        assert_eq!(p.command, ["python", "-c"]);
        assert_eq!(
            p.args,
            ["print(3, 0.01)", "/data/artifacts/0123456789abcdef0123456789abcdef"]
        );
        assert_eq!(p.env, BTreeMap::from([("A".to_owned(), "1".to_owned())]));
        assert_eq!(
            (p.image.as_deref(), p.working_dir.as_deref()),
            (Some("python:3.12"), Some("code"))
        );
    }

    #[test]
    fn defaults_and_rejections() {
        let component = JOB.replace("- {name: epochs, type: int}", "- {name: epochs, type: int, value: 1}");
        let prepared = prepare(
            &component.replace("termination: {maxRetries: 2, timeout: 30}\n", ""),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            (prepared.queue.as_str(), prepared.max_retries, prepared.timeout_secs),
            ("default", 0, None)
        );

        let missing = prepare(JOB, &ctx()).unwrap_err();
        assert!(missing.0.contains("epochs"), "names the input: {missing}");
        let invalid = prepare("kind: component\nrun: {kind: jobb}\n", &ctx()).unwrap_err();
        assert!(invalid.0.starts_with("invalid Polyaxonfile"), "{invalid}");
        let service = "kind: component\nrun: {kind: service, container: {image: x, command: [a]}}\n";
        assert!(prepare(service, &ctx()).unwrap_err().0.contains("`service`"));
        let no_command = "kind: component\nrun: {kind: job, container: {image: x}}\n";
        assert!(
            prepare(no_command, &ctx())
                .unwrap_err()
                .0
                .contains("command is required")
        );
        let bad_queue = operation("  epochs: {value: 3}\n", "queue: 'a b'\n");
        assert!(
            prepare(&bad_queue, &ctx())
                .unwrap_err()
                .0
                .contains("not a valid queue name")
        );
    }

    #[test]
    fn numbers_read_numbers_and_numeric_strings() {
        let v = json!({"termination": {"maxRetries": "3", "timeout": 5, "ttl": "x"}});
        assert_eq!(number(&v, "/termination/maxRetries"), Ok(Some(3)));
        assert_eq!(number(&v, "/termination/timeout"), Ok(Some(5)));
        assert_eq!(number(&v, "/termination/none"), Ok(None));
        assert!(
            number(&v, "/termination/ttl")
                .unwrap_err()
                .0
                .contains("termination.ttl")
        );
    }
}
