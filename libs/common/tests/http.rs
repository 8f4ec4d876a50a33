#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Router tests of the shared middleware: request ids, the error envelope for every kind of failure,
//! body limit, timeout, and graceful `serve`.

use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use myelin_common::ApiError;
use myelin_common::error::ErrorBody;
use myelin_common::http::{HttpLimits, REQUEST_ID_HEADER, common_layers, current_request_id, serve};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Deserialize)]
#[allow(dead_code)]
struct NewItem {
    name: String,
    size: u32,
}

fn app(limits: HttpLimits) -> Router {
    let router = Router::new()
        .route("/id", get(|| async { current_request_id().unwrap_or_default() }))
        .route(
            "/missing",
            get(|| async { ApiError::not_found("test.item_not_found", "no such item") }),
        )
        .route("/items", post(|Json(item): Json<NewItem>| async move { item.name }))
        .route(
            "/bytes",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "late"
            }),
        );
    common_layers(router, &limits)
}

async fn send(router: Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let response = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// Sends `request`, checks it failed with `status` and an envelope whose `code` and `request_id` are right.
async fn envelope(router: Router, request: Request<Body>, status: StatusCode, code: &str) -> ErrorBody {
    let (got, headers, body) = send(router, request).await;
    assert_eq!(got, status, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json");
    let body: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(body.code, code);
    let id = headers[REQUEST_ID_HEADER].to_str().unwrap();
    assert_eq!(
        body.request_id.as_deref(),
        Some(id),
        "the envelope names the request id"
    );
    body
}

fn json_post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let router = app(HttpLimits::default());

    let request = Request::get("/id")
        .header(REQUEST_ID_HEADER, "client-id-1")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(router.clone(), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[REQUEST_ID_HEADER], "client-id-1");
    assert_eq!(body, b"client-id-1", "handlers see the id through current_request_id()");

    for bad in ["", "has space", &"x".repeat(129)] {
        let request = Request::get("/id")
            .header(REQUEST_ID_HEADER, bad)
            .body(Body::empty())
            .unwrap();
        let (_, headers, body) = send(router.clone(), request).await;
        let id = headers[REQUEST_ID_HEADER].to_str().unwrap();
        assert_ne!(id, bad);
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
        assert_eq!(body, id.as_bytes());
    }

    let (_, headers, _) = send(router.clone(), Request::get("/id").body(Body::empty()).unwrap()).await;
    let first = headers[REQUEST_ID_HEADER].to_str().unwrap().to_owned();
    let (_, headers, _) = send(router, Request::get("/id").body(Body::empty()).unwrap()).await;
    assert_ne!(
        headers[REQUEST_ID_HEADER].to_str().unwrap(),
        first,
        "each request gets its own id"
    );
}

#[tokio::test]
async fn api_errors_and_unknown_routes_carry_the_request_id() {
    let router = app(HttpLimits::default());
    let request = Request::get("/missing")
        .header(REQUEST_ID_HEADER, "rid-42")
        .body(Body::empty())
        .unwrap();
    let body = envelope(router.clone(), request, StatusCode::NOT_FOUND, "test.item_not_found").await;
    assert_eq!(
        (body.message.as_str(), body.request_id.as_deref()),
        ("no such item", Some("rid-42"))
    );

    let request = Request::get("/nowhere").body(Body::empty()).unwrap();
    let body = envelope(router.clone(), request, StatusCode::NOT_FOUND, "http.not_found").await;
    assert!(body.message.contains("GET /nowhere"), "{}", body.message);

    let request = Request::delete("/items").body(Body::empty()).unwrap();
    envelope(
        router,
        request,
        StatusCode::METHOD_NOT_ALLOWED,
        "http.method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn bad_json_gets_a_400_envelope_saying_what_is_wrong() {
    let router = app(HttpLimits::default());

    let (status, _, body) = send(router.clone(), json_post("/items", r#"{"name": "a", "size": 1}"#)).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"a".as_slice()));

    let body = envelope(
        router.clone(),
        json_post("/items", "{"),
        StatusCode::BAD_REQUEST,
        "http.bad_request",
    )
    .await;
    assert!(body.message.contains("JSON"), "{}", body.message);

    let missing = json_post("/items", r#"{"name": "a"}"#);
    let body = envelope(router.clone(), missing, StatusCode::BAD_REQUEST, "http.bad_request").await;
    assert!(body.message.contains("missing field `size`"), "{}", body.message);

    let wrong_type = json_post("/items", r#"{"name": "a", "size": "big"}"#);
    let body = envelope(router.clone(), wrong_type, StatusCode::BAD_REQUEST, "http.bad_request").await;
    assert!(body.message.contains("size"), "{}", body.message);

    let no_content_type = Request::post("/items")
        .body(Body::from(r#"{"name": "a", "size": 1}"#))
        .unwrap();
    let body = envelope(router, no_content_type, StatusCode::BAD_REQUEST, "http.bad_request").await;
    assert!(body.message.to_lowercase().contains("content-type"), "{}", body.message);
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_413_envelope() {
    let router = app(HttpLimits {
        body_limit_bytes: 64,
        ..HttpLimits::default()
    });
    let big = json!({"name": "x".repeat(100), "size": 1}).to_string();

    // Declared length over the limit: refused before the handler runs.
    let body = envelope(
        router.clone(),
        json_post("/items", &big),
        StatusCode::PAYLOAD_TOO_LARGE,
        "http.payload_too_large",
    )
    .await;
    assert!(body.message.contains("64 bytes"), "{}", body.message);

    // Streamed body with no declared length: refused while reading.
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok("y".repeat(40)), Ok("y".repeat(40))];
    let streamed = Request::post("/bytes")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    envelope(
        router.clone(),
        streamed,
        StatusCode::PAYLOAD_TOO_LARGE,
        "http.payload_too_large",
    )
    .await;

    // At the limit is fine.
    let (status, _, body) = send(
        router,
        Request::post("/bytes").body(Body::from("z".repeat(64))).unwrap(),
    )
    .await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"64".as_slice()));
}

#[tokio::test(start_paused = true)]
async fn slow_requests_time_out_with_an_envelope() {
    let router = app(HttpLimits {
        request_timeout_secs: 2,
        ..HttpLimits::default()
    });
    let started = tokio::time::Instant::now();
    let request = Request::get("/slow")
        .header(REQUEST_ID_HEADER, "slow-1")
        .body(Body::empty())
        .unwrap();
    let body = envelope(router, request, StatusCode::GATEWAY_TIMEOUT, "http.timeout").await;
    assert_eq!(body.request_id.as_deref(), Some("slow-1"));
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn serve_answers_then_drains_on_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, app(HttpLimits::default()), shutdown.clone()));

    let client = reqwest::Client::new();
    let response = client.get(format!("http://{addr}/missing")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let id = response.headers()[REQUEST_ID_HEADER].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "test.item_not_found");
    assert_eq!(body["request_id"], id.as_str());

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve stops after shutdown")
        .unwrap()
        .unwrap();
    assert!(
        client.get(format!("http://{addr}/id")).send().await.is_err(),
        "no longer listening"
    );
}
