#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Distributed mode end to end: `gateway` + 2 `tracker` replicas as separate processes on one fresh
//! PostgreSQL database and RabbitMQ.
//!
//! 200 runs are created through the gateway with 8 requests in flight; after the first 100 (some of which it
//! served) one tracker replica is killed with SIGKILL and the gateway must keep answering every request
//! (connect failures go to the other replica). Then every run is listed (paging through `next`), fetched and stopped: none may be
//! lost, every one ends `stopped`, and RabbitMQ must have received a `run.created` event for each (the
//! surviving replica's outbox relay publishes what the dead one committed but had not yet relayed).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, TryStreamExt};
use lapin::options::{BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use myelin_contracts::RunUuid;
use myelin_contracts::events::{EVENTS_EXCHANGE, Envelope, RUN_CREATED, RunEvent};
use myelin_e2e::{Proc, amqp_url, binary, free_port, fresh_pg_database, unique_suffix};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const RUNS: usize = 200;
const KILL_AFTER: usize = 100;
const IN_FLIGHT: usize = 8;
const PAGE: usize = 50;
const POLYAXONFILE: &str = "version: 1.1\nkind: component\nname: e2e\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [echo, hi]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_and_two_tracker_replicas_lose_no_run_when_one_replica_dies() {
    myelin_e2e::init();
    let (database_url, _db) = fresh_pg_database().await;
    // Bind the test queue before anything can publish, so no event is missed.
    let tap = EventTap::bind("run.#").await.expect("bind a test queue on RabbitMQ");
    let mut cluster = Cluster::start(&database_url).await.unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(err) = scenario(&mut cluster, &tap).await {
        panic!("{err:#}\n\nprocess logs:\n{}", cluster.logs());
    }
}

async fn scenario(cluster: &mut Cluster, tap: &EventTap) -> anyhow::Result<()> {
    let api = Api::new(&cluster.gateway_url, &format!("e2e-{}", unique_suffix()))?;
    api.create_project().await?;

    let mut created = api.create_runs(KILL_AFTER).await.context("creating the first runs")?;
    // Killing a replica the gateway never used would prove nothing: its request log must name the project.
    // The kill happens between requests: a POST cut off mid-flight may have committed, so it is not retried.
    let victim_logs = cluster.trackers[0].logs();
    ensure!(
        victim_logs.contains(&api.project),
        "the gateway sent none of the first {KILL_AFTER} requests to tracker-1"
    );
    let (name, pid) = (cluster.trackers[0].name().to_owned(), cluster.trackers[0].id());
    let status = cluster.trackers[0].kill()?;
    eprintln!("killed {name} (pid {pid}): {status}");
    let after_kill = api
        .create_runs(RUNS - KILL_AFTER)
        .await
        .context("creating runs after a replica died")?;
    created.extend(after_kill);
    let created_uuids: BTreeSet<RunUuid> = created.iter().copied().collect();
    ensure!(
        created_uuids.len() == RUNS,
        "create returned {} distinct uuids",
        created_uuids.len()
    );
    let gateway_url = &cluster.gateway_url;
    myelin_e2e::wait_ready(gateway_url, Duration::from_secs(5))
        .await
        .context("gateway after the kill")?;

    let listed = api.list_all().await?;
    ensure!(listed.len() == RUNS, "listed {} runs, created {RUNS}", listed.len());
    let listed_uuids: BTreeSet<RunUuid> = listed.iter().map(run_uuid).collect::<anyhow::Result<_>>()?;
    let missing: Vec<&RunUuid> = created_uuids.difference(&listed_uuids).collect();
    ensure!(
        missing.is_empty(),
        "{} created runs are not listed: {missing:?}",
        missing.len()
    );

    for_each_run(&created, |uuid| {
        let api = &api;
        async move {
            let run = api.get_json(&format!("runs/{uuid}")).await?;
            ensure!(run_uuid(&run)? == uuid, "get {uuid} returned {run}");
            let content = run["content"].as_str().unwrap_or_default();
            ensure!(!content.is_empty(), "run {uuid} lost its content: {run}");
            api.stop(uuid).await
        }
    })
    .await
    .context("get and stop every run")?;

    for_each_run(&created, |uuid| {
        let api = &api;
        async move {
            let run = api.get_json(&format!("runs/{uuid}")).await?;
            ensure!(run["status"] == "stopped", "run {uuid} is {} after stop", run["status"]);
            let statuses = api.get_json(&format!("runs/{uuid}/statuses")).await?;
            ensure!(statuses["status"] == "stopped", "statuses of {uuid}: {statuses}");
            Ok(())
        }
    })
    .await
    .context("every run stopped")?;
    let relisted = api.list_all().await?;
    let not_stopped: Vec<&Value> = relisted.iter().filter(|r| r["status"] != "stopped").collect();
    ensure!(
        not_stopped.is_empty(),
        "{} listed runs are not stopped: {not_stopped:?}",
        not_stopped.len()
    );

    tap.wait_for_run_created(&api.project, &created_uuids, Duration::from_secs(60))
        .await
}

async fn for_each_run<F, Fut>(uuids: &[RunUuid], f: F) -> anyhow::Result<()>
where
    F: Fn(RunUuid) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let stream = futures::stream::iter(uuids.iter().copied().map(f));
    stream.buffer_unordered(IN_FLIGHT).try_collect::<Vec<()>>().await?;
    Ok(())
}

/// The `uuid` of a run record (32 hex digits, as Polyaxon prints them).
fn run_uuid(run: &Value) -> anyhow::Result<RunUuid> {
    let text = run["uuid"]
        .as_str()
        .with_context(|| format!("run without a uuid: {run}"))?;
    text.parse().with_context(|| format!("run uuid {text:?} is not a uuid"))
}

/// The processes of one distributed deployment.
struct Cluster {
    gateway_url: String,
    trackers: Vec<Proc>,
    gateway: Proc,
}

impl Cluster {
    async fn start(database_url: &str) -> anyhow::Result<Self> {
        let tracker_bin = binary("tracker")?;
        let mut trackers = Vec::new();
        let mut urls = Vec::new();
        // One after the other: the first replica runs the migrations on the fresh database.
        for i in 1..=2 {
            let port = free_port()?;
            let url = format!("http://127.0.0.1:{port}");
            let mut tracker = Proc::spawn(
                &format!("tracker-{i}"),
                &tracker_bin,
                &[],
                [
                    ("MYELIN_TRACKER__LISTEN", format!("127.0.0.1:{port}")),
                    ("MYELIN_TRACKER__DATABASE_URL", database_url.to_owned()),
                    ("MYELIN_TRACKER__AMQP_URL", amqp_url()),
                    ("MYELIN_TRACKER__TELEMETRY__FORMAT", "json".to_owned()),
                ],
            )?;
            tracker.wait_ready(&url, Duration::from_secs(60)).await?;
            trackers.push(tracker);
            urls.push(url);
        }
        let port = free_port()?;
        let gateway_url = format!("http://127.0.0.1:{port}");
        let mut gateway = Proc::spawn(
            "gateway",
            &binary("gateway")?,
            &[],
            [
                ("MYELIN_GATEWAY__LISTEN", format!("127.0.0.1:{port}")),
                ("MYELIN_GATEWAY__TRACKER_URLS", urls.join(",")),
                // About tracker replicas only; access control through a cluster is covered by
                // distributed_runs.rs (which starts auth).
                ("MYELIN_GATEWAY__ACCESS__ENABLED", "false".to_owned()),
                // No logs service in this cluster: an empty list means "not deployed".
                ("MYELIN_GATEWAY__LOGS_URLS", String::new()),
                ("MYELIN_GATEWAY__TELEMETRY__FORMAT", "json".to_owned()),
            ],
        )?;
        gateway.wait_ready(&gateway_url, Duration::from_secs(30)).await?;
        Ok(Self {
            gateway_url,
            trackers,
            gateway,
        })
    }

    fn logs(&self) -> String {
        let mut out = self.gateway.logs();
        for t in &self.trackers {
            out.push('\n');
            out.push_str(&t.logs());
        }
        out
    }
}

/// The REST calls of the scenario, all through the gateway, for one project of owner `default`.
struct Api {
    http: Client,
    base: String,
    project: String,
}

impl Api {
    fn new(gateway_url: &str, project: &str) -> anyhow::Result<Self> {
        let http = Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self {
            http,
            base: format!("{gateway_url}/api/v1/default"),
            project: project.to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.base, self.project)
    }

    async fn create_project(&self) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/projects/create", self.base))
            .json(&json!({"name": self.project}))
            .send();
        expect_status(resp.await?, StatusCode::CREATED, "create project").await?;
        Ok(())
    }

    /// Creates `n` runs, `IN_FLIGHT` at a time; every request must succeed.
    async fn create_runs(&self, n: usize) -> anyhow::Result<Vec<RunUuid>> {
        futures::stream::iter(0..n)
            .map(|_| async {
                let body = json!({"content": POLYAXONFILE});
                let resp = self
                    .http
                    .post(self.url("runs"))
                    .json(&body)
                    .send()
                    .await
                    .context("POST runs")?;
                run_uuid(&expect_status(resp, StatusCode::CREATED, "create run").await?)
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await
    }

    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self
            .http
            .get(self.url(path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        expect_status(resp, StatusCode::OK, &format!("GET {path}")).await
    }

    async fn stop(&self, uuid: RunUuid) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(self.url(&format!("runs/{uuid}/stop")))
            .send()
            .await
            .context("POST stop")?;
        ensure!(
            resp.status().is_success(),
            "stop {uuid}: HTTP {} {}",
            resp.status(),
            resp.text().await?
        );
        Ok(())
    }

    /// Lists every run, following `next` until it is null; checks `count` on every page.
    async fn list_all(&self) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        let mut query = format!("limit={PAGE}&offset=0");
        for page in 0.. {
            ensure!(page <= RUNS / PAGE + 1, "`next` never became null after {page} pages");
            let body = self.get_json(&format!("runs?{query}")).await?;
            ensure!(
                body["count"] == RUNS,
                "page {page}: count {} instead of {RUNS}",
                body["count"]
            );
            let results = body["results"]
                .as_array()
                .with_context(|| format!("page {page} has no results"))?;
            all.extend(results.iter().cloned());
            match body["next"].as_str() {
                // `next` is a URL (absolute or not): keep its query, ask the gateway.
                Some(next) => {
                    query = next
                        .split_once('?')
                        .map(|(_, q)| q.to_owned())
                        .context("`next` has no query")?
                }
                None if body["next"].is_null() => break,
                None => bail!("`next` is neither a URL nor null: {}", body["next"]),
            }
        }
        Ok(all)
    }
}

async fn expect_status(resp: reqwest::Response, want: StatusCode, what: &str) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await.with_context(|| format!("{what}: reading the body"))?;
    ensure!(status == want, "{what}: HTTP {status} (wanted {want}): {text}");
    serde_json::from_str(&text).with_context(|| format!("{what}: body is not JSON: {text}"))
}

/// A private queue bound to `myelin.events`, collecting every envelope published there.
struct EventTap {
    events: Arc<Mutex<Vec<Result<Envelope, String>>>>,
    _conn: Connection,
}

impl EventTap {
    async fn bind(routing_key: &str) -> anyhow::Result<Self> {
        let url = amqp_url();
        let conn = Connection::connect(&url, ConnectionProperties::default())
            .await
            .with_context(|| {
                format!("cannot connect to RabbitMQ at {url} (is it running? see scripts/ensure-services.sh)")
            })?;
        let channel = conn.create_channel().await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                EVENTS_EXCHANGE.into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        let queue = format!("myelin.e2e.{}", unique_suffix());
        let private = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), private, FieldTable::default())
            .await?;
        let bind = QueueBindOptions::default();
        let no_args = FieldTable::default();
        channel
            .queue_bind(
                queue.as_str().into(),
                EVENTS_EXCHANGE.into(),
                routing_key.into(),
                bind,
                no_args,
            )
            .await?;
        let no_ack = BasicConsumeOptions {
            no_ack: true,
            ..BasicConsumeOptions::default()
        };
        let mut consumer = channel
            .basic_consume(queue.as_str().into(), "e2e".into(), no_ack, FieldTable::default())
            .await?;
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                let event = serde_json::from_slice::<Envelope>(&delivery.data)
                    .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&delivery.data)));
                sink.lock().unwrap().push(event);
            }
        });
        Ok(Self { events, _conn: conn })
    }

    /// Waits until `run.created` envelopes of `project`, with distinct event ids, announced each of `uuids`.
    async fn wait_for_run_created(
        &self,
        project: &str,
        uuids: &BTreeSet<RunUuid>,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (ids, announced) = {
                let events = self.events.lock().unwrap();
                if let Some(Err(bad)) = events.iter().find(|e| e.is_err()) {
                    bail!("a message on {EVENTS_EXCHANGE} is not an envelope: {bad}");
                }
                let mut ids = HashSet::new();
                let mut announced = HashSet::new();
                for env in events.iter().flatten().filter(|e| e.type_ == RUN_CREATED) {
                    let run: RunEvent = env
                        .payload_as()
                        .with_context(|| format!("run.created payload: {env:?}"))?;
                    if run.project == project && uuids.contains(&run.run) {
                        ids.insert(env.id);
                        announced.insert(run.run);
                    }
                }
                (ids.len(), announced.len())
            };
            if announced == uuids.len() && ids >= uuids.len() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let seen = self.events.lock().unwrap().len();
                bail!(
                    "after {timeout:?}: run.created announced {announced}/{} runs ({ids} event ids, {seen} messages)",
                    uuids.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
