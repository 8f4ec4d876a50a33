#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The gateway over real sockets, forwarding over HTTP to replicas of a tiny upstream on port 0.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use myelin_gateway::Upstream;
use serde_json::Value;
use support::{Gateway, Replica, settings};

async fn echo(gateway: &Gateway) -> reqwest::Response {
    gateway.get("/api/v1/acme/demo/runs?x=1").await
}

async fn replica_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let body: Value = response.json().await.unwrap();
    body["replica"].as_str().unwrap().to_owned()
}

async fn error_code(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned(), body)
}

#[tokio::test]
async fn round_robin_failover_and_recovery() {
    let a = Replica::start("a");
    let mut b = Replica::start("b");
    let gateway = Gateway::start(settings(), Upstream::Http(vec![a.url(), b.url()])).await;
    gateway.wait_ready(200).await;

    // Round robin: strictly alternating between the two replicas.
    let mut counts = HashMap::new();
    for _ in 0..10 {
        *counts.entry(replica_of(echo(&gateway).await).await).or_insert(0) += 1;
    }
    assert_eq!(counts.get("a"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("b"), Some(&5), "{counts:?}");

    // One replica dies: every request still succeeds (retry on connect error, then ejection).
    b.kill();
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        for _ in 0..5 {
            let request = gateway
                .client
                .request(method.parse().unwrap(), gateway.url("/api/v1/acme/demo/runs/abc"));
            let response = request.body("payload").send().await.unwrap();
            assert_eq!(replica_of(response).await, "a");
        }
    }
    gateway.wait_ready(200).await; // a is still healthy

    // It comes back: the health check notices and it gets traffic again.
    b.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if replica_of(echo(&gateway).await).await == "b" {
            break;
        }
        assert!(Instant::now() < deadline, "restarted replica never got traffic back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(a);
    drop(b);
    gateway.stop().await;
}

#[tokio::test]
async fn all_replicas_dead_is_503_and_not_ready() {
    let mut a = Replica::start("a");
    let mut b = Replica::start("b");
    let gateway = Gateway::start(settings(), Upstream::Http(vec![a.url(), b.url()])).await;
    gateway.wait_ready(200).await;
    a.kill();
    b.kill();
    let (status, code, body) = error_code(echo(&gateway).await).await;
    // Refused connections say "unavailable"; a pooled keep-alive connection to a replica that died
    // may instead be reset after the request went out, and the gateway cannot know whether the
    // replica acted on it: "upstream_error". Both are 503.
    assert_eq!(status, 503, "{body}");
    assert!(
        ["gateway.upstream_unavailable", "gateway.upstream_error"].contains(&code.as_str()),
        "{body}"
    );
    assert!(body["request_id"].is_string(), "{body}");
    // Once the health checks have ejected both replicas, nothing is even tried.
    gateway.wait_ready(503).await;
    let (status, code, body) = error_code(echo(&gateway).await).await;
    assert_eq!((status, code.as_str()), (503, "gateway.upstream_unavailable"), "{body}");
    let (status, code, _) = error_code(gateway.get("/readyz").await).await;
    assert_eq!((status, code.as_str()), (503, "gateway.not_ready"));
    assert_eq!(gateway.get("/healthz").await.status(), 200);
    gateway.stop().await;
}

#[tokio::test]
async fn upstream_timeout_is_504() {
    let a = Replica::start("a");
    let gateway = Gateway::start(
        myelin_gateway::Settings {
            upstream_timeout_secs: 1,
            ..settings()
        },
        Upstream::Http(vec![a.url()]),
    )
    .await;
    let started = Instant::now();
    let (status, code, body) = error_code(gateway.get("/api/v1/acme/demo/runs/abc/statuses").await).await;
    assert_eq!((status, code.as_str()), (504, "gateway.upstream_timeout"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(4));
    gateway.stop().await;
}

#[tokio::test]
async fn body_over_limit_is_413_whether_declared_or_streamed() {
    let a = Replica::start("a");
    let mut limited = settings();
    limited.http.body_limit_bytes = 1024;
    let gateway = Gateway::start(limited, Upstream::Http(vec![a.url()])).await;

    // Within the limit, a streamed (chunked) body reaches the upstream whole.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![1; 500]), Ok(vec![2; 500])];
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let response = gateway
        .client
        .post(gateway.url("/api/v1/acme/demo/runs"))
        .body(body)
        .send()
        .await
        .unwrap();
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(
        (echoed["body_len"].as_u64(), echoed["body_sum"].as_u64()),
        (Some(1000), Some(1500))
    );

    // Declared too large (content-length): refused before forwarding.
    let response = gateway
        .client
        .post(gateway.url("/api/v1/acme/demo/runs"))
        .body(vec![0u8; 4096])
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(response).await;
    assert_eq!(status, 413, "{body}");
    assert!(code.ends_with("payload_too_large"), "{body}");

    // Streamed too large (chunked): cut while forwarding.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(vec![7u8; 512])).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let response = gateway
        .client
        .post(gateway.url("/api/v1/acme/demo/runs"))
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(response).await;
    assert_eq!(status, 413, "{body}");
    assert!(code.ends_with("payload_too_large"), "{body}");
    gateway.stop().await;
}

#[tokio::test]
async fn request_context_reaches_the_upstream() {
    let a = Replica::start("a");
    let gateway = Gateway::start(settings(), Upstream::Http(vec![a.url()])).await;
    let response = gateway
        .client
        .put(gateway.url("/api/v1/acme/demo/runs/abc?limit=2&sort=-created_at"))
        .header("x-request-id", "rid-42")
        .header("x-myelin-subject", "root")
        .header("connection", "keep-alive")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "rid-42");
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["request_id"], "rid-42");
    assert_eq!(echoed["subject"], "anonymous");
    assert_eq!(echoed["org"], "acme");
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["uri"], "/api/v1/acme/demo/runs/abc?limit=2&sort=-created_at");
    assert_eq!(echoed["body_len"], 5);
    assert!(echoed["forwarded_host"].as_str().unwrap().starts_with("127.0.0.1:"));

    // Without an incoming id, the gateway makes one and the upstream sees the same.
    let response = gateway.get("/api/v1/acme/demo/runs").await;
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["request_id"], id.as_str());

    // The upstream's own error envelope passes through untouched.
    let (status, code, _) = error_code(gateway.get("/api/v1/acme/demo").await).await;
    assert_eq!((status, code.as_str()), (404, "tracker.project_not_found"));
    gateway.stop().await;
}

#[tokio::test]
async fn openapi_merges_upstreams_and_survives_a_dead_one() {
    let mut a = Replica::start("a");
    let gateway = Gateway::start(settings(), Upstream::Http(vec![a.url()])).await;
    let doc: Value = gateway.get("/api/v1/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/installation",
        "/api/v1/compatibility/{uuid}/{version}/{service}",
        "/api/v1/openapi.json",
        "/api/v1/{owner}/projects/list",
    ] {
        assert!(paths.contains_key(path), "missing {path} in {paths:?}");
    }
    assert!(doc["components"]["schemas"]["Project"].is_object(), "{doc}");

    // The upstream dies: the document is still served (cached copy).
    a.kill();
    let response = gateway.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    gateway.stop().await;

    // No upstream at all: the gateway's own part.
    let gateway = Gateway::start(settings(), Upstream::Http(vec![a.url()])).await;
    let doc: Value = gateway.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/installation"].is_object());
    assert!(doc["paths"]["/api/v1/{owner}/projects/list"].is_null());
    gateway.stop().await;
}
