//! Test support: a tracker `App` on a fresh SQLite file or PostgreSQL database with an in-process
//! bus, driven through its router (`tower::ServiceExt::oneshot`) with the common layers applied.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use myelin_common::bus::SharedBus;
use myelin_common::bus::memory::MemoryBus;
use myelin_common::db::testing::{fresh_postgres, fresh_sqlite};
use myelin_tracker::store::entities::{outbox, project, run};
use myelin_tracker::{App, Deps, Settings};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database of `backend`; the guard keeps it alive.
pub async fn database(backend: Backend) -> (DatabaseConnection, Box<dyn Any + Send>) {
    match backend {
        Backend::Sqlite => {
            let (db, dir) = fresh_sqlite().await;
            (db, Box::new(dir))
        }
        Backend::Postgres => {
            let (db, _url, guard) = fresh_postgres().await;
            (db, Box::new(guard))
        }
    }
}

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub bus: SharedBus,
    pub db: DatabaseConnection,
    _guard: Box<dyn Any + Send>,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, Settings::default()).await
}

pub async fn spawn_with(backend: Backend, settings: Settings) -> TestApp {
    myelin_common::install_crypto_provider();
    let (db, guard) = database(backend).await;
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let limits = settings.http.clone();
    let app = App::build(
        settings,
        Deps {
            db: db.clone(),
            bus: bus.clone(),
        },
    )
    .await
    .unwrap();
    let router = myelin_common::http::common_layers(app.router(), &limits);
    TestApp {
        app,
        router,
        bus,
        db,
        _guard: guard,
    }
}

/// A response: status and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
}

impl TestApp {
    pub fn from_parts(
        app: App,
        router: Router,
        bus: SharedBus,
        db: DatabaseConnection,
        guard: Box<dyn Any + Send>,
    ) -> Self {
        Self {
            app,
            router,
            bus,
            db,
            _guard: guard,
        }
    }

    pub async fn request(&self, method: Method, uri: &str, body: Option<Value>, subject: Option<&str>) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(subject) = subject {
            req = req.header("x-myelin-subject", subject);
        }
        let req = match body {
            Some(body) => req
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("non-JSON body ({status}): {}", String::from_utf8_lossy(&bytes)))
        };
        Resp { status, body }
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.request(Method::GET, uri, None, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Resp {
        self.request(Method::POST, uri, Some(body), None).await
    }

    pub async fn post_empty(&self, uri: &str) -> Resp {
        self.request(Method::POST, uri, None, None).await
    }

    pub async fn patch(&self, uri: &str, body: Value) -> Resp {
        self.request(Method::PATCH, uri, Some(body), None).await
    }

    pub async fn delete(&self, uri: &str) -> Resp {
        self.request(Method::DELETE, uri, None, None).await
    }

    /// Creates project `name` under `default` and returns its body.
    pub async fn project(&self, name: &str) -> Value {
        let r = self
            .post(
                "/api/v1/default/projects/create",
                serde_json::json!({"name": name, "is_public": false}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    /// Creates a run in `default/<project>` from `body` and returns its body.
    pub async fn run(&self, project: &str, body: Value) -> Value {
        let r = self.post(&format!("/api/v1/default/{project}/runs"), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    /// (projects, runs, outbox rows) currently stored.
    pub async fn counts(&self) -> (u64, u64, u64) {
        (
            project::Entity::find().count(&self.db).await.unwrap(),
            run::Entity::find().count(&self.db).await.unwrap(),
            outbox::Entity::find().count(&self.db).await.unwrap(),
        )
    }

    /// Outbox event types, oldest first.
    pub async fn outbox_topics(&self) -> Vec<String> {
        let mut rows = outbox::Entity::find().all(&self.db).await.unwrap();
        rows.sort_by_key(|r| r.id);
        rows.into_iter().map(|r| r.topic).collect()
    }

    /// Outbox envelopes of type `topic`, oldest first.
    pub async fn outbox_of(&self, topic: &str) -> Vec<Value> {
        let mut rows = outbox::Entity::find()
            .filter(outbox::Column::Topic.eq(topic))
            .all(&self.db)
            .await
            .unwrap();
        rows.sort_by_key(|r| r.id);
        rows.into_iter().map(|r| r.payload).collect()
    }
}

/// What `polyaxon run` posts (transcript `x_run_remote`).
pub const CLI_CONTENT: &str = r#"{"version":1.1,"kind":"operation","params":{"msg":{"value":"override"}},"component":{"version":1.1,"kind":"component","name":"hello","tags":["demo","cli"],"inputs":[{"name":"msg","type":"str","isOptional":true,"value":"hello-from-polyaxon"}],"run":{"kind":"job","container":{"args":["print('{{ msg }}')"],"command":["python","-c"],"image":"python:3.11-slim"}}}}"#;

pub fn cli_run() -> Value {
    serde_json::json!({"content": CLI_CONTENT, "managed_by": "agent"})
}

pub fn condition(status: &str) -> Value {
    serde_json::json!({"condition": {
        "type": status, "status": true, "reason": "Test", "message": "",
        "last_update_time": "2026-12-04T20:20:47+00:00", "last_transition_time": "2026-12-04T20:20:47+00:00",
    }})
}
