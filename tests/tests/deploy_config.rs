#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The deployment files set only settings that exist.
//!
//! Every `MYELIN_<SVC>__<KEY>` variable given to a service in `deploy/compose/compose.yaml` and in the
//! manifests of `deploy/k8s/` (literal values, `valueFrom` ConfigMap/Secret keys, `envFrom`) is handed to
//! that service's binary with `--dump-config`; the run must exit 0 and the dumped TOML must hold the key
//! path (`telemetry.format` for `MYELIN_TRACKER__TELEMETRY__FORMAT`) with the deployed value (or
//! `[redacted]` for secrets). The check compares against the dump rather than trusting the binary to reject
//! unknown keys, and `a_variable_naming_no_setting_is_reported` proves that it does fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use yaml_serde::Value;

/// The variables one container or compose service receives, and the binary it runs.
#[derive(Debug, Clone)]
struct EnvSet {
    origin: String,
    binary: String,
    vars: BTreeMap<String, String>,
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[tokio::test]
async fn compose_variables_name_real_settings() {
    let path = deploy_dir().join("compose/compose.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let docs = parse_yaml_docs(&text).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    let sets = compose_env_sets(&docs[0]).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    check_all("compose", &docs, &sets).await;
}

#[tokio::test]
async fn k8s_variables_name_real_settings() {
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("k8s"))
        .expect("deploy/k8s exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable manifest");
        docs.extend(parse_yaml_docs(&text).unwrap_or_else(|e| panic!("{}: {e:#}", file.display())));
    }
    let sets = k8s_env_sets(&docs).unwrap_or_else(|e| panic!("deploy/k8s: {e:#}"));
    check_all("k8s", &docs, &sets).await;
}

#[tokio::test]
async fn a_variable_naming_no_setting_is_reported() {
    let mut vars = BTreeMap::from([("MYELIN_TRACKER__LISTEN".to_owned(), "0.0.0.0:8101".to_owned())]);
    let mut set = EnvSet {
        origin: "self-test".into(),
        binary: "tracker".into(),
        vars: vars.clone(),
    };
    check_set(&set).await.expect("a real setting passes the check");
    vars.insert("MYELIN_TRACKER__NO_SUCH_SETTING".to_owned(), "1".to_owned());
    set.vars = vars;
    let err = check_set(&set)
        .await
        .expect_err("a variable naming no setting must fail the check");
    assert!(
        format!("{err:#}").contains("MYELIN_TRACKER__NO_SUCH_SETTING"),
        "unexpected error: {err:#}"
    );
}

/// Every deployed service is checked, every `MYELIN_` name in the files was collected, every set passes.
async fn check_all(what: &str, docs: &[Value], sets: &[EnvSet]) {
    let binaries: BTreeSet<&str> = sets.iter().map(|s| s.binary.as_str()).collect();
    for required in ["tracker", "gateway"] {
        assert!(
            binaries.contains(required),
            "{what}: no `{required}` service found (found {binaries:?})"
        );
    }
    let collected: BTreeSet<&String> = sets.iter().flat_map(|s| s.vars.keys()).collect();
    let mut mentioned = BTreeSet::new();
    docs.iter().for_each(|d| collect_myelin_names(d, &mut mentioned));
    let stray: Vec<&String> = mentioned.iter().filter(|n| !collected.contains(n)).collect();
    assert!(
        stray.is_empty(),
        "{what}: MYELIN_ variables outside any service environment: {stray:?}"
    );

    let mut failures = Vec::new();
    for set in sets {
        if let Err(err) = check_set(set).await {
            failures.push(format!("{} ({}): {err:#}", set.origin, set.binary));
        }
    }
    assert!(failures.is_empty(), "{what}:\n{}", failures.join("\n"));
}

/// Runs `<binary> --dump-config` with the set's variables and checks every one against the dump.
async fn check_set(set: &EnvSet) -> anyhow::Result<()> {
    let prefix = format!("MYELIN_{}__", set.binary.to_ascii_uppercase());
    for name in set.vars.keys() {
        ensure!(
            name.starts_with(&prefix),
            "{name} is given to `{}`, which reads only {prefix}*",
            set.binary
        );
    }
    let mut cmd = tokio::process::Command::new(myelin_e2e::binary(&set.binary)?);
    cmd.arg("--dump-config").stdin(Stdio::null()).kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MYELIN_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(&set.vars);
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .context("--dump-config did not exit within 30 s")?
        .context("cannot run --dump-config")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "--dump-config exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dump: toml::Table = toml::from_str(&stdout).with_context(|| format!("the dump is not TOML:\n{stdout}"))?;
    let mut problems = Vec::new();
    for (name, want) in &set.vars {
        let path: Vec<String> = name[prefix.len()..].split("__").map(str::to_ascii_lowercase).collect();
        match lookup(&dump, &path) {
            None => problems.push(format!("{name}: no setting `{}` in the dump", path.join("."))),
            Some(got) if !same_value(got, want) => problems.push(format!(
                "{name}: `{}` is {got} in the dump, deployed as {want:?}",
                path.join(".")
            )),
            Some(_) => {}
        }
    }
    ensure!(problems.is_empty(), "{}\ndump:\n{stdout}", problems.join("\n"));
    Ok(())
}

fn lookup<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(first)?;
    match (rest.is_empty(), value) {
        (true, v) => Some(v),
        (false, toml::Value::Table(t)) => lookup(t, rest),
        (false, _) => None,
    }
}

/// The dumped value shows the deployed one: equal text (a trailing `/` aside), `[redacted]` for a secret,
/// or a list whose items joined by `,` give the deployed text.
fn same_value(got: &toml::Value, want: &str) -> bool {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.trim_end_matches('/').to_owned()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        toml::Value::Array(_) | toml::Value::Table(_) => None,
    };
    let want_items: Vec<&str> = want.split(',').map(|s| s.trim().trim_end_matches('/')).collect();
    match got {
        toml::Value::String(s) if s == "[redacted]" => true,
        toml::Value::Array(items) => {
            let got_items: Option<Vec<String>> = items.iter().map(scalar).collect();
            got_items.is_some_and(|g| g == want_items)
        }
        other => scalar(other).is_some_and(|g| g == want.trim_end_matches('/')),
    }
}

fn parse_yaml_docs(text: &str) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let mut value = Value::deserialize(doc).context("invalid YAML")?;
        value.apply_merge().context("invalid YAML merge key")?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The binary an image runs: `myelin/<binary>:<tag>`.
fn binary_of_image(image: &str) -> anyhow::Result<String> {
    let name = image.rsplit('/').next().unwrap_or(image);
    let binary = name.split([':', '@']).next().unwrap_or(name);
    ensure!(
        image.contains("myelin/") && !binary.is_empty(),
        "image {image:?} is not myelin/<binary>:<tag>"
    );
    Ok(binary.to_owned())
}

fn compose_env_sets(doc: &Value) -> anyhow::Result<Vec<EnvSet>> {
    let services = doc["services"]
        .as_mapping()
        .context("compose file has no `services` map")?;
    let mut sets = Vec::new();
    for (name, service) in services {
        let name = name.as_str().context("service name is not a string")?;
        let mut vars = BTreeMap::new();
        match &service["environment"] {
            Value::Mapping(map) => {
                for (k, v) in map {
                    let key = k.as_str().context("environment key is not a string")?;
                    let value = scalar_text(v).with_context(|| format!("{name}: {key} has no scalar value"))?;
                    vars.insert(key.to_owned(), value);
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    let line = item.as_str().context("environment item is not a string")?;
                    let (k, v) = line
                        .split_once('=')
                        .with_context(|| format!("{name}: {line:?} is not KEY=VALUE"))?;
                    vars.insert(k.to_owned(), v.to_owned());
                }
            }
            _ => {}
        }
        vars.retain(|k, _| k.starts_with("MYELIN_"));
        if let Some(image) = service["image"].as_str().filter(|i| i.starts_with("myelin/")) {
            sets.push(EnvSet {
                origin: format!("compose service {name}"),
                binary: binary_of_image(image)?,
                vars,
            });
        } else {
            ensure!(
                vars.is_empty(),
                "compose service {name} sets MYELIN_ variables but runs no myelin image"
            );
        }
    }
    Ok(sets)
}

fn k8s_env_sets(docs: &[Value]) -> anyhow::Result<Vec<EnvSet>> {
    // ConfigMap and Secret keys, by (kind, name).
    let mut sources: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        let field = match kind {
            "ConfigMap" => "data",
            "Secret" => "stringData",
            _ => continue,
        };
        let name = doc["metadata"]["name"]
            .as_str()
            .context("ConfigMap/Secret without a name")?;
        let mut keys = BTreeMap::new();
        if let Some(map) = doc[field].as_mapping() {
            for (k, v) in map {
                keys.insert(
                    k.as_str().unwrap_or_default().to_owned(),
                    scalar_text(v).unwrap_or_default(),
                );
            }
        }
        ensure!(
            doc["data"].is_null() || kind == "ConfigMap",
            "Secret {name}: use stringData so the test can read it"
        );
        sources.insert((kind.to_owned(), name.to_owned()), keys);
    }
    let source = |kind: &str, name: &str| {
        sources
            .get(&(kind.to_owned(), name.to_owned()))
            .with_context(|| format!("no {kind} named {name}"))
    };
    let mut sets = Vec::new();
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        let pod = match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &doc["spec"]["template"]["spec"],
            "CronJob" => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => continue,
        };
        let workload = doc["metadata"]["name"].as_str().unwrap_or("?");
        let containers = pod["containers"].as_sequence().into_iter().flatten();
        for container in containers.chain(pod["initContainers"].as_sequence().into_iter().flatten()) {
            let cname = container["name"].as_str().unwrap_or("?");
            let origin = format!("k8s {kind} {workload} container {cname}");
            let mut vars = BTreeMap::new();
            for from in container["envFrom"].as_sequence().into_iter().flatten() {
                let (src_kind, r) = if from["configMapRef"].is_mapping() {
                    ("ConfigMap", &from["configMapRef"])
                } else {
                    ("Secret", &from["secretRef"])
                };
                let keys = source(src_kind, r["name"].as_str().unwrap_or_default()).context(origin.clone())?;
                vars.extend(keys.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            for env in container["env"].as_sequence().into_iter().flatten() {
                let name = env["name"]
                    .as_str()
                    .with_context(|| format!("{origin}: env entry without a name"))?;
                let value = if let Some(v) = scalar_text(&env["value"]) {
                    v
                } else {
                    let (src_kind, r) = match &env["valueFrom"] {
                        v if v["configMapKeyRef"].is_mapping() => ("ConfigMap", &v["configMapKeyRef"]),
                        v if v["secretKeyRef"].is_mapping() => ("Secret", &v["secretKeyRef"]),
                        _ => bail!("{origin}: {name} has neither a value nor a ConfigMap/Secret key"),
                    };
                    let keys = source(src_kind, r["name"].as_str().unwrap_or_default()).context(origin.clone())?;
                    let key = r["key"].as_str().unwrap_or_default();
                    keys.get(key)
                        .cloned()
                        .with_context(|| format!("{origin}: {name}: no key {key:?}"))?
                };
                vars.insert(name.to_owned(), value);
            }
            vars.retain(|k, _| k.starts_with("MYELIN_"));
            match container["image"].as_str().filter(|i| i.starts_with("myelin/")) {
                Some(image) => sets.push(EnvSet {
                    origin,
                    binary: binary_of_image(image)?,
                    vars,
                }),
                None => ensure!(
                    vars.is_empty(),
                    "{origin} sets MYELIN_ variables but runs no myelin image"
                ),
            }
        }
    }
    Ok(sets)
}

/// Every string (key or value) that looks like a Myelin settings variable.
fn collect_myelin_names(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if s.starts_with("MYELIN_") => {
            out.insert(s.split('=').next().unwrap_or(s).to_owned());
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_myelin_names(v, out)),
        Value::Mapping(map) => {
            for (k, v) in map {
                collect_myelin_names(k, out);
                collect_myelin_names(v, out);
            }
        }
        Value::Tagged(tagged) => collect_myelin_names(&tagged.value, out),
        _ => {}
    }
}
