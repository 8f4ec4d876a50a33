#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs actually run, embedded: `myelin server` (one process: SQLite, in-process bus and
//! coordination, local blob dir, local processes) executes 300 short runs of
//! `sh -c 'echo $MYELIN_RUN_UUID'` submitted through the public API. Every run must succeed, each
//! run's log must hold its own uuid exactly once, and no run may have executed twice (one
//! `running` condition, attempt 1).

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, TryStreamExt};
use myelin_e2e::{Proc, binary, unique_suffix};
use serde_json::{Value, json};

const RUNS: usize = 300;
const IN_FLIGHT: usize = 16;
const POLYAXONFILE: &str = "version: 1.1\nkind: component\nname: echo-uuid\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [sh, -c, 'echo $MYELIN_RUN_UUID']\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn myelin_server_runs_300_runs_each_exactly_once() {
    myelin_e2e::init();
    let data = tempfile::tempdir().unwrap();
    let program = binary("myelin").unwrap_or_else(|e| panic!("{e:#}"));
    let data_dir = data.path().to_str().unwrap().to_owned();
    let mut server = Proc::spawn(
        "myelin-server",
        &program,
        &["server", "--data-dir", &data_dir, "--port", "0"],
        [
            ("RUST_LOG", "warn"),
            ("MYELIN_ADMIN_PASSWORD", myelin_e2e::ADMIN_PASSWORD),
        ],
    )
    .unwrap();
    let url = server
        .wait_stdout_line(Duration::from_secs(20), |line| {
            line.strip_prefix("Myelin is ready at ").map(str::to_owned)
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(err) = scenario(&url).await {
        panic!("{err:#}\n\nserver logs:\n{}", server.logs());
    }
}

async fn scenario(url: &str) -> anyhow::Result<()> {
    let token = myelin_e2e::login(url, "admin", myelin_e2e::ADMIN_PASSWORD).await?;
    let http = myelin_e2e::client_with_token(&token)?;
    let project = format!("embedded-{}", unique_suffix());
    let api = format!("{url}/api/v1/default");
    let created = http
        .post(format!("{api}/projects/create"))
        .json(&json!({ "name": project }))
        .send()
        .await?;
    ensure!(created.status().as_u16() == 201, "project create: {}", created.status());

    let uuids: Vec<String> = futures::stream::iter(0..RUNS)
        .map(|_| {
            let (http, api, project) = (&http, &api, &project);
            async move {
                let response = http
                    .post(format!("{api}/{project}/runs"))
                    .json(&json!({ "content": POLYAXONFILE, "managed_by": "agent" }))
                    .send()
                    .await?;
                ensure!(response.status().as_u16() == 201, "run create: {}", response.status());
                let run: Value = response.json().await?;
                Ok(run["uuid"].as_str().context("run without uuid")?.to_owned())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    ensure!(uuids.iter().collect::<HashSet<_>>().len() == RUNS, "duplicate uuids");

    // Every run reaches a done status.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let page: Value = http
            .get(format!("{api}/{project}/runs"))
            .query(&[("limit", "1000"), ("query", "status:succeeded")])
            .send()
            .await?
            .json()
            .await?;
        let done = page["count"].as_u64().unwrap_or(0) as usize;
        if done == RUNS {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let all: Value = http
                .get(format!("{api}/{project}/runs"))
                .query(&[("limit", "1000")])
                .send()
                .await?
                .json()
                .await?;
            let stuck: Vec<String> = all["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["status"] != "succeeded")
                .take(10)
                .map(|r| format!("{} {}", r["uuid"], r["status"]))
                .collect();
            bail!("only {done}/{RUNS} runs succeeded in time; e.g. {stuck:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Each log holds its own uuid exactly once; each run ran once.
    futures::stream::iter(uuids.iter())
        .map(|uuid| {
            let (http, api, url, project) = (&http, &api, url, &project);
            async move {
                let logs: Value = http
                    .get(format!("{url}/streams/v1/polyaxon/default/{project}/runs/{uuid}/logs"))
                    .send()
                    .await?
                    .json()
                    .await?;
                let lines: Vec<&str> = logs["logs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l["value"].as_str())
                    .collect();
                let dashed = uuid::Uuid::parse_str(uuid)?.to_string();
                let hits = lines
                    .iter()
                    .filter(|l| l.contains(uuid.as_str()) || l.contains(&dashed))
                    .count();
                ensure!(
                    hits == 1,
                    "run {uuid}: its uuid appears {hits} times in its log {lines:?}"
                );
                let statuses: Value = http
                    .get(format!("{api}/{project}/runs/{uuid}/statuses"))
                    .send()
                    .await?
                    .json()
                    .await?;
                let running = statuses["status_conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["type"] == "running")
                    .count();
                ensure!(running == 1, "run {uuid} has {running} running conditions: {statuses}");
                Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
