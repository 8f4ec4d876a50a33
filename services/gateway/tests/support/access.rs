//! The access-control harness: the real auth service in-process (SQLite or PostgreSQL), the
//! decision cache on the in-process store or Redis, an echo upstream standing in for the tracker
//! (it answers every path with what it received), the gateway's router driven with `oneshot`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use myelin_auth::domain::password::Argon2Settings;
use myelin_common::coord::SharedCoord;
use myelin_common::coord::memory::MemoryCoord;
use myelin_common::coord::redis::{RedisCoord, RedisSettings};
use myelin_gateway::config::AccessSettings;
use myelin_gateway::{App, AuthDeps, Deps, Upstream};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const RUN_KEY: &str = "run-key-for-tests";

pub struct Harness {
    pub router: Router,
    /// Decision requests auth has answered.
    pub asked: Arc<AtomicUsize>,
    _db: Box<dyn std::any::Any + Send>,
}

/// Where decisions are cached.
#[derive(Clone, Copy)]
pub enum Store {
    Memory,
    Redis,
}

async fn coord(store: Store) -> SharedCoord {
    let prefix = format!("gw-access-{}:", uuid::Uuid::now_v7());
    match store {
        Store::Memory => Arc::new(MemoryCoord::with_prefix(prefix)),
        Store::Redis => {
            let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let settings = RedisSettings {
                key_prefix: prefix,
                ..RedisSettings::default()
            };
            Arc::new(
                RedisCoord::connect(&url, &settings)
                    .await
                    .unwrap_or_else(|e| panic!("Redis at {url} is required: {e}")),
            )
        }
    }
}

/// The auth service's database.
#[derive(Clone, Copy)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub async fn harness(store: Store, db: Db, ttl: Duration) -> Harness {
    harness_with(store, db, ttl, echo_tracker()).await
}

/// The echo upstream standing in for the tracker.
pub fn echo_tracker() -> Router {
    Router::new().fallback(super::echo).with_state("tracker".to_owned())
}

/// [`harness`] with another tracker upstream.
pub async fn harness_with(store: Store, db: Db, ttl: Duration, tracker: Router) -> Harness {
    myelin_common::install_crypto_provider();
    let coord = coord(store).await;
    let (db, guard): (_, Box<dyn std::any::Any + Send>) = match db {
        Db::Sqlite => {
            let (db, dir) = myelin_common::db::testing::fresh_sqlite().await;
            (db, Box::new(dir))
        }
        Db::Postgres => {
            let (db, _url, guard) = myelin_common::db::testing::fresh_postgres().await;
            (db, Box::new(guard))
        }
    };
    let auth = myelin_auth::App::build(
        myelin_auth::Settings {
            allow_signup: true,
            argon2: Argon2Settings {
                memory_kib: 256,
                iterations: 1,
                parallelism: 1,
            },
            ..Default::default()
        },
        myelin_auth::Deps {
            db,
            coord: coord.clone(),
        },
    )
    .await
    .unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let auth_router = auth.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                if request.uri().path() == "/internal/v1/authorize" {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                next.run(request).await
            }
        },
    ));
    let settings = myelin_gateway::Settings {
        access: AccessSettings {
            decision_ttl_ms: u64::try_from(ttl.as_millis()).unwrap(),
            run_token_secret: Some(SecretString::from(RUN_KEY)),
            ..AccessSettings::default()
        },
        ..super::settings()
    };
    let app = App::build(
        settings,
        Deps {
            tracker: Upstream::InProcess(tracker),
            logs: Upstream::InProcess(Router::new().fallback(super::echo).with_state("logs".to_owned())),
            auth: Some(AuthDeps {
                upstream: Upstream::InProcess(auth_router),
                coord,
            }),
        },
    )
    .await
    .unwrap();
    Harness {
        router: app.router(),
        asked,
        _db: guard,
    }
}

impl Harness {
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Token {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, Some(token), None).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    /// Signs `name` up through the gateway; their login token.
    pub async fn signup(&self, name: &str) -> String {
        let body =
            json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse battery"});
        let (status, body) = self.call(Method::POST, "/api/v1/auth/signup", None, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// `owner` creates org `acme` and adds `members` with their roles.
    pub async fn org(&self, owner: &str, members: &[(&str, &str)]) {
        let (status, body) = self.post("/api/v1/orgs/create", owner, json!({"name": "acme"})).await;
        assert!(status.is_success(), "{body}");
        for (user, role) in members {
            let (status, body) = self
                .post("/api/v1/orgs/acme/members", owner, json!({"user": user, "role": role}))
                .await;
            assert!(status.is_success(), "{body}");
        }
    }
}
