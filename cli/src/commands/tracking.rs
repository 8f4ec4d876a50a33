//! Tracking views of `myelin ops`: the runs table with chosen columns (`--columns
//! name,inputs.lr,metrics.loss`), `ops metrics`, `ops artifacts [-d DIR]` and `ops compare`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use myelin_client::Client;
use myelin_contracts::tracking::MetricSummary;
use myelin_contracts::{Run, RunUuid};
use serde_json::Value;

use crate::error::Error;
use crate::output;

/// Columns of `ops ls` when none are chosen.
const DEFAULT_COLUMNS: [&str; 8] = [
    "uuid", "name", "kind", "status", "created", "started", "finished", "duration",
];

/// The runs table of `ops ls`; metric columns fetch each run's summaries.
pub async fn runs_table(
    client: &Client,
    owner: &str,
    project: &str,
    runs: &[Run],
    columns: &[String],
) -> Result<comfy_table::Table, Error> {
    let columns: Vec<String> = if columns.is_empty() {
        DEFAULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect()
    } else {
        columns
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let wants_metrics = columns.iter().any(|c| c.starts_with("metrics."));
    let mut table = output::table(&columns.iter().map(String::as_str).collect::<Vec<_>>());
    for run in runs {
        let metrics = if wants_metrics {
            summaries(client, owner, project, &run.uuid).await?
        } else {
            BTreeMap::new()
        };
        table.add_row(columns.iter().map(|c| cell(run, &metrics, c)).collect::<Vec<_>>());
    }
    Ok(table)
}

async fn summaries(
    client: &Client,
    owner: &str,
    project: &str,
    uuid: &RunUuid,
) -> Result<BTreeMap<String, MetricSummary>, Error> {
    let all = client.metric_summaries(owner, project, uuid).await?;
    Ok(all.results.into_iter().map(|s| (s.name.clone(), s)).collect())
}

/// One cell of the runs table.
fn cell(run: &Run, metrics: &BTreeMap<String, MetricSummary>, column: &str) -> String {
    match column {
        "uuid" => run.uuid.to_string(),
        "name" => output::opt(run.name.as_deref()),
        "kind" => run.kind.to_string(),
        "status" => run.status.to_string(),
        "created" | "created_at" => output::time(Some(run.created_at)),
        "started" | "started_at" => output::time(run.started_at),
        "finished" | "finished_at" => output::time(run.finished_at),
        "duration" => output::duration(run.duration),
        "tags" => run.tags.as_deref().unwrap_or_default().join(", "),
        _ => field(run, metrics, column).map(|v| scalar(&v)).unwrap_or_default(),
    }
}

/// `inputs.X`/`params.X`, `outputs.X`, `metrics.X` (last value) or any top-level run field.
fn field(run: &Run, metrics: &BTreeMap<String, MetricSummary>, column: &str) -> Option<Value> {
    if let Some(name) = column.strip_prefix("metrics.") {
        return metrics.get(name).map(|m| Value::from(m.last));
    }
    let (section, name) = match column.split_once('.') {
        Some(("params", name)) => ("inputs", name),
        Some((section, name)) => (section, name),
        None => return serde_json::to_value(run).ok()?.get(column).cloned(),
    };
    let object = match section {
        "inputs" => run.inputs.as_ref(),
        "outputs" => run.outputs.as_ref(),
        _ => None,
    }?;
    object.get(name).cloned()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), format_number),
        other => other.to_string(),
    }
}

fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.6}").trim_end_matches('0').to_owned()
    }
}

/// `ops metrics`: one row per metric name.
pub async fn metrics(client: &Client, owner: &str, project: &str, uuid: &RunUuid, json: bool) -> Result<(), Error> {
    let all = client.metric_summaries(owner, project, uuid).await?;
    if json {
        return output::json(&all);
    }
    if all.results.is_empty() {
        return output::line(&format!("Run `{uuid}` has no metrics."));
    }
    let mut table = output::table(&["metric", "last", "step", "min", "max", "mean", "points"]);
    for m in &all.results {
        table.add_row(vec![
            m.name.clone(),
            format_number(m.last),
            m.last_step.map(|s| s.to_string()).unwrap_or_default(),
            format_number(m.min),
            format_number(m.max),
            format_number(m.mean),
            m.count.to_string(),
        ]);
    }
    output::line(&table.to_string())
}

/// `ops artifacts`: the file listing under `path`, or its download into `dir`.
pub async fn artifacts(
    client: &Client,
    owner: &str,
    project: &str,
    uuid: &RunUuid,
    path: &str,
    dir: Option<&Path>,
) -> Result<(), Error> {
    let files = walk(client, owner, project, uuid, path).await?;
    let Some(dir) = dir else {
        if files.is_empty() {
            return output::line(&format!("Run `{uuid}` has no artifacts under `{path}`."));
        }
        let mut table = output::table(&["path", "size"]);
        for (file, size) in &files {
            table.add_row(vec![file.clone(), size.to_string()]);
        }
        return output::line(&table.to_string());
    };
    let mut total = 0;
    for (file, _) in &files {
        let dest = dir.join(file);
        total += client.download_artifact(owner, project, uuid, file, &dest).await?;
    }
    output::line(&format!(
        "Downloaded {} files ({total} bytes) of run `{uuid}` into {}.",
        files.len(),
        dir.display()
    ))
}

/// Every file under `path` (a file or a folder), with its size, walking the tree level by level.
async fn walk(
    client: &Client,
    owner: &str,
    project: &str,
    uuid: &RunUuid,
    path: &str,
) -> Result<Vec<(String, u64)>, Error> {
    let mut files = Vec::new();
    let mut pending = vec![path.trim_matches('/').to_owned()];
    while let Some(folder) = pending.pop() {
        let tree = client.artifacts_tree(owner, project, uuid, &folder).await?;
        let join = |name: &str| {
            if folder.is_empty() {
                name.to_owned()
            } else {
                format!("{folder}/{name}")
            }
        };
        files.extend(tree.files.iter().map(|(name, size)| (join(name), *size)));
        pending.extend(tree.dirs.iter().map(|d| join(d)));
    }
    files.sort();
    Ok(files)
}

/// `ops compare`: one column per run, one row per field; `diff` keeps the rows that differ.
pub async fn compare(
    client: &Client,
    owner: &str,
    project: &str,
    uuids: &[RunUuid],
    diff: bool,
    json: bool,
) -> Result<(), Error> {
    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut order: Vec<String> = ["name", "status", "duration"].map(String::from).to_vec();
    let mut dynamic = BTreeSet::new();
    for (i, uuid) in uuids.iter().enumerate() {
        let run = client.get_run(owner, project, uuid).await?;
        let metrics = summaries(client, owner, project, uuid).await?;
        let mut put = |key: String, value: Value| {
            rows.entry(key).or_insert_with(|| vec![Value::Null; uuids.len()])[i] = value;
        };
        put("name".into(), run.name.clone().map(Value::from).unwrap_or_default());
        put("status".into(), Value::from(run.status.to_string()));
        put("duration".into(), run.duration.map(Value::from).unwrap_or_default());
        for (section, object) in [("inputs", &run.inputs), ("outputs", &run.outputs)] {
            for (key, value) in object.as_ref().and_then(Value::as_object).into_iter().flatten() {
                dynamic.insert(format!("{section}.{key}"));
                put(format!("{section}.{key}"), value.clone());
            }
        }
        for (name, m) in &metrics {
            dynamic.insert(format!("metrics.{name}"));
            put(format!("metrics.{name}"), Value::from(m.last));
        }
    }
    order.extend(dynamic);
    let differs = |values: &[Value]| values.windows(2).any(|w| w[0] != w[1]);
    let order: Vec<String> = order.into_iter().filter(|k| !diff || differs(&rows[k])).collect();
    if json {
        let object: serde_json::Map<String, Value> = order
            .iter()
            .map(|k| (k.clone(), Value::from(rows[k].clone())))
            .collect();
        return output::json(&serde_json::json!({ "runs": uuids, "fields": object }));
    }
    let mut header = vec!["field".to_owned()];
    header.extend(uuids.iter().map(|u| u.to_string()[..8].to_owned()));
    header.push("differs".into());
    let mut table = output::table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for key in &order {
        let values = &rows[key];
        let mut row = vec![key.clone()];
        row.extend(values.iter().map(|v| match (key.as_str(), v) {
            ("duration", Value::Number(n)) => output::duration(n.as_f64()),
            _ => scalar(v),
        }));
        row.push(if differs(values) { "*".into() } else { String::new() });
        table.add_row(row);
    }
    output::line(&table.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_short() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(1.0 / 3.0), "0.333333");
    }
}
