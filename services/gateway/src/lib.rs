//! myelin-gateway: the only public listener.
//!
//! Answers its own routes (health, installation/compatibility for the official CLI, the merged
//! OpenAPI document) and forwards everything else to the service that owns the path, in-process
//! (embedded mode) or over HTTP to N health-checked replicas (distributed mode).
//!
//! - [`config`] — [`Settings`].
//! - [`routes`] — the route table: (method, path) → who answers and the permission needed.
//! - [`access`] — tokens, decisions (asked of auth, cached) and run tokens.
//! - [`context`] — the request context (`x-request-id`, `x-myelin-subject`, `x-myelin-org`).
//! - [`upstream`] — [`Upstream`] (in-process router or HTTP replicas) and the HTTP pool.
//! - [`proxy`] — the forwarding handler.
//! - [`http`] — own routes and the public router.
//! - [`error`] — `gateway.*` errors.

pub mod access;
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
use myelin_common::coord::SharedCoord;
use myelin_common::coord::redis::RedisCoord;
use myelin_common::run_token::RunTokenKey;
use myelin_contracts::installation::Installation;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use routes::Service;
pub use upstream::Upstream;

/// How the gateway reaches each service.
#[derive(Clone)]
pub struct Deps {
    pub tracker: Upstream,
    pub logs: Upstream,
    /// The auth service and the decision cache's store; `None` runs without access control
    /// (`myelin server --no-auth`: every request is `anonymous` and may do everything).
    pub auth: Option<AuthDeps>,
}

/// What access control needs.
#[derive(Clone)]
pub struct AuthDeps {
    pub upstream: Upstream,
    /// Where decisions are cached and invalidations heard (Redis, or in-process when embedded).
    pub coord: SharedCoord,
}

impl Deps {
    /// HTTP upstreams from the settings' urls and, with access enabled, Redis (distributed mode).
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let auth = if settings.access.enabled {
            let coord = RedisCoord::connect(settings.redis_url.expose_secret(), &settings.redis)
                .await
                .context("cannot connect to Redis (the decision cache)")?;
            Some(AuthDeps {
                upstream: Upstream::Http(settings.auth_urls.clone()),
                coord: Arc::new(coord),
            })
        } else {
            tracing::warn!("access control is OFF (access.enabled = false): anyone may do anything");
            None
        };
        Ok(Self {
            tracker: Upstream::Http(settings.tracker_urls.clone()),
            logs: Upstream::Http(settings.logs_urls.clone()),
            auth,
        })
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
    access: access::Access,
    ownership: access::RunOwnership,
    audit: Option<access::AuditSink>,
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

    /// Where audit records go: present exactly when access control is on.
    pub fn audit(&self) -> Option<&access::AuditSink> {
        self.audit.as_ref()
    }

    /// True once shutdown has started.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// A built gateway: its state, router and bound listener.
pub struct App {
    state: Arc<State>,
    /// Stops the invalidation listener and the audit sender once the server has drained.
    background: tokio_util::sync::CancellationToken,
    /// The audit sender, awaited (briefly) after the server has drained.
    audit_sender: Option<tokio::task::JoinHandle<()>>,
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
        let mut backends = vec![
            (
                Service::Tracker,
                upstream::Backend::start(Service::Tracker, deps.tracker, &client, interval),
            ),
            (
                Service::Logs,
                upstream::Backend::start(Service::Logs, deps.logs, &client, interval),
            ),
        ];
        let background = CancellationToken::new();
        let (mut audit, mut audit_sender) = (None, None);
        let access = match deps.auth {
            Some(auth) => {
                let backend = upstream::Backend::start(Service::Auth, auth.upstream, &client, interval);
                let (sink, sender) = access::AuditSink::start(
                    backend.clone(),
                    settings.access.internal_token.clone(),
                    settings.upstream_timeout(),
                    background.clone(),
                );
                (audit, audit_sender) = (Some(sink), Some(sender));
                backends.push((Service::Auth, backend));
                let cache = access::DecisionCache::new(auth.coord, settings.access.decision_ttl());
                cache
                    .listen(background.clone())
                    .await
                    .context("cannot subscribe to decision-cache invalidations")?;
                access::Access::enforced(
                    cache,
                    settings.access.run_token_secret.as_ref().map(RunTokenKey::new),
                    settings.access.internal_token.clone(),
                    settings.upstream_timeout(),
                )
            }
            None => access::Access::open(),
        };
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
            access,
            ownership: access::RunOwnership::default(),
            audit,
        });
        let router = http::router(Arc::clone(&state), &settings.http, &settings.uploads);
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let local_addr = listener.local_addr().context("cannot read the listener address")?;
        Ok(App {
            state,
            background,
            audit_sender,
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
        tracing::info!(addr = %self.local_addr, access = self.state.access.is_enforced(), "gateway listening");
        let served = myelin_common::http::serve(self.listener, self.router, serving)
            .await
            .context("gateway server failed");
        self.background.cancel();
        if let Some(sender) = self.audit_sender
            && tokio::time::timeout(Duration::from_secs(10), sender).await.is_err()
        {
            tracing::error!("audit records still undelivered after 10 s at shutdown");
        }
        served
    }
}
