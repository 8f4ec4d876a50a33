//! The scheduler: consumes run events, compiles managed runs, queues them (FIFO) under a global
//! concurrency limit shared by every replica, dispatches each as a Celery protocol v2 task
//! `myelin.execute_run` on `myelin.runs.<queue>`, retries failed attempts, stops and revokes runs,
//! and reports every status it decides to the tracker (`run.status.reported`).
//!
//! Map of the crate:
//! - [`config`]: [`Settings`] (`MYELIN_SCHEDULER__*`);
//! - [`domain`]: pure logic — preparing a run from its Polyaxonfile, decisions on status changes
//!   and stops;
//! - [`store`]: its own tables (`scheduler_runs`, `scheduler_processed_events`), migrations, the
//!   dispatch claim;
//! - [`bus`]: the run-event consumer and its handlers, the dispatch loop, the status reporter;
//! - [`http`]: `/healthz`, `/readyz`, `/internal/queue`;
//! - [`error`]: the [`Error`] type.
//!
//! [`App`] ties them together: `App::build(settings, deps)` then `router()` + `spawn_background()`
//! (embedded mode), or `run_until_stopped()` (the `scheduler` binary).

pub mod bus;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use myelin_celery::Producer;
use myelin_common::bus::SharedBus;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use error::Error;

use crate::bus::dispatch::Dispatcher;
use crate::bus::events::Events;
use crate::bus::handlers::Handlers;
use crate::bus::reporter::Reporter;
use crate::http::AppState;
use crate::store::Store;

/// What the scheduler needs from outside: its database and a bus.
pub struct Deps {
    pub db: DatabaseConnection,
    pub bus: SharedBus,
}

/// A built scheduler.
#[derive(Clone)]
pub struct App {
    settings: Arc<Settings>,
    state: AppState,
    wake: Arc<Notify>,
}

impl App {
    /// Runs the migrations.
    pub async fn build(settings: Settings, deps: Deps) -> Result<App, Error> {
        store::migrate(&deps.db).await?;
        let wake = Arc::new(Notify::new());
        let state = AppState {
            store: Store::new(deps.db, wake.clone()),
            bus: deps.bus,
            max_concurrency: settings.max_concurrency,
            ready: Arc::new(AtomicBool::new(true)),
        };
        Ok(App {
            settings: Arc::new(settings),
            state,
            wake,
        })
    }

    /// `/healthz`, `/readyz` and `/internal/queue`, without the common layers.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The store (tests and tools).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Starts the run-event consumer and the dispatch loop; both stop when `shutdown` is cancelled,
    /// after the delivery or round in hand.
    pub fn spawn_background(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let bus = self.state.bus.clone();
        let reporter = Reporter::new(bus.clone());
        let handlers = Handlers {
            store: self.state.store.clone(),
            bus: bus.clone(),
            reporter: reporter.clone(),
            artifacts_root: self.settings.artifacts_root.clone(),
        };
        let events = Events::new(handlers, bus.clone(), self.settings.events_queue.clone());
        let dispatcher = Dispatcher::new(
            self.state.store.clone(),
            reporter.clone(),
            Producer::new(bus),
            self.settings.clone(),
            self.wake.clone(),
        );
        let ready = self.state.ready.clone();
        tokio::spawn(async move {
            if let Err(err) = reporter.declare().await {
                tracing::warn!(error = %err, "cannot declare the events exchange yet; publishing will retry");
            }
            let watcher = {
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    shutdown.cancelled().await;
                    ready.store(false, Ordering::SeqCst);
                })
            };
            let dispatching = tokio::spawn(dispatcher.run(shutdown.clone()));
            events.run(shutdown).await;
            if let Err(err) = dispatching.await {
                tracing::error!(error = %err, "dispatch loop failed");
            }
            watcher.abort();
        })
    }

    /// Binds `settings.listen` and runs until `shutdown`; see [`App::serve`].
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.settings.listen))?;
        self.serve(listener, shutdown).await
    }

    /// Serves the health routes on `listener` and runs the background tasks. On `shutdown`:
    /// readiness goes false, the consumer finishes the event in hand, the dispatch loop its round.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, "scheduler listening");
        let background = self.spawn_background(shutdown.clone());
        let router = myelin_common::http::common_layers(self.router(), &self.settings.http);
        let served = myelin_common::http::serve(listener, router, shutdown).await;
        background
            .await
            .map_err(|e| anyhow::anyhow!("background tasks failed: {e}"))?;
        served.map_err(|e| anyhow::anyhow!("HTTP server failed: {e}"))
    }
}
