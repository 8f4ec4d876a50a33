//! Test helpers: a tiny upstream service (echo on `.../runs` and `.../runs/{uuid}`, slow statuses,
//! a missing project, health, OpenAPI), replicas of it on real
//! sockets that can be killed and restarted on the same port, and a gateway on port 0.
#![allow(dead_code)]

pub mod access;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{any, get};
use axum::{Json, Router};
use http::{HeaderMap, Method, Uri};
use myelin_gateway::{App, Deps, Settings, Upstream};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The upstream service: `name` is echoed so tests see which replica answered.
pub fn upstream_app(name: &str) -> Router {
    Router::new()
        .route("/readyz", get(|| async { "ok" }))
        .route("/internal/openapi.json", get(openapi))
        .route(
            "/api/v1/{owner}/{project}/runs/{uuid}/statuses",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/api/v1/{owner}/{project}/runs", any(echo))
        .route("/api/v1/{owner}/{project}/runs/{uuid}", any(echo))
        .route(
            "/api/v1/{owner}/{project}",
            get(|| async {
                (
                    http::StatusCode::NOT_FOUND,
                    Json(json!({"code": "tracker.project_not_found", "message": "no", "request_id": null})),
                )
            }),
        )
        .with_state(name.to_owned())
}

pub async fn echo(
    State(name): State<String>,
    params: Option<Path<std::collections::HashMap<String, String>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (http::StatusCode, Json<Value>) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // Creation answers 201, as the tracker's does.
    let status = if method == Method::POST && uri.path().ends_with("/projects/create") {
        http::StatusCode::CREATED
    } else {
        http::StatusCode::OK
    };
    (
        status,
        Json(json!({
            "replica": name,
            "owner": params.as_ref().and_then(|Path(p)| p.get("owner")),
            "method": method.as_str(),
            "uri": uri.to_string(),
            "request_id": header("x-request-id"),
            "subject": header("x-myelin-subject"),
            "org": header("x-myelin-org"),
            "forwarded_host": header("x-forwarded-host"),
            "connection": header("connection"),
            "body_len": body.len(),
            "body_sum": body.iter().map(|b| u64::from(*b)).sum::<u64>(),
        })),
    )
}

async fn openapi() -> Json<Value> {
    Json(json!({
        "openapi": "3.1.0",
        "info": {"title": "tracker", "version": "0.1.0"},
        "paths": {"/api/v1/{owner}/projects/list": {"get": {"operationId": "ListProjects",
            "responses": {"200": {"description": "projects"}}}}},
        "components": {"schemas": {"Project": {"type": "object"}}}
    }))
}

/// A replica of [`upstream_app`] on its own runtime and thread: killing it drops every connection.
pub struct Replica {
    pub addr: SocketAddr,
    name: String,
    kill: Option<(tokio::sync::oneshot::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl Replica {
    /// Starts a replica on a free port.
    pub fn start(name: &str) -> Replica {
        Self::start_on(name, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts a replica on `addr` (reusing the port of a killed one).
    pub fn start_on(name: &str, addr: SocketAddr) -> Replica {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        let app = upstream_app(name);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.set_reuseaddr(true).unwrap();
                socket.bind(addr).unwrap();
                let listener = socket.listen(128).unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = kill_rx => {}
                }
            });
            runtime.shutdown_background();
        });
        let addr = ready_rx.recv().unwrap();
        Replica {
            addr,
            name: name.to_owned(),
            kill: Some((kill_tx, thread)),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the replica: its listener and every open connection close.
    pub fn kill(&mut self) {
        if let Some((tx, thread)) = self.kill.take() {
            let _ = tx.send(());
            thread.join().unwrap();
        }
    }

    /// Starts the replica again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        *self = Replica::start_on(&self.name, self.addr);
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running gateway on port 0.
pub struct Gateway {
    pub base: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Settings for tests: port 0, fast health checks.
pub fn settings() -> Settings {
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        health_interval_ms: 50,
        ..Settings::default()
    }
}

impl Gateway {
    pub async fn start(settings: Settings, tracker: Upstream) -> Gateway {
        let logs = Upstream::InProcess(axum::Router::new());
        let app = App::build(
            settings,
            Deps {
                tracker,
                logs,
                auth: None,
            },
        )
        .await
        .unwrap();
        let base = format!("http://{}", app.local_addr());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Gateway {
            base,
            client,
            shutdown,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Polls `/readyz` until it answers `status` (deadline 10 s).
    pub async fn wait_ready(&self, status: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.get("/readyz").await.status().as_u16() == status {
                return;
            }
            assert!(Instant::now() < deadline, "gateway /readyz never answered {status}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}
