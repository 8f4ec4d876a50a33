//! Run drain benchmark: how fast Myelin executes many no-op runs end to end, next to plain Python
//! Celery doing the same work (one child process per task) in the same run.
//!
//! ```sh
//! cargo build --release --workspace --bins
//! MYELIN_VENV=.venv cargo bench -p myelin-e2e --bench run_drain          # RUNS=300 by default
//! ```
//!
//! For each of embedded (`myelin server`: SQLite, in-process bus), distributed (gateway, tracker,
//! scheduler, logs, 2 executors on PostgreSQL/RabbitMQ/Redis) and Celery (`bench/celery_baseline.py`,
//! prefork worker with as many processes as Myelin runs at once): runs/s from the first submission
//! to the last success, and queued→running latency p50/p99 (Myelin: from the `queued` to the
//! `running` condition; Celery: from `apply_async` to the task body starting).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use myelin_e2e::api::RunsApi;
use myelin_e2e::cluster::{Cluster, ClusterOptions};
use myelin_e2e::{Proc, binary};
use serde_json::Value;

const NOOP: &str = "version: 1.1\nkind: component\nname: noop\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: ['true']\n";
/// Runs each executor executes at once (Myelin's default), and the Celery worker's processes.
const CONCURRENCY: usize = 8;

struct Measure {
    name: String,
    runs: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn main() -> anyhow::Result<()> {
    myelin_e2e::init();
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut rows = Vec::with_capacity(3);
    for measure in [
        rt.block_on(embedded(runs)),
        rt.block_on(distributed(runs)),
        celery(runs, CONCURRENCY * 2),
    ] {
        let measure = measure?;
        eprintln!("{}: {runs} runs in {:.2} s", measure.name, measure.seconds);
        rows.push(measure);
    }
    println!("\n| system | runs | runs/s | queued→running p50 | p99 |\n|---|---|---|---|---|");
    for m in &rows {
        println!(
            "| {} | {} | {:.1} | {:.1} ms | {:.1} ms |",
            m.name,
            m.runs,
            m.runs as f64 / m.seconds,
            m.p50_ms,
            m.p99_ms
        );
    }
    Ok(())
}

async fn embedded(runs: usize) -> anyhow::Result<Measure> {
    let data = tempfile::tempdir()?;
    let dir = data.path().display().to_string();
    let mut server = Proc::spawn(
        "myelin-server",
        &binary("myelin")?,
        &["server", "--data-dir", &dir, "--port", "0"],
        [
            ("RUST_LOG", "warn"),
            ("MYELIN_ADMIN_PASSWORD", myelin_e2e::ADMIN_PASSWORD),
        ],
    )?;
    let url = server
        .wait_stdout_line(Duration::from_secs(30), |l| {
            l.strip_prefix("Myelin is ready at ").map(str::to_owned)
        })
        .await?;
    let token = myelin_e2e::login(&url, "admin", myelin_e2e::ADMIN_PASSWORD).await?;
    drain("embedded (myelin server, 1 executor × 8)", &url, &token, runs).await
}

async fn distributed(runs: usize) -> anyhow::Result<Measure> {
    let cluster = Cluster::start(ClusterOptions {
        executors: 2,
        executor_concurrency: CONCURRENCY,
        ..ClusterOptions::default()
    })
    .await?;
    drain(
        "distributed (PG, RabbitMQ, Redis; 2 executors × 8)",
        &cluster.gateway_url,
        &cluster.token,
        runs,
    )
    .await
}

async fn drain(name: &str, url: &str, token: &str, runs: usize) -> anyhow::Result<Measure> {
    let api = RunsApi::new(url, "drain", token)?;
    api.create_project().await?;
    // Warm up (first compile, connections, queues), then measure.
    let warm = api.create_runs(NOOP, 5).await?;
    api.wait_done(&warm, Duration::from_secs(60)).await?;
    let started = Instant::now();
    let uuids = api.create_runs(NOOP, runs).await?;
    let done = api.wait_done(&uuids, Duration::from_secs(600)).await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(done.values().all(|r| r["status"] == "succeeded"), "some runs failed");
    let mut latencies = Vec::with_capacity(runs);
    for uuid in &uuids {
        let conditions = api.conditions(uuid).await?;
        let at = |kind: &str| -> anyhow::Result<DateTime<Utc>> {
            let c = conditions
                .iter()
                .find(|c| c["type"] == kind)
                .with_context(|| format!("{uuid} has no {kind} condition"))?;
            let text = c["last_transition_time"].as_str().unwrap_or_default();
            Ok(text.parse::<DateTime<Utc>>()?)
        };
        latencies.push((at("running")? - at("queued")?).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    Ok(Measure {
        name: name.to_owned(),
        runs,
        seconds,
        p50_ms: percentile(&mut latencies, 0.5),
        p99_ms: percentile(&mut latencies, 0.99),
    })
}

fn celery(runs: usize, concurrency: usize) -> anyhow::Result<Measure> {
    let venv = std::env::var("MYELIN_VENV").unwrap_or_else(|_| ".venv".into());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(format!("{venv}/bin/python"))
        .arg(format!("{root}/bench/celery_baseline.py"))
        .args(["--tasks", &runs.to_string(), "--concurrency", &concurrency.to_string()])
        .output()
        .context("cannot run bench/celery_baseline.py (MYELIN_VENV must hold celery: scripts/python-venv.sh)")?;
    ensure!(
        out.status.success(),
        "celery baseline failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(line.trim().lines().last().unwrap_or_default())?;
    Ok(Measure {
        name: format!("Celery 5.7 (prefork × {concurrency}, RabbitMQ + Redis)"),
        runs,
        seconds: json["seconds"].as_f64().unwrap_or(f64::NAN),
        p50_ms: json["latency_p50_ms"].as_f64().unwrap_or(f64::NAN),
        p99_ms: json["latency_p99_ms"].as_f64().unwrap_or(f64::NAN),
    })
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len().saturating_sub(1)) as f64 * q).round() as usize;
    values.get(index).copied().unwrap_or(f64::NAN)
}
