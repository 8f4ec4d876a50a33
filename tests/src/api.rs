//! [`RunsApi`]: the public REST calls the end-to-end scenarios make through a gateway, for one
//! project of owner `default`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, TryStreamExt};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A job printing its run uuid once: `sh -c 'echo $MYELIN_RUN_UUID'`.
pub const ECHO_UUID: &str = "version: 1.1\nkind: component\nname: echo-uuid\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [sh, -c, 'echo $MYELIN_RUN_UUID']\n";

/// Statuses after which a run does not change any more.
pub const DONE: [&str; 5] = ["succeeded", "failed", "stopped", "skipped", "upstream_failed"];

/// Requests in flight when creating or reading many runs.
pub const IN_FLIGHT: usize = 16;

/// Calls to one project through a gateway.
pub struct RunsApi {
    http: Client,
    gateway: String,
    pub project: String,
}

impl RunsApi {
    /// A client for a new, uniquely named project (not created yet: see [`RunsApi::create_project`]),
    /// calling with `token`.
    pub fn new(gateway_url: &str, prefix: &str, token: &str) -> anyhow::Result<Self> {
        let http = crate::client_with_token(token)?;
        Ok(Self {
            http,
            gateway: gateway_url.trim_end_matches('/').to_owned(),
            project: format!("{prefix}-{}", crate::unique_suffix()),
        })
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v1/default/{}/{path}", self.gateway, self.project)
    }

    pub async fn create_project(&self) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/api/v1/default/projects/create", self.gateway))
            .json(&json!({ "name": self.project }))
            .send()
            .await?;
        expect(resp, StatusCode::CREATED, "create project").await.map(drop)
    }

    /// Creates `n` runs of `content`, [`IN_FLIGHT`] at a time; returns their uuids in creation order
    /// of the answers.
    pub async fn create_runs(&self, content: &str, n: usize) -> anyhow::Result<Vec<String>> {
        futures::stream::iter(0..n)
            .map(|_| async move {
                let resp = self
                    .http
                    .post(self.api("runs"))
                    .json(&json!({ "content": content }))
                    .send()
                    .await
                    .context("POST runs")?;
                let run = expect(resp, StatusCode::CREATED, "create run").await?;
                Ok(run["uuid"].as_str().context("a run without uuid")?.to_owned())
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self
            .http
            .get(self.api(path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        expect(resp, StatusCode::OK, &format!("GET {path}")).await
    }

    /// Every run of the project with `query` (PQL), `limit=1000` pages.
    pub async fn list(&self, query: &str) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        loop {
            let path = format!("runs?limit=1000&offset={}&query={query}", all.len());
            let page = self.get(&path).await?;
            let results = page["results"].as_array().context("a page without results")?;
            all.extend(results.iter().cloned());
            if page["next"].is_null() || results.is_empty() {
                return Ok(all);
            }
        }
    }

    /// Waits until every run in `uuids` is done; returns each run's record.
    pub async fn wait_done(&self, uuids: &[String], timeout: Duration) -> anyhow::Result<BTreeMap<String, Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let runs = self.list("").await?;
            let done: BTreeMap<String, Value> = runs
                .into_iter()
                .filter(|r| DONE.contains(&r["status"].as_str().unwrap_or_default()))
                .filter_map(|r| Some((r["uuid"].as_str()?.to_owned(), r)))
                .filter(|(uuid, _)| uuids.contains(uuid))
                .collect();
            if done.len() == uuids.len() {
                return Ok(done);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("after {timeout:?} only {}/{} runs are done", done.len(), uuids.len());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The run's status conditions, oldest first.
    pub async fn conditions(&self, uuid: &str) -> anyhow::Result<Vec<Value>> {
        let statuses = self.get(&format!("runs/{uuid}/statuses")).await?;
        Ok(statuses["status_conditions"].as_array().cloned().unwrap_or_default())
    }

    /// The `value`s of the run's persisted log lines, in order.
    pub async fn log_values(&self, uuid: &str) -> anyhow::Result<Vec<String>> {
        let url = format!(
            "{}/streams/v1/polyaxon/default/{}/runs/{uuid}/logs",
            self.gateway, self.project
        );
        let resp = self.http.get(&url).send().await.context("GET logs")?;
        let body = expect(resp, StatusCode::OK, "GET logs").await?;
        let logs = body["logs"].as_array().cloned().unwrap_or_default();
        Ok(logs
            .iter()
            .filter_map(|l| l["value"].as_str().map(str::to_owned))
            .collect())
    }

    /// Polls the run's log until `pred` holds for its lines (lines are persisted in chunks).
    pub async fn wait_log(
        &self,
        uuid: &str,
        timeout: Duration,
        pred: impl Fn(&[String]) -> bool,
    ) -> anyhow::Result<Vec<String>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let lines = self.log_values(uuid).await?;
            if pred(&lines) {
                return Ok(lines);
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "the log of {uuid} is still {lines:?} after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn expect(resp: reqwest::Response, want: StatusCode, what: &str) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await.with_context(|| format!("{what}: reading the body"))?;
    ensure!(status == want, "{what}: HTTP {status} (wanted {want}): {text}");
    serde_json::from_str(&text).with_context(|| format!("{what}: body is not JSON: {text}"))
}

/// The conditions of `type` (e.g. `running`) among `conditions`.
pub fn conditions_of<'a>(conditions: &'a [Value], kind: &str) -> Vec<&'a Value> {
    conditions.iter().filter(|c| c["type"] == kind).collect()
}
