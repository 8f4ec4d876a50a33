#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Router tests (`oneshot`, no network) with an in-process upstream, and the gateway's own routes.

mod support;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use myelin_gateway::{App, Deps, Upstream};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn gateway() -> Router {
    let app = App::build(
        support::settings(),
        Deps {
            tracker: Upstream::InProcess(support::upstream_app("inproc")),
            logs: Upstream::InProcess(Router::new()),
            auth: None,
        },
    )
    .await
    .unwrap();
    app.router()
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (parts.status, parts.headers, value)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn forwards_to_the_in_process_router_with_the_request_context() {
    let router = gateway().await;
    let request = Request::post("/api/v1/acme/demo/runs?offset=3")
        .header("x-request-id", "rid-inproc")
        .header("x-myelin-org", "spoofed")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"demo"}"#))
        .unwrap();
    let (status, headers, body) = call(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-request-id"], "rid-inproc");
    assert_eq!(body["replica"], "inproc");
    assert_eq!(body["method"], "POST");
    assert_eq!(body["uri"], "/api/v1/acme/demo/runs?offset=3");
    assert_eq!(body["request_id"], "rid-inproc");
    assert_eq!(body["subject"], "anonymous");
    assert_eq!(body["org"], "acme");
    assert_eq!(body["body_len"], 15);

    // Streams paths go to the same service; the owner is the segment after the namespace.
    let (status, _, body) = call(&router, get("/streams/v1/polyaxon/acme/demo/runs/u/logs")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}"); // the upstream's answer
}

#[tokio::test]
async fn unknown_paths_get_the_envelope() {
    let router = gateway().await;
    // Under /api/v1 the upstream is authoritative (here: its JSON 404 passes through).
    let (status, _, body) = call(&router, get("/api/v1/acme/demo")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.project_not_found"))
    );
    // A 404 without a body from the upstream is still an envelope.
    let (status, _, body) = call(&router, get("/api/v1/acme/demo/runs/abc/lineage/clones")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["code"].is_string() && body["request_id"].is_string(), "{body}");
    // Not in the route table: refused by the gateway without reaching the upstream (deny by default).
    let (status, _, body) = call(&router, get("/api/v1/acme/nothing/here/at/all")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("gateway.route_not_found"))
    );
    // A known path with a method the table does not allow.
    let request = Request::post("/api/v1/acme/demo").body(Body::empty()).unwrap();
    let (status, _, body) = call(&router, request).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("gateway.method_not_allowed"))
    );
    // Outside the route table: the gateway's own 404.
    let (status, _, body) = call(&router, get("/internal/openapi.json")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("gateway.route_not_found"))
    );
    // A wrong method on an own route.
    let request = Request::post("/api/v1/installation").body(Body::empty()).unwrap();
    let (status, _, body) = call(&router, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["code"].is_string(), "{body}");
}

#[tokio::test]
async fn installation_compatibility_and_log_handler_shapes() {
    let router = gateway().await;
    let (status, _, body) = call(&router, get("/api/v1/installation?auth=true")).await;
    assert_eq!(status, StatusCode::OK);
    let fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, ["dist", "key", "mode", "version"], "{body}");
    assert_eq!(body["dist"], "ce");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["mode"], "sandbox");
    assert_eq!(body["key"].as_str().unwrap().len(), 32);

    let (status, _, body) = call(
        &router,
        get("/api/v1/compatibility/7aa532486e0e4f2c99583e480893e78c/2.18.0/cli"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cli"], json!({"min": "2.18.0", "latest": "2.18.0"}));
    assert_eq!(body["platform"]["latest"], env!("CARGO_PKG_VERSION"));

    let (status, _, body) = call(&router, get("/api/v1/log_handler")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));

    let (status, _, _) = call(&router, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&router, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn installation_key_comes_from_settings() {
    let settings = myelin_gateway::Settings {
        installation_key: Some("k1".into()),
        ..support::settings()
    };
    let app = App::build(
        settings,
        Deps {
            tracker: Upstream::InProcess(support::upstream_app("x")),
            logs: Upstream::InProcess(Router::new()),
            auth: None,
        },
    )
    .await
    .unwrap();
    let (_, _, body) = call(&app.router(), get("/api/v1/installation")).await;
    assert_eq!(body["key"], "k1");
}

#[tokio::test]
async fn readiness_turns_false_when_shutdown_starts() {
    let app = App::build(
        support::settings(),
        Deps {
            tracker: Upstream::InProcess(support::upstream_app("x")),
            logs: Upstream::InProcess(Router::new()),
            auth: None,
        },
    )
    .await
    .unwrap();
    let router = app.router();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    assert_eq!(call(&router, get("/readyz")).await.0, StatusCode::OK);
    shutdown.cancel();
    server.await.unwrap().unwrap();
    let (status, _, body) = call(&router, get("/readyz")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("gateway.shutting_down"))
    );
    assert_eq!(call(&router, get("/healthz")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn artifact_uploads_get_their_own_body_limit() {
    use axum::routing::post;
    // A logs upstream that counts what it receives.
    // (A body cut by the gateway's limit fails to read: the upstream answers 413, as the logs service does.)
    let count = |body: Body| async move {
        match body.collect().await {
            Ok(bytes) => (StatusCode::OK, bytes.to_bytes().len().to_string()),
            Err(err) => (StatusCode::PAYLOAD_TOO_LARGE, err.to_string()),
        }
    };
    let logs = Router::new()
        .route("/streams/v1/{ns}/{owner}/{project}/runs/{uuid}/artifact", post(count))
        .layer(axum::extract::DefaultBodyLimit::disable());
    // The tracker knows the run (the gateway checks a logs request's run is in its project).
    let tracker = Router::new()
        .route(
            "/api/v1/{owner}/{project}/runs/{uuid}",
            axum::routing::get(|| async { "{}" }),
        )
        .route("/api/v1/{owner}/{project}/runs/{uuid}/events", post(count))
        .layer(axum::extract::DefaultBodyLimit::disable());
    let mut settings = support::settings();
    settings.http.body_limit_bytes = 1024 * 1024;
    settings.uploads.body_limit_bytes = 8 * 1024 * 1024;
    let app = App::build(
        settings,
        Deps {
            tracker: Upstream::InProcess(tracker),
            logs: Upstream::InProcess(logs),
            auth: None,
        },
    )
    .await
    .unwrap();
    let router = app.router();
    let big = || Body::from(vec![7u8; 4 * 1024 * 1024]);
    let upload = Request::post("/streams/v1/polyaxon/acme/demo/runs/abc/artifact")
        .body(big())
        .unwrap();
    let (status, _, body) = call(&router, upload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!(4 * 1024 * 1024));
    // The same size elsewhere is over the common limit.
    let other = Request::post("/api/v1/acme/demo/runs/abc/events").body(big()).unwrap();
    let (status, _, body) = call(&router, other).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // And an upload over the upload limit is refused too.
    let huge = Request::post("/streams/v1/polyaxon/acme/demo/runs/abc/artifact")
        .body(Body::from(vec![7u8; 9 * 1024 * 1024]))
        .unwrap();
    let (status, _, body) = call(&router, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}
