//! Test support: a fresh auth database (SQLite file or PostgreSQL database) and an auth `App` driven
//! through its router (`tower::ServiceExt::oneshot`) with the common layers applied.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use myelin_auth::domain::password::Argon2Settings;
use myelin_auth::{App, Deps, Settings};
use myelin_common::coord::SharedCoord;
use myelin_common::coord::memory::MemoryCoord;
use myelin_common::db::testing::{fresh_postgres, fresh_sqlite};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, migrated database of `backend`; the guard keeps it alive.
pub async fn database(backend: Backend) -> (DatabaseConnection, Box<dyn Any + Send>) {
    myelin_common::install_crypto_provider();
    let (db, guard): (DatabaseConnection, Box<dyn Any + Send>) = match backend {
        Backend::Sqlite => {
            let (db, dir) = fresh_sqlite().await;
            (db, Box::new(dir))
        }
        Backend::Postgres => {
            let (db, _url, guard) = fresh_postgres().await;
            (db, Box::new(guard))
        }
    };
    myelin_auth::store::migrate(&db).await.unwrap();
    (db, guard)
}

/// Settings for tests: sign-up on, a light argon2 cost (debug builds are slow; production keeps
/// OWASP's, see `the_default_cost_is_owasps`).
pub fn settings() -> Settings {
    Settings {
        allow_signup: true,
        argon2: Argon2Settings {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        },
        ..Settings::default()
    }
}

pub struct TestApp {
    pub app: App,
    /// The in-process coordination store the app publishes on (unique prefix per app).
    pub coord: SharedCoord,
    pub router: Router,
    pub db: DatabaseConnection,
    _guard: Box<dyn Any + Send>,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, settings()).await
}

pub async fn spawn_with(backend: Backend, settings: Settings) -> TestApp {
    let (db, guard) = database(backend).await;
    let limits = settings.http.clone();
    let coord: SharedCoord = Arc::new(MemoryCoord::with_prefix(format!("test-{}:", uuid::Uuid::now_v7())));
    let deps = Deps {
        db: db.clone(),
        coord: coord.clone(),
    };
    let app = App::build(settings, deps).await.unwrap();
    let router = myelin_common::http::common_layers(app.router(), &limits);
    TestApp {
        app,
        coord,
        router,
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

impl Resp {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            req = req.header("authorization", format!("Token {token}"));
        }
        let req: Request<Body> = match body {
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

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::GET, uri, Some(token), None).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    pub async fn patch(&self, uri: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, uri, Some(token), Some(body)).await
    }

    pub async fn delete(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::DELETE, uri, Some(token), None).await
    }

    /// Signs `name` up (password `password-<name>`) and returns their token.
    pub async fn signup(&self, name: &str) -> String {
        let body =
            json!({"username": name, "email": format!("{name}@example.com"), "password": format!("password-{name}")});
        let r = self.call(Method::POST, "/api/v1/auth/signup", None, Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Asks the decision endpoint.
    pub async fn authorize(&self, token: &str, action: &str, resource: Value) -> Value {
        let body = json!({"token": token, "action": action, "resource": resource});
        let r = self
            .call(Method::POST, "/internal/v1/authorize", None, Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }
}
