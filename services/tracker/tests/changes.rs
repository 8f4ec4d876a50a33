#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The run-changes stream (`GET /streams/v1/{ns}/{owner}/{project}/runs/changes`, Server-Sent
//! Events): a status change and a new run arrive as `run` events; `?uuids=` narrows it; other
//! projects' runs never appear; bad input is a 4xx before the stream opens. On SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::{Backend, TestApp, condition};
use tower::ServiceExt;

/// The `run` events of an open stream, as they come.
struct Events {
    body: Body,
    buffer: String,
}

impl Events {
    async fn open(t: &TestApp, uri: &str) -> Events {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = t.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next `run` event's data, within 10 s.
    async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let frame: String = self.buffer.drain(..end + 2).collect();
                    if frame.lines().any(|l| l == "event: run") {
                        let data = frame.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                        return serde_json::from_str(data).unwrap();
                    }
                    continue;
                }
                let frame = self.body.frame().await.unwrap().unwrap();
                if let Ok(data) = frame.into_data() {
                    self.buffer.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
        })
        .await
        .expect("no run event within 10 s")
    }
}

async fn changes_arrive(backend: Backend) {
    let t = support::spawn(backend).await;
    t.project("live").await;
    t.project("elsewhere").await;
    let first = t.run("live", json!({"name": "first"})).await;
    let first = first["uuid"].as_str().unwrap().to_owned();

    let mut all = Events::open(&t, "/streams/v1/polyaxon/default/live/runs/changes").await;
    let mut only = Events::open(
        &t,
        &format!("/streams/v1/polyaxon/default/live/runs/changes?uuids={first}"),
    )
    .await;
    let r = t
        .post(
            &format!("/api/v1/default/live/runs/{first}/statuses"),
            condition("running"),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let event = all.next().await;
    assert_eq!(
        (event["uuid"].as_str(), event["status"].as_str()),
        (Some(first.as_str()), Some("running"))
    );
    let event = only.next().await;
    assert_eq!(
        (event["uuid"].as_str(), event["status"].as_str()),
        (Some(first.as_str()), Some("running"))
    );

    // Another project's run never shows; a new run of this one does (not on the narrowed stream).
    t.run("elsewhere", json!({"name": "other"})).await;
    let second = t.run("live", json!({"name": "second"})).await;
    let event = all.next().await;
    assert_eq!(event["uuid"], second["uuid"]);
    assert_eq!(event["status"], "created");
    let r = t.post_empty(&format!("/api/v1/default/live/runs/{first}/stop")).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let event = only.next().await;
    assert_eq!(event["uuid"].as_str(), Some(first.as_str()), "{event}");
}

#[tokio::test]
async fn changes_arrive_sqlite() {
    changes_arrive(Backend::Sqlite).await;
}

#[tokio::test]
async fn changes_arrive_postgres() {
    changes_arrive(Backend::Postgres).await;
}

#[tokio::test]
async fn bad_input_is_refused_before_the_stream() {
    let t = support::spawn(Backend::Sqlite).await;
    t.project("live").await;
    let r = t.get("/streams/v1/polyaxon/default/nope/runs/changes").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.project_not_found"))
    );
    let r = t
        .get("/streams/v1/polyaxon/default/live/runs/changes?uuids=not-a-uuid")
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_query"))
    );
}
