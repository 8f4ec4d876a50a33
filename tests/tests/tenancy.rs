#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Tenancy through `myelin server` with access control on: `admin` runs a real job in org
//! `default` (logs, metrics, an artifact, lineage); `mallory` signs up, owns org `beta` with a
//! project of her own, and probes that run through every route with its uuid under her own org and
//! project: every answer is a 404 and none carries the run's data. Her PQL search cannot reach it
//! either, and she cannot touch `default` at all (404: it does not exist for her).

use std::time::Duration;

use anyhow::{Context, ensure};
use myelin_e2e::api::RunsApi;
use myelin_e2e::{ADMIN_PASSWORD, Proc, binary, client_with_token, login};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Prints a line and uploads an artifact with the run's own token (as a tracking client would).
const JOB: &str = r#"version: 1.1
kind: component
name: secret
run:
  kind: job
  container:
    image: busybox
    command:
      - sh
      - -c
      - |
        set -e
        echo the-secret-line
        echo top-secret > s.txt
        P=$(echo "$POLYAXON_RUN_INSTANCE" | cut -d. -f2)
        curl -sf -H "Authorization: Bearer $MYELIN_TOKEN" -F upload_file=@s.txt \
          "$MYELIN_HOST/streams/v1/polyaxon/default/$P/runs/$MYELIN_RUN_UUID/artifact?path=out"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_orgs_run_is_not_found_on_every_route() {
    myelin_e2e::init();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_owned();
    let mut server = Proc::spawn(
        "myelin-server",
        &binary("myelin").unwrap(),
        &["server", "--data-dir", &data_dir, "--port", "0"],
        [("RUST_LOG", "warn"), ("MYELIN_ADMIN_PASSWORD", ADMIN_PASSWORD)],
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
    // The victim's run, with data on every route.
    let admin = login(url, "admin", ADMIN_PASSWORD).await?;
    let api = RunsApi::new(url, "secret", &admin)?;
    api.create_project().await?;
    let uuid = api.create_runs(JOB, 1).await?.remove(0);
    let done = api
        .wait_done(std::slice::from_ref(&uuid), Duration::from_secs(60))
        .await?;
    ensure!(
        done[&uuid]["status"] == "succeeded",
        "the job (it uploads with its run token): {}",
        done[&uuid]
    );
    api.wait_log(&uuid, Duration::from_secs(20), |lines| {
        lines.iter().any(|l| l.contains("the-secret-line"))
    })
    .await?;
    let admin_http = client_with_token(&admin)?;
    let run_api = format!("{url}/api/v1/default/{}/runs/{uuid}", api.project);
    let posted = admin_http
        .post(format!("{run_api}/events"))
        .json(&json!({"metrics": [{"name": "loss", "value": 0.125, "step": 1}]}))
        .send()
        .await?;
    ensure!(posted.status().is_success(), "events: {}", posted.status());
    let lineage = admin_http
        .post(format!("{run_api}/lineage/artifacts"))
        .json(&json!({"artifacts": [{"name": "model", "kind": "model", "path": "out/s.txt"}]}))
        .send()
        .await?;
    ensure!(lineage.status().is_success(), "lineage: {}", lineage.status());
    // The victim sees it all (so a 404 below is about tenancy, not missing data).
    let own = admin_http
        .get(format!(
            "{url}/streams/v1/polyaxon/default/{}/runs/{uuid}/artifact?path=out/s.txt",
            api.project
        ))
        .send()
        .await?;
    ensure!(
        own.status() == StatusCode::OK,
        "the owner's own artifact: {}",
        own.status()
    );

    // Mallory: her own org and project.
    let signup = reqwest::Client::new()
        .post(format!("{url}/api/v1/auth/signup"))
        .json(&json!({"username": "mallory", "email": "m@evil.example", "password": "mallory-password"}))
        .send()
        .await?;
    let mallory: Value = signup.json().await?;
    let mallory = mallory["token"].as_str().context("signup token")?.to_owned();
    let http = client_with_token(&mallory)?;
    let created = http
        .post(format!("{url}/api/v1/orgs/create"))
        .json(&json!({"name": "beta"}))
        .send()
        .await?;
    let status = created.status();
    ensure!(status.is_success(), "org create: {status} {}", created.text().await?);
    let created = http
        .post(format!("{url}/api/v1/beta/projects/create"))
        .json(&json!({"name": "bp"}))
        .send()
        .await?;
    let status = created.status();
    ensure!(
        status.is_success(),
        "project create: {status} {}",
        created.text().await?
    );

    let mine = format!("{url}/api/v1/beta/bp/runs/{uuid}");
    let streams = format!("{url}/streams/v1/polyaxon/beta/bp/runs");
    let probes: Vec<(Method, String)> = vec![
        (Method::GET, mine.clone()),
        (Method::GET, format!("{mine}/statuses")),
        (Method::GET, format!("{mine}/metrics/summary")),
        (Method::GET, format!("{mine}/lineage/artifacts")),
        (Method::GET, format!("{mine}/lineage/artifacts/names")),
        (Method::GET, format!("{mine}/lineage/upstream")),
        (Method::GET, format!("{mine}/lineage/downstream")),
        (Method::GET, format!("{mine}/lineage/clones")),
        (Method::GET, format!("{streams}/{uuid}/events/metric?names=loss")),
        (Method::GET, format!("{streams}/{uuid}/logs")),
        (Method::GET, format!("{streams}/{uuid}/logs/tail")),
        (Method::GET, format!("{streams}/{uuid}/artifact?path=out/s.txt")),
        (Method::GET, format!("{streams}/{uuid}/artifacts?path=out")),
        (Method::GET, format!("{streams}/{uuid}/artifacts/tree?path=out")),
        (Method::PATCH, mine.clone()),
        (Method::POST, format!("{mine}/stop")),
        (Method::POST, format!("{mine}/restart")),
        (Method::POST, format!("{mine}/events")),
        (Method::DELETE, format!("{streams}/{uuid}/artifact?path=out/s.txt")),
        (Method::DELETE, mine.clone()),
    ];
    let mut leaks = Vec::new();
    for (method, probe) in &probes {
        let mut request = http.request(method.clone(), probe);
        if *method != Method::GET && *method != Method::DELETE {
            request = request.json(&json!({}));
        }
        let response = request.timeout(Duration::from_secs(10)).send().await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status != StatusCode::NOT_FOUND || body.contains("secret") || body.contains("0.125") {
            leaks.push(format!("{method} {probe} → {status}: {}", &body[..body.len().min(300)]));
        }
    }
    // Several runs at once: only what belongs to her project may come back.
    let multi = http
        .get(format!("{streams}/multi/events/metric?runs={uuid}&names=loss"))
        .send()
        .await?;
    let (status, body) = (multi.status(), multi.text().await?);
    if status.is_success() && (body.contains("0.125") || body.contains(&uuid)) {
        leaks.push(format!("multi events → {status}: {body}"));
    }
    // PQL in her project cannot name the run.
    let listed: Value = http
        .get(format!("{url}/api/v1/beta/bp/runs"))
        .query(&[("query", format!("uuid:{uuid}"))])
        .send()
        .await?
        .json()
        .await?;
    if listed["count"] != 0 {
        leaks.push(format!("PQL uuid:{uuid} in beta/bp → {listed}"));
    }
    // The victim's org does not exist for her, on any route.
    for probe in [
        format!("{url}/api/v1/default/{}/runs/{uuid}", api.project),
        format!("{url}/api/v1/default/projects/list"),
        format!("{url}/streams/v1/polyaxon/default/{}/runs/{uuid}/logs", api.project),
        format!("{url}/api/v1/orgs/default/members"),
    ] {
        let status = http.get(&probe).send().await?.status();
        if status != StatusCode::NOT_FOUND {
            leaks.push(format!("GET {probe} → {status}"));
        }
    }
    ensure!(
        leaks.is_empty(),
        "cross-org probes that were not a clean 404:\n{}",
        leaks.join("\n")
    );

    // And the run is untouched.
    let run = api.get(&format!("runs/{uuid}")).await?;
    ensure!(run["status"] == "succeeded", "the victim's run changed: {run}");
    Ok(())
}
