//! How the gateway reaches a service: in-process (the service's `Router`, embedded mode) or over
//! HTTP to N replicas (distributed mode). Both answer through [`Backend::send`], with the same
//! timeout on the response head.

mod body;
mod pool;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use http::Request;
use tower::ServiceExt;

pub use pool::Pool;

use crate::error::Error;
use crate::routes::Service;

/// How to reach one service, as given to [`crate::App::build`].
#[derive(Clone)]
pub enum Upstream {
    /// The service's router, called directly (no network).
    InProcess(Router),
    /// Base urls of the service's replicas (`http://127.0.0.1:8101`).
    Http(Vec<String>),
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::InProcess(_) => f.write_str("InProcess(Router)"),
            Upstream::Http(urls) => f.debug_tuple("Http").field(urls).finish(),
        }
    }
}

/// A running upstream.
#[derive(Clone)]
pub enum Backend {
    InProcess(Service, Router),
    Http(Arc<Pool>),
}

impl Backend {
    /// Starts the upstream (for HTTP: the pool and its health checks).
    pub fn start(service: Service, upstream: Upstream, client: &reqwest::Client, interval: Duration) -> Self {
        match upstream {
            Upstream::InProcess(router) => Backend::InProcess(service, router),
            Upstream::Http(urls) => Backend::Http(Pool::start(service, &urls, client.clone(), interval)),
        }
    }

    fn service(&self) -> Service {
        match self {
            Backend::InProcess(service, _) => *service,
            Backend::Http(pool) => pool.service(),
        }
    }

    /// False for an HTTP service with no replica configured (not deployed).
    pub fn is_configured(&self) -> bool {
        match self {
            Backend::InProcess(..) => true,
            Backend::Http(pool) => pool.is_configured(),
        }
    }

    /// True when the service can take requests: in-process always, HTTP when a replica is healthy.
    pub fn is_ready(&self) -> bool {
        match self {
            Backend::InProcess(..) => true,
            Backend::Http(pool) => pool.is_ready(),
        }
    }

    /// Forwards `request` and waits at most `timeout` for the response head (the body then
    /// streams without a deadline, so long streams are not cut).
    pub async fn send(&self, request: Request<Body>, timeout: Duration) -> Result<Response, Error> {
        let sent = async {
            match self {
                Backend::InProcess(_, router) => match router.clone().oneshot(request).await {
                    Ok(response) => Ok(response),
                    Err(never) => match never {},
                },
                Backend::Http(pool) => pool.send(request).await,
            }
        };
        tokio::time::timeout(timeout, sent)
            .await
            .map_err(|_| Error::Timeout(self.service(), timeout.as_secs()))?
    }
}
