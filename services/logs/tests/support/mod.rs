//! Shared test harness: a logs [`App`] with its background work running on given ports, plus the
//! steps the tests take (publish a run event, append a live line, call the API, read an SSE stream).
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use myelin_common::blob::SharedBlob;
use myelin_common::bus::{OutgoingMessage, SharedBus};
use myelin_common::coord::SharedCoord;
use myelin_contracts::RunUuid;
use myelin_contracts::events::{EVENTS_EXCHANGE, Envelope, RUN_STATUS_CHANGED, RunEvent};
use myelin_contracts::execution::log_stream;
use myelin_contracts::logs::Logs as LogsPage;
use myelin_logs::store::Chunk;
use myelin_logs::{App, Deps, Settings};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Upper bound for anything a test waits on.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Fast settings for tests: small chunks, short intervals.
pub fn settings(chunk_lines: usize) -> Settings {
    Settings {
        chunk_lines,
        flush_interval_ms: 20,
        tail_poll_ms: 20,
        lease_secs: 2,
        stream_retention_secs: 3600,
        max_page_lines: 1000,
        ..Settings::default()
    }
}

/// The three ports, shareable between harnesses (a restart keeps them).
#[derive(Clone)]
pub struct Ports {
    pub bus: SharedBus,
    pub coord: SharedCoord,
    pub blob: SharedBlob,
}

pub struct Harness {
    pub app: App,
    pub ports: Ports,
    shutdown: CancellationToken,
    background: JoinHandle<()>,
}

/// Builds the app on `ports` and starts its background work.
pub async fn start(settings: Settings, ports: Ports) -> Harness {
    let deps = Deps {
        bus: ports.bus.clone(),
        coord: ports.coord.clone(),
        blob: ports.blob.clone(),
    };
    let app = App::build(settings, deps).await.unwrap();
    let shutdown = CancellationToken::new();
    let background = app.spawn_background(shutdown.clone());
    Harness {
        app,
        ports,
        shutdown,
        background,
    }
}

/// Polls `check` until it returns Some or the deadline passes.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Harness {
    /// Stops the background work and waits for it (followers give their runs up).
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.background)
            .await
            .expect("the background work did not stop")
            .unwrap();
    }

    /// Publishes `run.status.changed` for `run` with `status`, happening now.
    pub async fn publish(&self, run: &RunUuid, status: &str) {
        self.publish_at(run, status, Utc::now()).await;
    }

    /// Publishes `run.status.changed` for `run` with `status`, as having happened at `at`.
    pub async fn publish_at(&self, run: &RunUuid, status: &str, at: DateTime<Utc>) {
        let event: RunEvent = serde_json::from_value(json!({
            "owner": "default", "project": "demo", "run": run, "status": status,
            "is_managed": true, "managed_by": "agent",
        }))
        .unwrap();
        let mut envelope = Envelope::new(RUN_STATUS_CHANGED, &event, None).unwrap();
        envelope.occurred_at = at;
        self.ports
            .bus
            .publish(
                EVENTS_EXCHANGE,
                RUN_STATUS_CHANGED,
                OutgoingMessage::json(&envelope).unwrap(),
            )
            .await
            .unwrap();
    }

    /// Appends a live line as the executor does; returns its stream id.
    pub async fn append(&self, run: &RunUuid, line: &str) -> String {
        let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        let fields = vec![
            ("ts".to_owned(), Bytes::from(ts)),
            ("stream".to_owned(), Bytes::from_static(b"stdout")),
            ("line".to_owned(), Bytes::from(line.to_owned())),
        ];
        self.ports.coord.xadd(&log_stream(run), fields, None).await.unwrap()
    }

    /// `GET <path>` on the router: status and JSON body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .app
            .router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A page of `run`'s logs with `query` (`last_file=...`), which must answer 200.
    pub async fn page(&self, run: &RunUuid, query: &str) -> LogsPage {
        let (status, body) = self.get(&format!("{}?{query}", logs_path(run))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// The run's chunk files with their lines.
    pub async fn chunks(&self, run: &RunUuid) -> Vec<(Chunk, Vec<String>)> {
        let store = self.app.store();
        let mut out = Vec::new();
        for chunk in store.chunks(run).await.unwrap() {
            let lines = store.read_chunk(run, &chunk.file).await.unwrap();
            out.push((chunk, lines.into_iter().map(|l| l.line.value).collect()));
        }
        out
    }

    /// Waits until the run's chunks hold exactly `sizes` lines each.
    pub async fn wait_chunks(&self, run: &RunUuid, sizes: &[usize]) -> Vec<(Chunk, Vec<String>)> {
        eventually(&format!("chunks of {sizes:?} lines"), || async {
            let chunks = self.chunks(run).await;
            let got: Vec<usize> = chunks.iter().map(|(_, lines)| lines.len()).collect();
            (got == sizes).then_some(chunks)
        })
        .await
    }
}

/// `/streams/v1/polyaxon/default/demo/runs/<run>/logs`.
pub fn logs_path(run: &RunUuid) -> String {
    format!("/streams/v1/polyaxon/default/demo/runs/{run}/logs")
}

/// The values of a page's lines.
pub fn values(page: &LogsPage) -> Vec<String> {
    page.logs.iter().map(|line| line.value.clone()).collect()
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Reads events from an SSE response body.
pub struct SseReader {
    body: Body,
    buffer: String,
}

impl SseReader {
    pub fn new(body: Body) -> Self {
        Self {
            body,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or None when the stream ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(DEADLINE, self.next_inner())
            .await
            .expect("no SSE event before the deadline")
    }

    async fn next_inner(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut data = Vec::new();
                for line in block.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => event.event = value.to_owned(),
                        "id" => event.id = Some(value.to_owned()),
                        "data" => data.push(value.to_owned()),
                        _ => {}
                    }
                }
                if event.event.is_empty() && data.is_empty() {
                    continue; // a keep-alive comment
                }
                event.data = data.join("\n");
                return Some(event);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Some(Err(err)) => panic!("SSE body failed: {err}"),
                None => return None,
            }
        }
    }
}
