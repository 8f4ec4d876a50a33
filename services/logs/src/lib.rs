//! The logs service: persists each run's live log stream in chunks to the blob store (traceml's
//! layout, `<run uuid>/plxlogs/`) and serves the log in Polyaxon's streams API shape, plus a live
//! tail over Server-Sent Events.
//!
//! Map of the crate:
//! - [`config`]: [`Settings`] (`MYELIN_LOGS__*`);
//! - [`domain`]: pure logic — the `V1Log` line format, chunk names and bodies, paging;
//! - [`store`]: chunks, live streams, run states, follow claims and the registry, behind the ports;
//! - [`ingest`]: run events → following runs → chunk files;
//! - [`http`]: routes, the OpenAPI document;
//! - [`artifacts`]: run artifacts on the blob store (upload, download, tree, delete, `.plx` ingestion);
//! - [`error`]: [`Error`] and its HTTP answers.
//!
//! [`App`] ties them together: `App::build(settings, deps)` then `router()` (embedded in the
//! gateway) + `spawn_background()`, or `run_until_stopped()` (the `logs` binary).

pub mod artifacts;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod ingest;
pub mod store;

use std::sync::Arc;

use myelin_common::blob::SharedBlob;
use myelin_common::bus::SharedBus;
use myelin_common::coord::SharedCoord;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use error::Error;

use crate::http::{AppState, ReadConfig};
use crate::ingest::{FollowConfig, Ingestor};
use crate::store::LogStore;

/// What the logs service needs from outside: the bus (run events), the coordination store (live
/// streams, claims, run states) and the blob store (chunks).
pub struct Deps {
    pub bus: SharedBus,
    pub coord: SharedCoord,
    pub blob: SharedBlob,
}

/// A built logs service, ready to serve.
#[derive(Clone)]
pub struct App {
    settings: Arc<Settings>,
    state: AppState,
    artifacts: artifacts::State,
}

impl App {
    /// Declares the run-event queue (so events published from now on wait for the consumer).
    pub async fn build(settings: Settings, deps: Deps) -> Result<App, Error> {
        ingest::events::declare(&deps.bus, &settings.events_queue).await?;
        let config = ReadConfig {
            max_page_lines: settings.max_page_lines,
            chunk_lines: settings.chunk_lines(),
            tail_poll: settings.tail_poll(),
        };
        let artifacts = artifacts::State::new(deps.blob.clone(), deps.bus.clone(), settings.artifacts.clone());
        let state = AppState {
            store: LogStore::new(deps.blob, deps.coord),
            bus: deps.bus,
            config: Arc::new(config),
            stopping: CancellationToken::new(),
        };
        Ok(App {
            settings: Arc::new(settings),
            state,
            artifacts,
        })
    }

    /// Every route, with its state and without the common layers (the caller adds them, once).
    pub fn router(&self) -> axum::Router {
        self.routes().merge(artifacts::upload_router(self.artifacts.clone()))
    }

    /// Every route but the uploads (which have their own body limit and timeout).
    fn routes(&self) -> axum::Router {
        http::router(self.state.clone()).merge(artifacts::router(self.artifacts.clone()))
    }

    /// The store (tests and tools).
    pub fn store(&self) -> &LogStore {
        &self.state.store
    }

    /// Starts consuming run events and following runs (resuming those left unfinished). When
    /// `shutdown` is cancelled: live tails end, the consumer stops after the events in hand, and
    /// followers give their runs up; the handle completes once all of that is done.
    pub fn spawn_background(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let ingestor = Ingestor::new(
            self.state.store.clone(),
            FollowConfig::from_settings(&self.settings),
            shutdown.clone(),
        );
        let bus = self.state.bus.clone();
        let prefetch = self.settings.prefetch;
        let queue = self.settings.events_queue.clone();
        let stopping = self.state.stopping.clone();
        tokio::spawn(async move {
            let stop_tails = async {
                shutdown.cancelled().await;
                stopping.cancel();
            };
            let consume = ingest::events::consume(bus, queue, ingestor.clone(), prefetch, shutdown.clone());
            tokio::join!(stop_tails, consume, ingestor.clone().sweep_forever());
            ingestor.wait().await;
        })
    }

    /// Binds `settings.listen` and serves until `shutdown`; see [`App::serve`].
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.settings.listen))?;
        self.serve(listener, shutdown).await
    }

    /// Serves on `listener` with the common layers and runs the background work until `shutdown`.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, "logs listening");
        // A child token: the background work also stops when the server fails on its own.
        let stop = shutdown.child_token();
        let background = self.spawn_background(stop.clone());
        let uploads = artifacts::upload_router(self.artifacts.clone());
        let upload_limits = artifacts::upload_limits(&self.settings.artifacts);
        let router = myelin_common::http::common_layers(self.routes(), &self.settings.http)
            .merge(myelin_common::http::common_layers(uploads, &upload_limits));
        let served = myelin_common::http::serve(listener, router, shutdown).await;
        stop.cancel();
        background
            .await
            .map_err(|e| anyhow::anyhow!("logs background task failed: {e}"))?;
        served.map_err(|e| anyhow::anyhow!("HTTP server failed: {e}"))
    }
}
