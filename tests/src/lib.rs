//! Helpers shared by Myelin's end-to-end tests (`tests/tests/*.rs`).
//!
//! The end-to-end tests start the real binaries (`tracker`, `gateway`, `myelin`) as separate processes
//! on real PostgreSQL and RabbitMQ, and talk to them over HTTP and AMQP only.
//!
//! - [`binary`]: where a workspace binary was built (`cargo build --workspace` first).
//! - [`proc::Proc`]: a child process whose output is captured to files, printed when the test fails,
//!   and which is killed when the guard drops.
//! - [`free_port`], [`wait_ready`]: listening ports and readiness polling with a deadline.
//! - [`fresh_pg_database`]: a uniquely named PostgreSQL database, dropped with its guard.
//! - [`cluster::Cluster`]: gateway, tracker, scheduler, logs and N executors as processes, isolated
//!   (fresh database, private RabbitMQ vhost, unique Redis prefix); [`api::RunsApi`]: its REST calls.
//! - [`database_url`], [`amqp_url`], [`redis_url`]: the real services, from env with loopback defaults.

pub mod api;
pub mod browser;
pub mod cluster;
pub mod proc;
pub mod vhost;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use myelin_common::db::testing::TestDbGuard;
pub use proc::Proc;

/// `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres` (an admin connection: the tests
/// create and drop databases through it).
pub fn database_url() -> String {
    myelin_common::db::testing::database_url()
}

/// Creates a uniquely named PostgreSQL database on the server of [`database_url`] for processes under test.
/// Returns its URL and the guard that drops it (with any connection left) when dropped. Fails the test
/// loudly when PostgreSQL cannot be reached.
pub async fn fresh_pg_database() -> (String, TestDbGuard) {
    let (db, url, guard) = myelin_common::db::testing::fresh_postgres().await;
    let _ = db.close().await;
    (url, guard)
}

/// The password every test deployment gives its owner account `admin` (org `default`).
pub const ADMIN_PASSWORD: &str = "e2e-admin-password";

/// Logs `username` in through the gateway at `url`: their token.
pub async fn login(url: &str, username: &str, password: &str) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", url.trim_end_matches('/')))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .context("POST /api/v1/auth/token")?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.context("login answer")?;
    if !status.is_success() {
        bail!("login as {username} failed with {status}: {body}");
    }
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("a login answer without token")
}

/// An HTTP client sending `Authorization: Token <token>` on every request.
pub fn client_with_token(token: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Token {token}"))?;
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// `AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
pub fn amqp_url() -> String {
    env_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
}

/// `REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    env_or("REDIS_URL", "redis://127.0.0.1:6379")
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Installs the process-wide rustls provider used by reqwest. Harmless when called twice.
pub fn init() {
    myelin_common::install_crypto_provider();
}

/// The cargo target profile directory the running test was built into (`target/debug`, or
/// `$CARGO_TARGET_DIR/debug`): the test executable lives in its `deps/` folder.
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the test executable")?;
    let mut dir = exe
        .parent()
        .map(PathBuf::from)
        .context("test executable has no parent folder")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The path of the workspace binary `name` (e.g. `tracker`), next to the test's own build.
///
/// Fails with a clear message when it was not built: integration tests of this crate do not build the
/// other packages' binaries, so run `cargo build --workspace` first.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let dir = target_dir()?;
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "binary `{name}` not found at {}: run `cargo build --workspace` first",
            path.display()
        );
    }
    Ok(path)
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind an ephemeral port")?;
    Ok(listener.local_addr().context("ephemeral port has no address")?.port())
}

/// Polls `{base_url}/readyz` until it answers 200, failing after `timeout` with the last answer seen.
pub async fn wait_ready(base_url: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let url = format!("{}/readyz", base_url.trim_end_matches('/'));
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.get(&url).send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => format!("HTTP {}", resp.status()),
            Err(err) => format!("{err}"),
        };
        if Instant::now() >= deadline {
            bail!("{url} not ready after {timeout:?}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A short random suffix for names that must be unique per test (databases, queues, projects).
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
