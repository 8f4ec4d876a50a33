#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs actually run, distributed: gateway, tracker, scheduler, logs and two executors as separate
//! processes on PostgreSQL, RabbitMQ and Redis ([`myelin_e2e::cluster::Cluster`]).
//!
//! - 300 runs of `sh -c 'echo $MYELIN_RUN_UUID'` all succeed, each run's log holds its own uuid
//!   exactly once, no run executes twice (one `running` condition, one working directory), and both
//!   executors take a share.
//! - An executor is killed with SIGKILL while 50 runs of `sleep 2` are in flight (at least 15 of them
//!   on it): its workloads die with it within 500 ms (parent-death signal), RabbitMQ hands its
//!   unacknowledged tasks to the other executor, which starts them over (`starting` with reason
//!   `redelivered`), and every run succeeds. Which outcome and why: `docs/adr/0006-executor-loss.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::ensure;
use myelin_e2e::api::{ECHO_UUID, RunsApi, conditions_of};
use myelin_e2e::cluster::{Cluster, ClusterOptions};
use serde_json::Value;

const RUNS: usize = 300;
const SLEEPERS: usize = 50;
const SLEEP_2: &str = "version: 1.1\nkind: component\nname: sleep\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [sleep, '2']\n";

async fn cluster(options: ClusterOptions) -> Cluster {
    myelin_e2e::init();
    Cluster::start(options).await.unwrap_or_else(|e| panic!("{e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_runs_each_run_once_on_two_executors() {
    let cluster = cluster(ClusterOptions::default()).await;
    if let Err(err) = echo_scenario(&cluster).await {
        panic!("{err:#}\n\nprocess logs:\n{}", cluster.logs());
    }
}

async fn echo_scenario(cluster: &Cluster) -> anyhow::Result<()> {
    let api = RunsApi::new(&cluster.gateway_url, "distributed", &cluster.token)?;
    api.create_project().await?;
    let uuids = api.create_runs(ECHO_UUID, RUNS).await?;
    let done = api.wait_done(&uuids, Duration::from_secs(300)).await?;
    let failed: Vec<&Value> = done.values().filter(|r| r["status"] != "succeeded").collect();
    ensure!(failed.is_empty(), "{} runs did not succeed: {failed:?}", failed.len());

    let mut per_executor: BTreeMap<String, usize> = BTreeMap::new();
    for uuid in &uuids {
        let conditions = api.conditions(uuid).await?;
        let running = conditions_of(&conditions, "running");
        ensure!(
            running.len() == 1,
            "run {uuid} ran {} times: {conditions:?}",
            running.len()
        );
        let message = running[0]["message"].as_str().unwrap_or_default();
        let host = message.rsplit(" on ").next().unwrap_or_default().to_owned();
        *per_executor.entry(host).or_default() += 1;
        let dirs = cluster
            .artifacts_roots
            .iter()
            .filter(|root| root.join(uuid).is_dir())
            .count();
        ensure!(dirs == 1, "run {uuid} has a working directory on {dirs} executors");
        let lines = api
            .wait_log(uuid, Duration::from_secs(30), |lines| {
                lines.iter().any(|l| l.contains(uuid.as_str()))
            })
            .await?;
        let mentions = lines.iter().filter(|l| l.contains(uuid.as_str())).count();
        ensure!(
            mentions == 1,
            "the log of {uuid} holds its uuid {mentions} times: {lines:?}"
        );
        ensure!(lines.len() == 1, "the log of {uuid} has foreign lines: {lines:?}");
    }
    eprintln!("runs per executor: {per_executor:?}");
    ensure!(
        per_executor.len() == 2 && per_executor.values().all(|&n| n > 0),
        "both executors must take runs: {per_executor:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_in_flight_on_a_killed_executor_are_redelivered_and_succeed() {
    let options = ClusterOptions {
        executors: 2,
        executor_concurrency: SLEEPERS,
        max_concurrency: SLEEPERS as u32,
        lease_secs: 3,
    };
    let mut cluster = cluster(options).await;
    if let Err(err) = kill_scenario(&mut cluster).await {
        panic!("{err:#}\n\nprocess logs:\n{}", cluster.logs());
    }
}

/// `(run, pid)` of every live process working in a run directory under `root` (the executor's
/// artifacts root: each run works in `<root>/<run uuid>`), read from `/proc`.
fn workloads_under(root: &Path) -> Vec<(String, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        if let Ok(rest) = cwd.strip_prefix(root)
            && let Some(run) = rest.iter().next().and_then(|r| r.to_str())
            && alive(pid)
        {
            found.push((run.to_owned(), pid));
        }
    }
    found
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

async fn kill_scenario(cluster: &mut Cluster) -> anyhow::Result<()> {
    let api = RunsApi::new(&cluster.gateway_url, "killed", &cluster.token)?;
    api.create_project().await?;
    let uuids = api.create_runs(SLEEP_2, SLEEPERS).await?;

    // Wait until the first executor is running some of them, then kill it at once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let victims = loop {
        let found = workloads_under(&cluster.artifacts_roots[0]);
        if found.len() >= 15 {
            break found;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "executor-1 never ran 15 runs at once"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let status = cluster.executors[0].kill()?;
    let killed_at = chrono::Utc::now();
    eprintln!("killed executor-1 ({status}) while it ran {} runs", victims.len());

    // Its workloads die with it.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    loop {
        let survivors: Vec<i32> = victims.iter().map(|(_, pid)| *pid).filter(|pid| alive(*pid)).collect();
        if survivors.is_empty() {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "workloads {survivors:?} outlived their executor by 500 ms"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let done = api.wait_done(&uuids, Duration::from_secs(120)).await?;
    let failed: Vec<&Value> = done.values().filter(|r| r["status"] != "succeeded").collect();
    ensure!(failed.is_empty(), "{} runs did not succeed: {failed:?}", failed.len());
    for (uuid, _) in &victims {
        let conditions = api.conditions(uuid).await?;
        // A run whose workload ended just before the kill may have been reported by executor-1.
        let finished_before_kill = conditions.iter().any(|c| {
            c["type"] == "succeeded"
                && c["message"].as_str().is_some()
                && c["last_transition_time"]
                    .as_str()
                    .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                    .is_some_and(|t| t < killed_at)
        });
        if finished_before_kill {
            continue;
        }
        let redelivered = conditions
            .iter()
            .filter(|c| c["type"] == "starting" && c["reason"] == "redelivered")
            .count();
        ensure!(
            redelivered == 1,
            "victim {uuid} was not started over once: {conditions:?}"
        );
        let last_running = conditions_of(&conditions, "running")
            .last()
            .map(|c| c["message"].clone());
        ensure!(
            last_running
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|m| m.ends_with(" on executor-2@e2e")),
            "victim {uuid} was not re-run by executor-2: {conditions:?}"
        );
    }
    Ok(())
}
