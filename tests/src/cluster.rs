//! [`Cluster`]: a distributed deployment as separate processes — `gateway`, `auth`, `tracker`,
//! `scheduler`, `logs` and N `executor`s — on a fresh PostgreSQL database, a private RabbitMQ vhost and a unique
//! Redis key prefix, so several clusters never see each other's data.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tempfile::TempDir;

use crate::vhost::Vhost;
use crate::{Proc, TestDbGuard, binary, free_port, fresh_pg_database, redis_url, unique_suffix};

/// How big a cluster to start.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Executor processes.
    pub executors: usize,
    /// Runs each executor executes at once (and task messages it prefetches).
    pub executor_concurrency: usize,
    /// The scheduler's global concurrency limit.
    pub max_concurrency: u32,
    /// Seconds an executor's run lease lives without renewal.
    pub lease_secs: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            executors: 2,
            executor_concurrency: 8,
            max_concurrency: 50,
            lease_secs: 3,
        }
    }
}

/// The processes of one deployment; everything stops (SIGKILL) and is deleted when it drops.
pub struct Cluster {
    /// `http://127.0.0.1:<port>` of the gateway.
    pub gateway_url: String,
    pub gateway: Proc,
    pub auth: Proc,
    /// A login token of the owner `admin` of org `default`.
    pub token: String,
    pub tracker: Proc,
    pub scheduler: Proc,
    pub logs: Proc,
    pub executors: Vec<Proc>,
    /// Each executor's artifacts root (`<root>/<run uuid>/` is a run's working directory).
    pub artifacts_roots: Vec<PathBuf>,
    _data: TempDir,
    _vhost: Vhost,
    _db: TestDbGuard,
}

fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    all.push(("RUST_LOG".into(), "info".into()));
    all
}

impl Cluster {
    /// Starts every process and waits until each is ready.
    pub async fn start(options: ClusterOptions) -> anyhow::Result<Self> {
        let (database_url, db) = fresh_pg_database().await;
        let vhost = Vhost::create()?;
        let amqp = vhost.amqp_url();
        let redis = redis_url();
        let prefix = format!("myelin-e2e-{}:", unique_suffix());
        let data = tempfile::tempdir().context("cannot create the cluster's data folder")?;
        let ready = Duration::from_secs(60);

        let (tracker_url, tracker_port) = local_url()?;
        let mut tracker = Proc::spawn(
            "tracker",
            &binary("tracker")?,
            &[],
            env(&[
                ("MYELIN_TRACKER__LISTEN", format!("127.0.0.1:{tracker_port}")),
                ("MYELIN_TRACKER__DATABASE_URL", database_url.clone()),
                ("MYELIN_TRACKER__AMQP_URL", amqp.clone()),
            ]),
        )?;
        tracker.wait_ready(&tracker_url, ready).await?;

        let artifacts = data.path().join("artifacts");
        let (scheduler_url, scheduler_port) = local_url()?;
        let mut scheduler = Proc::spawn(
            "scheduler",
            &binary("scheduler")?,
            &[],
            env(&[
                ("MYELIN_SCHEDULER__LISTEN", format!("127.0.0.1:{scheduler_port}")),
                ("MYELIN_SCHEDULER__DATABASE_URL", database_url.clone()),
                ("MYELIN_SCHEDULER__AMQP_URL", amqp.clone()),
                ("MYELIN_SCHEDULER__MAX_CONCURRENCY", options.max_concurrency.to_string()),
                ("MYELIN_SCHEDULER__ARTIFACTS_ROOT", artifacts.display().to_string()),
            ]),
        )?;
        let (logs_url, logs_port) = local_url()?;
        let mut logs = Proc::spawn(
            "logs",
            &binary("logs")?,
            &[],
            env(&[
                ("MYELIN_LOGS__LISTEN", format!("127.0.0.1:{logs_port}")),
                ("MYELIN_LOGS__AMQP_URL", amqp.clone()),
                ("MYELIN_LOGS__REDIS_URL", redis.clone()),
                ("MYELIN_LOGS__REDIS__KEY_PREFIX", prefix.clone()),
                ("MYELIN_LOGS__BLOB__KIND", "local".into()),
                (
                    "MYELIN_LOGS__BLOB__ROOT",
                    data.path().join("blob").display().to_string(),
                ),
            ]),
        )?;
        // Shared secrets: the gateway's key to auth's decision endpoint, the run-token key.
        let internal_token = format!("internal-{}", unique_suffix());
        let run_token_secret = format!("runs-{}", unique_suffix());
        let (auth_url, auth_port) = local_url()?;
        let mut auth = Proc::spawn(
            "auth",
            &binary("auth")?,
            &[],
            env(&[
                ("MYELIN_AUTH__LISTEN", format!("127.0.0.1:{auth_port}")),
                ("MYELIN_AUTH__DATABASE_URL", database_url.clone()),
                ("MYELIN_AUTH__REDIS_URL", redis.clone()),
                ("MYELIN_AUTH__REDIS__KEY_PREFIX", prefix.clone()),
                ("MYELIN_AUTH__INTERNAL_TOKEN", internal_token.clone()),
                ("MYELIN_AUTH__ADMIN_PASSWORD", crate::ADMIN_PASSWORD.to_owned()),
            ]),
        )?;
        auth.wait_ready(&auth_url, ready).await?;
        let (gateway_url, gateway_port) = local_url()?;
        let mut gateway = Proc::spawn(
            "gateway",
            &binary("gateway")?,
            &[],
            env(&[
                ("MYELIN_GATEWAY__LISTEN", format!("127.0.0.1:{gateway_port}")),
                ("MYELIN_GATEWAY__TRACKER_URLS", tracker_url),
                ("MYELIN_GATEWAY__LOGS_URLS", logs_url.clone()),
                ("MYELIN_GATEWAY__AUTH_URLS", auth_url),
                ("MYELIN_GATEWAY__REDIS_URL", redis.clone()),
                ("MYELIN_GATEWAY__REDIS__KEY_PREFIX", prefix.clone()),
                ("MYELIN_GATEWAY__ACCESS__INTERNAL_TOKEN", internal_token),
                ("MYELIN_GATEWAY__ACCESS__RUN_TOKEN_SECRET", run_token_secret.clone()),
            ]),
        )?;
        let mut executors = Vec::new();
        let mut artifacts_roots = Vec::new();
        for i in 1..=options.executors {
            let root = data.path().join(format!("executor-{i}")).join("artifacts");
            let (url, port) = local_url()?;
            let mut executor = Proc::spawn(
                &format!("executor-{i}"),
                &binary("executor")?,
                &[],
                env(&[
                    ("MYELIN_EXECUTOR__LISTEN", format!("127.0.0.1:{port}")),
                    ("MYELIN_EXECUTOR__AMQP_URL", amqp.clone()),
                    ("MYELIN_EXECUTOR__REDIS_URL", redis.clone()),
                    ("MYELIN_EXECUTOR__REDIS__KEY_PREFIX", prefix.clone()),
                    ("MYELIN_EXECUTOR__CONCURRENCY", options.executor_concurrency.to_string()),
                    ("MYELIN_EXECUTOR__PREFETCH", options.executor_concurrency.to_string()),
                    ("MYELIN_EXECUTOR__ARTIFACTS_ROOT", root.display().to_string()),
                    ("MYELIN_EXECUTOR__PUBLIC_HOST", gateway_url.clone()),
                    ("MYELIN_EXECUTOR__HOSTNAME", format!("executor-{i}@e2e")),
                    ("MYELIN_EXECUTOR__LEASE_SECS", options.lease_secs.to_string()),
                    ("MYELIN_EXECUTOR__KILL_GRACE_SECS", "2".into()),
                    ("MYELIN_EXECUTOR__RUN_TOKEN_SECRET", run_token_secret.clone()),
                ]),
            )?;
            executor.wait_ready(&url, ready).await?;
            executors.push(executor);
            artifacts_roots.push(root);
        }
        scheduler.wait_ready(&scheduler_url, ready).await?;
        logs.wait_ready(&logs_url, ready).await?;
        gateway.wait_ready(&gateway_url, ready).await?;
        let token = crate::login(&gateway_url, "admin", crate::ADMIN_PASSWORD).await?;
        Ok(Self {
            gateway_url,
            gateway,
            auth,
            token,
            tracker,
            scheduler,
            logs,
            executors,
            artifacts_roots,
            _data: data,
            _vhost: vhost,
            _db: db,
        })
    }

    /// Every process's captured output, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let procs = [&self.gateway, &self.auth, &self.tracker, &self.scheduler, &self.logs];
        for proc in procs.into_iter().chain(&self.executors) {
            out.push_str(&proc.logs());
            out.push('\n');
        }
        out
    }
}

fn local_url() -> anyhow::Result<(String, u16)> {
    let port = free_port()?;
    Ok((format!("http://127.0.0.1:{port}"), port))
}
