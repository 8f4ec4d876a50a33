//! The auth service: users (argon2id passwords), organizations, members with roles, teams, project
//! grants, API tokens, service accounts and the audit log; it answers
//! `authorize(subject, action, resource)` for the gateway.
//!
//! Map of the crate:
//! - [`config`]: [`Settings`] (`MYELIN_AUTH__*`);
//! - [`domain`]: pure logic — the permission matrix ([`domain::rbac`], rendered to `docs/rbac.md`),
//!   names, password hashing, tokens;
//! - [`store`]: sea-orm entities, migrations, repository functions, facts for the matrix;
//! - [`http`]: routes, the guard that authorizes and audits them, the decision endpoint;
//! - [`error`]: [`Error`] and its HTTP answers (`auth.*` codes);
//! - [`limits`]: failed-login limits; [`invalidation`]: decision-cache invalidations (both on the
//!   coordination store);
//!
//! [`App`] ties them together: `App::build(settings, deps)` then `router()` (embedded in the gateway)
//! or `run_until_stopped()` (the `auth` binary).

pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod invalidation;
pub mod limits;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use myelin_common::coord::SharedCoord;
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use error::Error;

use crate::domain::names::{Email, OrgName, Username};
use crate::domain::password::{self, Hasher};
use crate::domain::rbac::{Action, OrgRole};
use crate::http::AppState;
use crate::http::dto::{AuthorizeAnswer, ResourceRef};
use crate::limits::LoginLimiter;
use crate::store::Store;

/// What the auth service needs from outside: its database and the coordination store (Redis, or
/// `MemoryCoord` in the embedded server) for login limits and cache invalidations.
pub struct Deps {
    pub db: DatabaseConnection,
    pub coord: SharedCoord,
}

/// A built auth service, ready to serve.
#[derive(Clone)]
pub struct App {
    settings: Arc<Settings>,
    state: AppState,
}

impl App {
    /// Runs the migrations and prepares the password hasher (fails on out-of-range argon2 settings).
    pub async fn build(settings: Settings, deps: Deps) -> Result<App, Error> {
        let Deps { db, coord } = deps;
        store::migrate(&db).await?;
        let hasher = Hasher::new(&settings.argon2)?;
        let settings = Arc::new(settings);
        let state = AppState {
            store: Store::new(db),
            limiter: LoginLimiter::new(coord.clone(), settings.login),
            coord,
            hasher: Arc::new(hasher),
            settings: settings.clone(),
            ready: Arc::new(AtomicBool::new(true)),
        };
        let app = App { settings, state };
        if let Some(password) = &app.settings.admin_password {
            let (username, org) = (&app.settings.admin_username, &app.settings.admin_org);
            let created = app
                .ensure_admin(username, &format!("{username}@myelin.local"), password, org)
                .await?;
            if created {
                tracing::info!(%username, %org, "created the owner account");
            }
        }
        Ok(app)
    }

    /// Every route, with its state and without the common layers (the caller adds them, once).
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The store (tests and tools).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The decision for the holder of `token` (what `POST /internal/v1/authorize` answers), for an
    /// embedding process that calls it directly.
    pub async fn authorize(
        &self,
        token: &SecretString,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<AuthorizeAnswer, Error> {
        http::authorize::evaluate(&self.state.store, token, action, resource).await
    }

    /// First start: creates user `username` with `password` unless it exists, and org `org` with
    /// them as owner unless it exists. Returns whether the user was created.
    pub async fn ensure_admin(
        &self,
        username: &str,
        email: &str,
        password: &SecretString,
        org: &str,
    ) -> Result<bool, Error> {
        let store = &self.state.store;
        let name: Username = username.parse().map_err(|e| Error::invalid_name("username", e))?;
        let (user, created) = match store::users::by_username(store, username).await? {
            Some(user) => (user, false),
            None => {
                let email: Email = email.parse().map_err(|e| Error::invalid_name("email", e))?;
                password::validate(password)?;
                let hash = self.state.hasher.hash(password)?;
                (store::users::create(store, &name, &email, hash).await?, true)
            }
        };
        match store::orgs::by_name(store, org).await? {
            None => {
                let org: OrgName = org.parse().map_err(|e| Error::invalid_name("org", e))?;
                match store::orgs::create(store, &org, &user).await {
                    Ok(_) | Err(Error::Exists { .. }) => {}
                    Err(err) => return Err(err),
                }
            }
            Some(org) => {
                if store::orgs::member_role(store, org.id, user.id).await?.is_none() {
                    store::orgs::add_member(store, org.id, &user, OrgRole::Owner).await?;
                }
            }
        }
        Ok(created)
    }

    /// Binds `settings.listen` and serves until `shutdown`; see [`App::serve`].
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.settings.listen))?;
        self.serve(listener, shutdown).await
    }

    /// Serves on `listener` with the common layers. On `shutdown`, readiness goes false and
    /// in-flight requests finish.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, "auth listening");
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
        watcher.abort();
        served.map_err(|e| anyhow::anyhow!("HTTP server failed: {e}"))
    }
}
