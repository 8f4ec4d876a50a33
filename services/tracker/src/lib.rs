//! The tracker: projects and runs with Polyaxon's API v1 paths and JSON shapes, the run lifecycle
//! rules, and a transactional outbox that publishes `run.*`/`project.*` events on `myelin.events`.
//!
//! Map of the crate:
//! - [`config`]: [`Settings`] (`MYELIN_TRACKER__*`);
//! - [`context`]: [`RequestContext`], who is asking (from the gateway's headers);
//! - [`http`]: routes, extractors, the OpenAPI document;
//! - [`domain`]: pure logic — lifecycle rules, list parameters, run construction and patches;
//! - [`store`]: sea-orm entities, migrations, repository functions (one transaction per change,
//!   outbox row included);
//! - [`bus`]: the outbox relay, the status-report and collected-series consumers;
//! - [`error`]: [`Error`] and its HTTP answers.
//!
//! [`App`] ties them together: `App::build(settings, deps)` then `router()` (embedded in the
//! gateway) + `spawn_background()` (relay + status reports), or `run_until_stopped()` (the `tracker` binary).

pub mod bus;
pub mod config;
pub mod context;
pub mod domain;
pub mod error;
pub mod http;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use myelin_common::bus::SharedBus;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use context::RequestContext;
pub use error::Error;

use crate::bus::collected::Collected;
use crate::bus::relay::Relay;
use crate::bus::status_reports::StatusReports;
use crate::http::AppState;
use crate::store::Store;

/// What the tracker needs from outside: a database and a bus.
pub struct Deps {
    pub db: DatabaseConnection,
    pub bus: SharedBus,
}

/// A built tracker, ready to serve.
#[derive(Clone)]
pub struct App {
    settings: Arc<Settings>,
    state: AppState,
    wake: Arc<Notify>,
}

impl App {
    /// Runs the migrations and makes sure the default owner exists.
    pub async fn build(settings: Settings, deps: Deps) -> Result<App, Error> {
        store::migrate(&deps.db).await?;
        store::ensure_owner(&deps.db, &settings.default_owner).await?;
        let wake = Arc::new(Notify::new());
        let state = AppState {
            store: Store::new(deps.db, wake.clone()),
            bus: deps.bus,
            ready: Arc::new(AtomicBool::new(true)),
            tracking: Arc::new(settings.tracking.clone()),
        };
        Ok(App {
            settings: Arc::new(settings),
            state,
            wake,
        })
    }

    /// Every route (`/api/v1/...`, `/internal/openapi.json`, `/healthz`, `/readyz`), with its state
    /// and without the common layers (the caller adds them, once).
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The store (tests and tools).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Starts the outbox relay and the status-report and collected-series consumers; they stop when
    /// `shutdown` is cancelled (the consumers after the message in hand, the relay after a last round,
    /// so it publishes what the consumers committed).
    pub fn spawn_background(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let relay = Relay::new(
            self.state.store.clone(),
            self.state.bus.clone(),
            self.settings.outbox.clone(),
            self.wake.clone(),
        );
        let reports = StatusReports::new(
            self.state.store.clone(),
            self.state.bus.clone(),
            self.settings.status_reports_queue.clone(),
        );
        let collected = Collected::new(
            self.state.store.clone(),
            self.state.bus.clone(),
            self.settings.tracking.collected_queue.clone(),
        );
        tokio::spawn(async move {
            let relay_stop = CancellationToken::new();
            let relay = tokio::spawn(relay.run(relay_stop.clone()));
            let collected = tokio::spawn(collected.run(shutdown.clone()));
            reports.run(shutdown).await;
            if let Err(err) = collected.await {
                tracing::error!(error = %err, "collected-series consumer task failed");
            }
            relay_stop.cancel();
            if let Err(err) = relay.await {
                tracing::error!(error = %err, "outbox relay task failed");
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

    /// Serves on `listener` with the common layers and runs the background tasks. On `shutdown`:
    /// readiness goes false, in-flight requests finish, then the status-report consumer stops and the
    /// relay publishes what was committed and stops.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, "tracker listening");
        let relay_stop = CancellationToken::new();
        let relay = self.spawn_background(relay_stop.clone());
        let ready = self.state.ready.clone();
        let watcher = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                ready.store(false, Ordering::SeqCst);
            })
        };
        let router = myelin_common::http::common_layers(self.router(), &self.settings.http);
        let served = myelin_common::http::serve(listener, router, shutdown).await;
        relay_stop.cancel();
        watcher.abort();
        relay
            .await
            .map_err(|e| anyhow::anyhow!("background tasks failed: {e}"))?;
        served.map_err(|e| anyhow::anyhow!("HTTP server failed: {e}"))
    }
}
