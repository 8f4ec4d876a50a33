#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The logs service end to end on the in-process ports (MemoryBus, MemoryCoord, LocalBlob in a temp
//! directory): run events in, live lines in, chunks and API answers out.

mod support;

use std::sync::Arc;

use axum::body::Body;
use chrono::{Duration as Age, Utc};
use http::{Request, StatusCode, header};
use myelin_common::blob::LocalBlob;
use myelin_common::bus::memory::MemoryBus;
use myelin_common::coord::memory::MemoryCoord;
use myelin_contracts::RunUuid;
use myelin_contracts::execution::log_stream;
use myelin_logs::domain::line::{format_time, parse_time};
use myelin_logs::store::FOLLOWING_PREFIX;
use serde_json::{Value, json};
use support::{Harness, Ports, SseReader, eventually, logs_path, settings, start, values};
use tower::ServiceExt;

fn memory_ports(dir: &tempfile::TempDir) -> Ports {
    Ports {
        bus: Arc::new(MemoryBus::new()),
        coord: Arc::new(MemoryCoord::new()),
        blob: Arc::new(LocalBlob::new(dir.path()).unwrap()),
    }
}

async fn harness(chunk_lines: usize) -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let h = start(settings(chunk_lines), memory_ports(&dir)).await;
    (h, dir)
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_are_served_before_and_after_they_are_persisted() {
    let (h, dir) = harness(5).await;
    let run = RunUuid::new();
    h.publish(&run, "running").await;
    for line in numbered(0..3) {
        h.append(&run, &line).await;
    }
    // Only in the live stream so far: Polyaxon's one-page shape.
    let page = h.page(&run, "kind=job").await;
    assert_eq!(values(&page), numbered(0..3));
    assert_eq!(
        (page.last_file.as_deref(), page.files.len(), page.last_time.as_deref()),
        (None, 0, None)
    );
    let first = &page.logs[0];
    assert_eq!(first.node, "local");
    assert_eq!(first.pod, format!("plx-operation-{run}"));
    assert_eq!(first.container, "polyaxon-main");

    h.publish(&run, "succeeded").await;
    let chunks = h.wait_chunks(&run, &[3]).await;
    assert_eq!(chunks[0].1, numbered(0..3));
    let again = h.page(&run, "").await;
    assert_eq!(values(&again), numbered(0..3));
    assert_eq!(again.logs, page.logs, "the same lines, persisted now");

    // The chunk is JSON lines under <run>/plxlogs/ with the V1Log fields.
    let file = dir.path().join(format!("{run}/plxlogs/{}", chunks[0].0.file));
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(text.lines().count(), 3);
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    for key in ["timestamp", "node", "pod", "container", "value"] {
        assert!(line.get(key).is_some(), "{key} missing from {line}");
    }
    assert_eq!(line["value"], "line 0");
    // Nothing is left to follow.
    eventually("the run leaves the registry", || async {
        let listed = h.ports.blob.list(FOLLOWING_PREFIX).await.unwrap();
        listed.is_empty().then_some(())
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_cut_at_chunk_lines_while_running_and_the_rest_at_the_end() {
    let (h, _dir) = harness(5).await;
    let run = RunUuid::new();
    h.publish(&run, "starting").await;
    h.publish(&run, "running").await;
    for line in numbered(0..12) {
        h.append(&run, &line).await;
    }
    let chunks = h.wait_chunks(&run, &[5, 5]).await;
    assert_eq!(chunks[0].1, numbered(0..5));
    assert_eq!(chunks[1].1, numbered(5..10));
    assert!(chunks[0].0.file < chunks[1].0.file, "names sort in write order");
    // Two chunks plus two live lines, in order.
    assert_eq!(values(&h.page(&run, "").await), numbered(0..12));

    h.publish(&run, "failed").await;
    let chunks = h.wait_chunks(&run, &[5, 5, 2]).await;
    assert_eq!(chunks[2].1, numbered(10..12));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_by_file_and_by_time_as_the_polyaxon_cli_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(5);
    s.max_page_lines = 10; // two chunks per page
    let h = start(s, memory_ports(&dir)).await;
    let run = RunUuid::new();
    h.publish(&run, "running").await;
    for line in numbered(0..12) {
        h.append(&run, &line).await;
    }
    h.publish(&run, "succeeded").await;
    let chunks = h.wait_chunks(&run, &[5, 5, 2]).await;
    let files: Vec<String> = chunks.iter().map(|(c, _)| c.file.clone()).collect();

    let first = h.page(&run, "").await;
    assert_eq!(values(&first), numbered(0..10));
    assert_eq!(first.last_file.as_ref(), Some(&files[1]));
    assert_eq!(first.files, files);
    let second = h.page(&run, &format!("last_file={}", files[1])).await;
    assert_eq!(values(&second), numbered(10..12));
    assert_eq!(second.last_file.as_ref(), Some(&files[2]));
    let past = h.page(&run, &format!("last_file={}&force=true", files[2])).await;
    assert!(past.logs.is_empty() && past.last_file.is_none());

    // The CLI's loop for a done run (polyaxon `get_run_logs`): page while files remain.
    let (mut seen, mut last_file) = (Vec::new(), None::<String>);
    for _ in 0..10 {
        let query = last_file.as_ref().map(|f| format!("last_file={f}")).unwrap_or_default();
        let page = h.page(&run, &query).await;
        seen.extend(values(&page));
        last_file = page.last_file.clone();
        let more = last_file.is_some() && page.files.len() > 1 && last_file.as_ref() != page.files.last();
        if !more {
            break;
        }
    }
    assert_eq!(seen, numbered(0..12), "every line exactly once");

    // By time: lines after the 6th line's time; the run is done, so last_time comes back null.
    let sixth = h.page(&run, "").await.logs[5].timestamp;
    let since = h
        .page(&run, &format!("last_time={}", format_time(&sixth).replace('+', "%2B")))
        .await;
    assert_eq!(values(&since), numbered(6..12));
    assert_eq!(since.last_time, None);
    // Python's `+0000` offset, as the CLI sends it (with `+` left unencoded: a space once decoded).
    let python = sixth.format("%Y-%m-%dT%H:%M:%S%.6f+0000").to_string();
    assert_eq!(
        values(&h.page(&run, &format!("last_time={python}")).await),
        numbered(6..12)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_by_time_echoes_last_time_until_new_lines_come() {
    let (h, _dir) = harness(100).await;
    let run = RunUuid::new();
    h.publish(&run, "running").await;
    let created = Utc::now() - Age::seconds(5);
    h.append(&run, "a").await;
    h.append(&run, "b").await;
    let query = |t: &str| format!("last_time={}", t.replace('+', "%2B"));
    let page = h.page(&run, &query(&format_time(&created))).await;
    assert_eq!(values(&page), ["a", "b"]);
    let last = page.last_time.clone().unwrap();
    assert_eq!(parse_time(&last), Some(page.logs[1].timestamp));
    let idle = h.page(&run, &query(&last)).await;
    assert!(idle.logs.is_empty());
    assert_eq!(
        idle.last_time.as_deref(),
        Some(last.as_str()),
        "no new line: same last_time"
    );
    h.append(&run, "c").await;
    assert_eq!(values(&h.page(&run, &query(&last)).await), ["c"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_tail_sends_history_then_new_lines_and_ends_when_the_run_is_done() {
    let (h, _dir) = harness(2).await;
    let run = RunUuid::new();
    h.publish(&run, "running").await;
    for line in numbered(0..3) {
        h.append(&run, &line).await;
    }
    h.wait_chunks(&run, &[2]).await; // history from a chunk and from the stream
    let request = Request::get(format!("{}/tail", logs_path(&run)))
        .body(Body::empty())
        .unwrap();
    let response = h.app.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let mut events = SseReader::new(response.into_body());
    let mut ids = Vec::new();
    for expected in numbered(0..3) {
        let event = events.next().await.unwrap();
        assert_eq!(event.event, "log");
        let line: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(line["value"], expected.as_str());
        ids.push(event.id.unwrap());
    }
    let appended = h.append(&run, "after connecting").await;
    let event = events.next().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&event.data).unwrap()["value"],
        "after connecting"
    );
    assert_eq!(event.id.as_deref(), Some(appended.as_str()));

    h.publish(&run, "succeeded").await;
    let done = events.next().await.unwrap();
    assert_eq!(done.event, "done");
    assert_eq!(
        serde_json::from_str::<Value>(&done.data).unwrap(),
        json!({ "status": "succeeded" })
    );
    assert!(events.next().await.is_none(), "the stream ends after `done`");

    // Reconnecting with Last-Event-ID resumes after that line (the run is done: then `done`).
    let request = Request::get(format!("{}/tail", logs_path(&run)))
        .header("last-event-id", &ids[1])
        .body(Body::empty())
        .unwrap();
    let mut resumed = SseReader::new(h.app.router().oneshot(request).await.unwrap().into_body());
    let mut rest = Vec::new();
    while let Some(event) = resumed.next().await {
        rest.push(if event.event == "log" {
            serde_json::from_str::<Value>(&event.data).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned()
        } else {
            event.event
        });
    }
    assert_eq!(rest, ["line 2", "after connecting", "done"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_late_events_are_harmless() {
    let (h, _dir) = harness(4).await;
    let run = RunUuid::new();
    let start = Utc::now();
    h.publish_at(&run, "running", start).await;
    h.publish_at(&run, "running", start).await;
    for line in numbered(0..6) {
        h.append(&run, &line).await;
    }
    let done_at = Utc::now();
    h.publish_at(&run, "succeeded", done_at).await;
    h.publish_at(&run, "succeeded", done_at).await;
    // A redelivered, older `running` must not bring the run back.
    h.publish_at(&run, "running", start).await;
    h.wait_chunks(&run, &[4, 2]).await;
    let state = h.app.store().state(&run).await.unwrap().unwrap();
    assert_eq!(state.status.as_str(), "succeeded");
    eventually("the run leaves the registry", || async {
        h.ports
            .blob
            .list(FOLLOWING_PREFIX)
            .await
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(values(&h.page(&run, "").await), numbered(0..6));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_resumes_following_where_the_chunks_end() {
    let dir = tempfile::tempdir().unwrap();
    let ports = memory_ports(&dir);
    let first = start(settings(5), ports.clone()).await;
    let run = RunUuid::new();
    first.publish(&run, "running").await;
    for line in numbered(0..7) {
        first.append(&run, &line).await;
    }
    first.wait_chunks(&run, &[5]).await;
    first.stop().await;

    // Lines keep coming while no logs service runs.
    for line in numbered(7..11) {
        ports
            .coord
            .xadd(&log_stream(&run), vec![("line".into(), line.into())], None)
            .await
            .unwrap();
    }
    // The new instance adopts the registered run without any new event.
    let second = start(settings(5), ports.clone()).await;
    second.wait_chunks(&run, &[5, 5]).await;
    second.publish(&run, "succeeded").await;
    let chunks = second.wait_chunks(&run, &[5, 5, 1]).await;
    let all: Vec<String> = chunks.into_iter().flat_map(|(_, lines)| lines).collect();
    assert_eq!(all, numbered(0..11), "every line once, in order");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_runs_stream_is_deleted_after_the_retention_and_its_log_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(10);
    s.stream_retention_secs = 0;
    let h = start(s, memory_ports(&dir)).await;
    let run = RunUuid::new();
    h.publish(&run, "running").await;
    for line in numbered(0..3) {
        h.append(&run, &line).await;
    }
    h.publish(&run, "stopped").await;
    h.wait_chunks(&run, &[3]).await;
    eventually("the live stream is deleted", || async {
        (h.ports.coord.xlen(&log_stream(&run)).await.unwrap() == 0).then_some(())
    })
    .await;
    assert_eq!(values(&h.page(&run, "").await), numbered(0..3));
    h.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_400_with_a_logs_code() {
    let (h, _dir) = harness(5).await;
    let (status, body) = h.get("/streams/v1/polyaxon/default/demo/runs/not-a-uuid/logs").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "logs.invalid_uuid");
    let run = RunUuid::new();
    let (status, body) = h.get(&format!("{}?last_time=yesterday", logs_path(&run))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "logs.invalid_last_time");
    let (status, _) = h
        .get("/streams/v1/polyaxon/default/demo/runs/not-a-uuid/logs/tail")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An unknown run has an empty log.
    let page = h.page(&run, "").await;
    assert!(page.logs.is_empty() && page.files.is_empty());
    let (status, doc) = h.get("/internal/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"][support_logs_path()].is_object(), "{doc}");
    h.stop().await;
}

fn support_logs_path() -> &'static str {
    "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs"
}
