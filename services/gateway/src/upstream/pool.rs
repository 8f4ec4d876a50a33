//! The HTTP upstream: N replicas of one service behind a reqwest client.
//!
//! - Round robin over the replicas that are not known to be down.
//! - Active health checks: `GET {base}/readyz` every interval; a failing replica is skipped until it
//!   answers 2xx again.
//! - Passive ejection: a connect error marks the replica down at once.
//! - One retry on the next replica when the connection failed before anything was sent (connect
//!   refused/reset), whatever the method: the first replica never saw the request.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Request;

use super::body::ReplayableBody;
use crate::error::Error;
use crate::routes::Service;

const UNKNOWN: u8 = 0;
const HEALTHY: u8 = 1;
const DOWN: u8 = 2;

/// One replica: its base url (no trailing slash) and its health.
#[derive(Debug)]
struct Replica {
    base: String,
    state: AtomicU8,
}

/// A service reached over HTTP.
#[derive(Debug)]
pub struct Pool {
    service: Service,
    replicas: Vec<Replica>,
    next: AtomicUsize,
    client: reqwest::Client,
}

impl Pool {
    /// A pool over `bases` (e.g. `http://127.0.0.1:8101`), health checked every `interval` by a
    /// background task that ends when the pool is dropped.
    pub fn start(service: Service, bases: &[String], client: reqwest::Client, interval: Duration) -> Arc<Pool> {
        let replicas = bases
            .iter()
            .map(|base| Replica {
                base: base.trim_end_matches('/').to_owned(),
                state: AtomicU8::new(UNKNOWN),
            })
            .collect();
        let pool = Arc::new(Pool {
            service,
            replicas,
            next: AtomicUsize::new(0),
            client,
        });
        tokio::spawn(health_loop(Arc::downgrade(&pool), interval));
        pool
    }

    /// The service this pool reaches.
    pub fn service(&self) -> Service {
        self.service
    }

    /// False when no replica is configured: the service is not deployed, so it does not hold back
    /// readiness (its routes answer 503).
    pub fn is_configured(&self) -> bool {
        !self.replicas.is_empty()
    }

    /// True when at least one replica passed its last health check.
    pub fn is_ready(&self) -> bool {
        self.replicas
            .iter()
            .any(|replica| replica.state.load(Ordering::SeqCst) == HEALTHY)
    }

    /// The base urls of the replicas that passed their last health check.
    pub fn healthy(&self) -> Vec<&str> {
        let healthy = self
            .replicas
            .iter()
            .filter(|r| r.state.load(Ordering::SeqCst) == HEALTHY);
        healthy.map(|r| r.base.as_str()).collect()
    }

    /// Checks every replica once (also run by the background loop).
    pub async fn check_all(&self) {
        let checks = self.replicas.iter().map(|replica| async move {
            let url = format!("{}/readyz", replica.base);
            let answer = self.client.get(url).timeout(Duration::from_secs(2)).send().await;
            let healthy = matches!(&answer, Ok(response) if response.status().is_success());
            let state = if healthy { HEALTHY } else { DOWN };
            let previous = replica.state.swap(state, Ordering::SeqCst);
            if previous != state {
                tracing::info!(service = %self.service, replica = %replica.base, healthy, "replica health changed");
            }
        });
        futures::future::join_all(checks).await;
    }

    /// Sends `request` (path and query relative to the service root) to one replica. When the
    /// connection failed before any response (connect refused, or reset/closed before the response
    /// head), the request is sent once more, to the next replica when there is one.
    pub async fn send(&self, request: Request<Body>) -> Result<Response, Error> {
        let (parts, body) = request.into_parts();
        let empty = axum::body::HttpBody::is_end_stream(&body);
        let body = ReplayableBody::new(body, empty);
        let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let first = self.pick(None).ok_or(Error::Unavailable(self.service))?;
        let error = match self.attempt(first, &parts, path, &body).await {
            Ok(response) => return Ok(response),
            Err(error) => error,
        };
        if !is_before_response(&error) || !body.replayable() {
            return Err(self.classify(first, error));
        }
        if error.is_connect() {
            self.eject(first, &error);
        }
        // Prefer another replica; a reset on a stale connection may retry the same one afresh.
        let second = self
            .pick(Some(first))
            .or_else(|| (!error.is_connect()).then_some(first));
        let Some(second) = second else {
            return Err(self.classify(first, error));
        };
        tracing::debug!(service = %self.service, %error, "retrying on another connection");
        match self.attempt(second, &parts, path, &body).await {
            Ok(response) => Ok(response),
            Err(error) => Err(self.classify(second, error)),
        }
    }

    async fn attempt(
        &self,
        index: usize,
        parts: &http::request::Parts,
        path: &str,
        body: &ReplayableBody,
    ) -> Result<Response, reqwest::Error> {
        let url = format!("{}{}", self.replicas[index].base, path);
        let mut builder = self
            .client
            .request(parts.method.clone(), url)
            .headers(parts.headers.clone());
        if let Some(body) = body.attempt() {
            builder = builder.body(body);
        }
        let answer = builder.send().await?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let mut response = Response::new(Body::from_stream(answer.bytes_stream()));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }

    /// The public error for a failed attempt (a connect error also ejects the replica).
    fn classify(&self, index: usize, error: reqwest::Error) -> Error {
        if is_too_large(&error) {
            return Error::PayloadTooLarge;
        }
        if error.is_connect() {
            self.eject(index, &error);
            return Error::Unavailable(self.service);
        }
        Error::Upstream(self.service, error.to_string())
    }

    fn eject(&self, index: usize, error: &reqwest::Error) {
        let replica = &self.replicas[index];
        if replica.state.swap(DOWN, Ordering::SeqCst) != DOWN {
            tracing::warn!(service = %self.service, replica = %replica.base, %error, "replica ejected");
        }
    }

    /// The next replica in round-robin order that is not known to be down, skipping `exclude`.
    fn pick(&self, exclude: Option<usize>) -> Option<usize> {
        let count = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|offset| (start + offset) % count)
            .find(|&index| Some(index) != exclude && self.replicas[index].state.load(Ordering::SeqCst) != DOWN)
    }
}

/// True when the connection failed before any response: the connection could not be made, or it
/// was reset/closed before the response head (typically a pooled connection to a replica that died).
fn is_before_response(error: &reqwest::Error) -> bool {
    if error.is_connect() {
        return true;
    }
    if !error.is_request() || error.is_timeout() || is_too_large(error) {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(hyper) = current.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_canceled())
        {
            return true;
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        source = current.source();
    }
    false
}

/// True when the error comes from the request body limit (the body was cut while streaming).
fn is_too_large(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

async fn health_loop(pool: Weak<Pool>, interval: Duration) {
    loop {
        let Some(strong) = pool.upgrade() else { return };
        strong.check_all().await;
        drop(strong);
        tokio::time::sleep(interval).await;
    }
}
