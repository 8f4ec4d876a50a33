//! The executor: a Celery (protocol v2) worker consuming run queues, that runs each dispatched
//! attempt of a run (task `myelin.execute_run`) as a local process, streams its output to the run's
//! live log stream and reports its statuses on the bus.
//!
//! Map of the crate:
//! - [`config`]: [`Settings`] (`MYELIN_EXECUTOR__*`);
//! - [`task`]: the Celery task, from the dispatched run to its final status;
//! - [`runtime`]: the [`runtime::Runtime`] port and the `process` runtime;
//! - [`launch`]: the run's directory, command line and environment;
//! - [`logship`]: output lines → the coordination stream `logs:<run>`;
//! - [`report`]: `run.status.reported` envelopes;
//! - [`lease`]: one execution per attempt across replicas;
//! - [`http`]: `/healthz`, `/readyz`;
//! - [`submit`]: Celery-style submission (`myelin.submit`, `myelin.status`, component tasks) on
//!   its own worker for `celery_queues`, on when `api_token` is set;
//! - [`error`]: [`Error`], why the executor could not start.
//!
//! [`App`] ties them together: `App::build(settings, deps)` then `router()` + `spawn_background()`
//! (embedded in `myelin server`), or `run_until_stopped()` (the `executor` binary).

pub mod collector;
pub mod config;
pub mod error;
pub mod http;
pub mod launch;
pub mod lease;
pub mod logship;
pub mod report;
pub mod runtime;
pub mod submit;
pub mod task;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use myelin_celery::{Producer, Worker, WorkerConfig};
use myelin_common::bus::{ExchangeKind, SharedBus};
use myelin_common::coord::SharedCoord;
use myelin_common::run_token::RunTokenKey;
use myelin_contracts::events::EVENTS_EXCHANGE;
use myelin_contracts::execution::{EXECUTE_RUN_TASK, run_queue};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use error::Error;

use crate::collector::Collector;
use crate::lease::Leases;
use crate::report::Reporter;
use crate::runtime::{ProcessRuntime, Runtime};
use crate::task::ExecuteRunTask;

/// What the executor needs from outside: the bus (tasks in, reports out) and the coordination
/// store (log streams, leases).
pub struct Deps {
    pub bus: SharedBus,
    pub coord: SharedCoord,
}

/// A built executor, ready to consume.
#[derive(Clone)]
pub struct App {
    settings: Arc<Settings>,
    bus: SharedBus,
    coord: SharedCoord,
    runtime: Arc<dyn Runtime>,
    artifacts_root: PathBuf,
    ready: Arc<AtomicBool>,
}

impl App {
    /// Creates the artifacts root and declares the events exchange and the run queues.
    pub async fn build(settings: Settings, deps: Deps) -> Result<App, Error> {
        if settings.queues.is_empty() {
            return Err(Error::NoQueues);
        }
        let artifacts_root = settings.artifacts_root();
        std::fs::create_dir_all(&artifacts_root).map_err(|source| Error::ArtifactsRoot {
            path: artifacts_root.clone(),
            source,
        })?;
        let artifacts_root = std::path::absolute(&artifacts_root).unwrap_or(artifacts_root);
        deps.bus
            .declare_exchange(EVENTS_EXCHANGE, ExchangeKind::Topic)
            .await
            .map_err(|e| Error::Declare(e.to_string()))?;
        let producer = Producer::new(deps.bus.clone());
        for queue in &settings.queues {
            producer
                .declare_queue(&run_queue(queue))
                .await
                .map_err(|e| Error::Declare(e.to_string()))?;
        }
        Ok(App {
            settings: Arc::new(settings),
            bus: deps.bus,
            coord: deps.coord,
            runtime: Arc::new(ProcessRuntime::default()),
            artifacts_root,
            ready: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `/healthz` and `/readyz`, without the common layers (the caller adds them, once).
    pub fn router(&self) -> axum::Router {
        http::router(http::Health {
            bus: self.bus.clone(),
            coord: self.coord.clone(),
            ready: self.ready.clone(),
        })
    }

    /// Runs the Celery worker until `shutdown`; then it stops consuming and lets running tasks finish
    /// (for at most `shutdown_grace_secs`: later, they are killed and their tasks requeued).
    pub fn spawn_background(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let work = self.work(shutdown);
        tokio::spawn(async move {
            if let Err(err) = work.await {
                tracing::error!(error = %err, "the executor's worker stopped");
            }
        })
    }

    /// Binds `settings.listen` and serves until `shutdown`; see [`App::serve`].
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.settings.listen))?;
        self.serve(listener, shutdown).await
    }

    /// Serves the health routes on `listener` and runs the worker until `shutdown` (or until the
    /// worker fails, which stops the server and is returned).
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, hostname = %self.settings.hostname, queues = ?self.settings.queues, "executor listening");
        let stop = shutdown.child_token();
        let worker = tokio::spawn(self.work(shutdown.clone()));
        let router = myelin_common::http::common_layers(self.router(), &self.settings.http);
        let server = tokio::spawn(myelin_common::http::serve(listener, router, stop.clone()));
        let worked = worker
            .await
            .map_err(|e| anyhow::anyhow!("the worker task failed: {e}"))?;
        stop.cancel();
        let served = server
            .await
            .map_err(|e| anyhow::anyhow!("the HTTP server task failed: {e}"))?;
        worked.map_err(|e| anyhow::anyhow!("the worker failed: {e}"))?;
        served.map_err(|e| anyhow::anyhow!("HTTP server failed: {e}"))
    }

    /// The workers' run (the run worker, and the submission worker when on), with readiness true
    /// while they consume. If one fails, the other stops too and the error is returned.
    fn work(&self, shutdown: CancellationToken) -> impl Future<Output = Result<(), myelin_celery::Error>> + use<> {
        // Cancelled on shutdown, or when a worker fails: the other stops then.
        let shutdown = shutdown.child_token();
        let settings = self.settings.clone();
        let task = ExecuteRunTask {
            runtime: self.runtime.clone(),
            reporter: Reporter::new(self.bus.clone(), settings.hostname.clone()),
            coord: self.coord.clone(),
            leases: Leases::new(self.coord.clone(), Duration::from_secs(settings.lease_secs)),
            launch: launch::Context {
                artifacts_root: self.artifacts_root.clone(),
                public_host: settings.public_host.clone(),
                run_tokens: settings.run_token_secret.as_ref().map(RunTokenKey::new),
            },
            hostname: settings.hostname.clone(),
            kill_grace: Duration::from_secs(settings.kill_grace_secs),
            log_stream_max_len: settings.log_stream_max_len,
            collector: Collector::new(self.bus.clone(), Duration::from_millis(settings.collect_interval_ms)),
            shutdown: shutdown.clone(),
        };
        let mut worker = Worker::new(
            self.bus.clone(),
            WorkerConfig {
                hostname: settings.hostname.clone(),
                queues: settings.queues.iter().map(|q| run_queue(q)).collect(),
                prefetch: settings.prefetch,
                concurrency: settings.concurrency.max(1),
            },
        );
        worker.register(EXECUTE_RUN_TASK, Arc::new(task));
        if settings.shutdown_grace_secs > 0 {
            worker = worker.with_shutdown_grace(Duration::from_secs(settings.shutdown_grace_secs));
        }
        let submit = match submit::worker(&settings, self.bus.clone(), shutdown.clone()) {
            // Submissions only wait for their runs: on shutdown they go back to the queue at once
            // (the next delivery finds the run it created and waits for it).
            Ok(worker) => Ok(worker.map(|w| w.with_shutdown_grace(Duration::ZERO))),
            Err(err) => Err(myelin_celery::Error::Config(format!("Celery submission: {err}"))),
        };
        let ready = self.ready.clone();
        ready.store(!shutdown.is_cancelled(), Ordering::SeqCst);
        let results_url = settings
            .celery_result_backend
            .as_ref()
            .map(|url| url.expose_secret().to_owned());
        let bus = self.bus.clone();
        async move {
            let submit = match (submit?, results_url) {
                (Some(worker), Some(url)) => {
                    Some(worker.with_backend(myelin_celery::connect::backend(&url, bus).await?))
                }
                (worker, _) => worker,
            };
            let watcher = {
                let ready = ready.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    shutdown.cancelled().await;
                    ready.store(false, Ordering::SeqCst);
                })
            };
            let runs = async {
                let result = worker.run(shutdown.clone()).await;
                shutdown.cancel();
                result
            };
            let submissions = async {
                let Some(submit) = submit else { return Ok(()) };
                let result = submit.run(shutdown.clone()).await;
                shutdown.cancel();
                result
            };
            let (result, submitted) = tokio::join!(runs, submissions);
            let result = result.and(submitted);
            ready.store(false, Ordering::SeqCst);
            watcher.abort();
            result
        }
    }
}
