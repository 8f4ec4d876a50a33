#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `telemetry::init` installs the process-wide subscriber, so it gets a test binary of its own:
//! it refuses a second call, and exports spans over OTLP/HTTP protobuf to a stand-in collector.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use myelin_common::telemetry::{self, Error, LogFormat, TelemetrySettings};
use serde_json::Map;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_once_then_export_spans_over_otlp_http() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let collector = Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                tx.send((headers, body)).unwrap();
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    let settings = TelemetrySettings {
        format: LogFormat::Json,
        level: "info".into(),
        otlp_endpoint: Some(format!("http://{addr}")),
    };
    let guard = telemetry::init("telemetry-test-svc", &settings).unwrap();
    let again = telemetry::init("telemetry-test-svc", &TelemetrySettings::default());
    assert!(
        matches!(again, Err(Error::AlreadyInitialized)),
        "a second init is refused without panicking"
    );

    {
        let span = tracing::info_span!("exported-operation", answer = 42);
        let _entered = span.enter();
        tracing::info!("inside the exported span");
        let mut headers = Map::new();
        telemetry::inject_context(&mut headers);
        assert!(
            headers.contains_key("traceparent"),
            "a recorded span propagates its context: {headers:?}"
        );
    }
    drop(guard); // flushes the batch

    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the collector received spans before the deadline")
        .unwrap();
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert!(
        contains(&body, "service.name") && contains(&body, "telemetry-test-svc"),
        "resource names the service"
    );
    assert!(contains(&body, "exported-operation"), "the span was exported");
}
