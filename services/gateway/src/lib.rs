//! myelin-gateway: the only public listener.
//!
//! Answers its own routes (health, installation/compatibility for the official CLI, the merged
//! OpenAPI document) and forwards everything else to the service that owns the path, in-process
//! (embedded mode) or over HTTP to N health-checked replicas (distributed mode).
//!
//! - [`config`] — [`Settings`].
//! - [`routes`] — the route table (service → path prefixes).
//! - [`context`] — the request context (`x-request-id`, `x-myelin-subject`, `x-myelin-org`) and the
//!   `authenticate` step where auth will plug in.
//! - [`upstream`] — [`Upstream`] (in-process router or HTTP replicas) and the HTTP pool.
//! - [`proxy`] — the forwarding handler.
//! - [`http`] — own routes and the public router.
//! - [`error`] — `gateway.*` errors.

pub mod config;
pub mod context;
pub mod error;
pub mod http;
pub mod proxy;
pub mod routes;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use myelin_contracts::installation::Installation;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use routes::Service;
pub use upstream::Upstream;

/// How the gateway reaches each service.
#[derive(Debug, Clone)]
pub struct Deps {
    pub tracker: Upstream,
    pub logs: Upstream,
}

impl Deps {
    /// HTTP upstreams from the settings' urls (distributed mode).
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            tracker: Upstream::Http(settings.tracker_urls.clone()),
            logs: Upstream::Http(settings.logs_urls.clone()),
        }
    }
}

/// State shared by the gateway's handlers.
pub struct State {
    backends: Vec<(Service, upstream::Backend)>,
    upstream_timeout: Duration,
    upload_timeout: Duration,
    stopping: AtomicBool,
    installation: Installation,
    openapi: http::openapi::Cache,
}

impl State {
    /// The upstream of `service`.
    pub fn backend(&self, service: Service) -> Option<&upstream::Backend> {
        self.backends
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, backend)| backend)
    }

    /// How long an upload may take to be answered.
    pub fn upload_timeout(&self) -> Duration {
        self.upload_timeout
    }

    /// True once shutdown has started.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// A built gateway: its state, router and bound listener.
pub struct App {
    state: Arc<State>,
    router: Router,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl App {
    /// Starts the upstreams (HTTP pools begin health checking) and binds `settings.listen`.
    pub async fn build(settings: Settings, deps: Deps) -> anyhow::Result<App> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .context("cannot build the upstream HTTP client")?;
        let interval = settings.health_interval();
        let backends = vec![
            (
                Service::Tracker,
                upstream::Backend::start(Service::Tracker, deps.tracker, &client, interval),
            ),
            (
                Service::Logs,
                upstream::Backend::start(Service::Logs, deps.logs, &client, interval),
            ),
        ];
        let key = settings
            .installation_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let installation = Installation {
            key,
            version: http::meta::VERSION.to_owned(),
            dist: "ce".to_owned(),
            mode: Some(settings.mode.clone()),
            ..Installation::default()
        };
        let state = Arc::new(State {
            backends,
            upstream_timeout: settings.upstream_timeout(),
            upload_timeout: Duration::from_secs(settings.uploads.request_timeout_secs),
            stopping: AtomicBool::new(false),
            installation,
            openapi: http::openapi::Cache::default(),
        });
        let router = http::router(Arc::clone(&state), &settings.http, &settings.uploads);
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let local_addr = listener.local_addr().context("cannot read the listener address")?;
        Ok(App {
            state,
            router,
            listener,
            local_addr,
        })
    }

    /// The public router (for `oneshot` tests or to serve it elsewhere).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The address the listener is bound to (the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled: readiness turns false first, then the listener stops
    /// accepting and in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = Arc::clone(&self.state);
        let serving = CancellationToken::new();
        let stop_serving = serving.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            state.stopping.store(true, Ordering::SeqCst);
            stop_serving.cancel();
        });
        tracing::info!(addr = %self.local_addr, "gateway listening");
        myelin_common::http::serve(self.listener, self.router, serving)
            .await
            .context("gateway server failed")
    }
}
