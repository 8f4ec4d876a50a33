//! [`Tracker`]: batching, non-blocking metric logging for one run.
//!
//! `log_metric` validates the point and queues it without waiting (a bounded queue: when it is full
//! the call fails with [`TrackError::Backlog`] instead of blocking the training loop). A background
//! task sends `POST .../events` batches of up to `batch_size` points, at least every `interval`,
//! retrying transport errors and 5xx answers with backoff; a 4xx (the server refused the batch) is
//! kept and returned by the next [`Tracker::flush`]. `flush` waits until everything queued before
//! it was stored.

use std::time::Duration;

use chrono::Utc;
use myelin_contracts::RunUuid;
use myelin_contracts::tracking::{EventPoint, EventsBatch, MetricPoint};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::{Client, Error};

/// How a [`Tracker`] batches.
#[derive(Debug, Clone)]
pub struct TrackerOptions {
    /// Points per request.
    pub batch_size: usize,
    /// A partial batch is sent after this long.
    pub interval: Duration,
    /// Points queued at most; beyond, logging fails with [`TrackError::Backlog`].
    pub max_pending: usize,
    /// Attempts per batch for transport errors and 5xx answers.
    pub attempts: u32,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        Self {
            batch_size: 5000,
            interval: Duration::from_secs(1),
            max_pending: 1_000_000,
            attempts: 3,
        }
    }
}

/// Why a point was not queued, or a flush failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("metric `{name}` has a non-finite value ({value})")]
    NotFinite { name: String, value: f64 },
    #[error("invalid metric name {0:?}: names are 1–256 bytes without whitespace or control characters")]
    InvalidName(String),
    #[error("{0} points are waiting to be sent; the server is not keeping up")]
    Backlog(usize),
    #[error("the tracker has stopped")]
    Stopped,
    /// Batches the server refused or that could not be delivered (points dropped).
    #[error("{dropped} points were not stored: {error}")]
    Send { dropped: usize, error: Error },
}

enum Msg {
    Metric(MetricPoint),
    Event(EventPoint),
    Flush(oneshot::Sender<Result<(), TrackError>>),
}

/// Logs metrics and events of one run in the background.
pub struct Tracker {
    tx: mpsc::Sender<Msg>,
    max_pending: usize,
    task: JoinHandle<()>,
}

/// Whether `name` may name a series.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
        && !name.split('/').any(|part| part == "..")
}

impl Tracker {
    /// Starts the background sender for run `uuid` of `owner/project`.
    pub fn start(client: Client, owner: &str, project: &str, uuid: RunUuid, options: TrackerOptions) -> Tracker {
        let (tx, rx) = mpsc::channel(options.max_pending.max(1));
        let target = (owner.to_owned(), project.to_owned(), uuid);
        let max_pending = options.max_pending;
        let task = tokio::spawn(send_loop(client, target, options, rx));
        Tracker { tx, max_pending, task }
    }

    /// Queues one metric value (timestamped now).
    pub fn log_metric(&self, name: &str, value: f64, step: Option<i64>) -> Result<(), TrackError> {
        if !valid_name(name) {
            return Err(TrackError::InvalidName(name.to_owned()));
        }
        if !value.is_finite() {
            return Err(TrackError::NotFinite {
                name: name.to_owned(),
                value,
            });
        }
        let point = MetricPoint {
            name: name.to_owned(),
            value,
            step,
            timestamp: Some(Utc::now()),
        };
        self.enqueue(Msg::Metric(point))
    }

    /// Queues one event of another kind.
    pub fn log_event(&self, mut event: EventPoint) -> Result<(), TrackError> {
        if !valid_name(&event.name) {
            return Err(TrackError::InvalidName(event.name));
        }
        event.timestamp.get_or_insert_with(Utc::now);
        self.enqueue(Msg::Event(event))
    }

    fn enqueue(&self, msg: Msg) -> Result<(), TrackError> {
        self.tx.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TrackError::Backlog(self.max_pending),
            mpsc::error::TrySendError::Closed(_) => TrackError::Stopped,
        })
    }

    /// Waits until every point queued so far was sent; reports what was lost since the last flush.
    pub async fn flush(&self) -> Result<(), TrackError> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Msg::Flush(done)).await.map_err(|_| TrackError::Stopped)?;
        wait.await.map_err(|_| TrackError::Stopped)?
    }

    /// Flushes and stops the background task.
    pub async fn close(self) -> Result<(), TrackError> {
        let flushed = self.flush().await;
        drop(self.tx);
        let _ = self.task.await;
        flushed
    }
}

async fn send_loop(
    client: Client,
    (owner, project, uuid): (String, String, RunUuid),
    options: TrackerOptions,
    mut rx: mpsc::Receiver<Msg>,
) {
    let mut batch = EventsBatch::default();
    let mut failure: Option<TrackError> = None;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + options.interval, options.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            _ = tick.tick() => {
                send(&client, (&owner, &project, &uuid), &options, &mut batch, &mut failure).await;
                continue;
            }
        };
        match msg {
            Some(Msg::Metric(point)) => batch.metrics.push(point),
            Some(Msg::Event(event)) => batch.events.push(event),
            Some(Msg::Flush(done)) => {
                send(&client, (&owner, &project, &uuid), &options, &mut batch, &mut failure).await;
                let _ = done.send(failure.take().map_or(Ok(()), Err));
                continue;
            }
            None => {
                send(&client, (&owner, &project, &uuid), &options, &mut batch, &mut failure).await;
                return;
            }
        }
        if batch.len() >= options.batch_size {
            send(&client, (&owner, &project, &uuid), &options, &mut batch, &mut failure).await;
        }
    }
}

async fn send(
    client: &Client,
    (owner, project, uuid): (&str, &str, &RunUuid),
    options: &TrackerOptions,
    batch: &mut EventsBatch,
    failure: &mut Option<TrackError>,
) {
    if batch.is_empty() {
        return;
    }
    let taken = std::mem::take(batch);
    // The same key on every attempt: a batch stored whose answer was lost is not stored twice.
    let key = uuid::Uuid::new_v4().simple().to_string();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.log_events(owner, project, uuid, &taken, Some(&key)).await {
            Ok(_) => return,
            Err(error) => {
                let retryable = error.status().is_none_or(|s| s.is_server_error());
                if !retryable || attempt >= options.attempts {
                    let dropped = taken.len() + failure.as_ref().map_or(0, dropped_of);
                    *failure = Some(TrackError::Send { dropped, error });
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt - 1))).await;
            }
        }
    }
}

fn dropped_of(error: &TrackError) -> usize {
    match error {
        TrackError::Send { dropped, .. } => *dropped,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::extract::State;
    use axum::routing::post;
    use myelin_contracts::tracking::EventsIngested;

    use super::*;

    type Seen = Arc<Mutex<Vec<usize>>>;

    async fn ingest(State(seen): State<Seen>, Json(batch): Json<EventsBatch>) -> Json<EventsIngested> {
        seen.lock().unwrap().push(batch.len());
        Json(EventsIngested {
            duplicate: false,
            metrics: batch.metrics.len() as u64,
            events: batch.events.len() as u64,
        })
    }

    async fn server() -> (Client, Seen) {
        let seen = Seen::default();
        let app = axum::Router::new()
            .route("/api/v1/{owner}/{project}/runs/{uuid}/events", post(ingest))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (Client::new(&format!("http://{addr}"), None).unwrap(), seen)
    }

    #[tokio::test]
    async fn batches_by_size_and_flushes_the_rest() {
        let (client, seen) = server().await;
        let options = TrackerOptions {
            interval: Duration::from_secs(3600),
            ..TrackerOptions::default()
        };
        let tracker = Tracker::start(client, "default", "demo", RunUuid::new(), options);
        for step in 0..12_000 {
            tracker.log_metric("loss", 1.0 / (step + 1) as f64, Some(step)).unwrap();
        }
        tracker.flush().await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![5000, 5000, 2000]);
        assert!(matches!(
            tracker.log_metric("loss", f64::NAN, None),
            Err(TrackError::NotFinite { .. })
        ));
        assert!(matches!(
            tracker.log_metric("my loss", 1.0, None),
            Err(TrackError::InvalidName(_))
        ));
        tracker.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_partial_batch_goes_out_after_the_interval() {
        let (client, seen) = server().await;
        let options = TrackerOptions {
            interval: Duration::from_millis(50),
            ..TrackerOptions::default()
        };
        let tracker = Tracker::start(client, "default", "demo", RunUuid::new(), options);
        tracker.log_metric("acc", 0.5, Some(1)).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seen.lock().unwrap().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the interval never sent the batch"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(*seen.lock().unwrap(), vec![1]);
    }

    /// Answers 503 to the first request, then stores; records every request's idempotency key.
    async fn flaky_ingest(
        State(keys): State<Arc<Mutex<Vec<String>>>>,
        headers: axum::http::HeaderMap,
    ) -> (axum::http::StatusCode, Json<EventsIngested>) {
        let mut keys = keys.lock().unwrap();
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        keys.push(key.to_owned());
        let status = if keys.len() == 1 {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        } else {
            axum::http::StatusCode::OK
        };
        (status, Json(EventsIngested::default()))
    }

    #[tokio::test]
    async fn a_retried_batch_keeps_its_idempotency_key() {
        let keys: Arc<Mutex<Vec<String>>> = Arc::default();
        let app = axum::Router::new().route(
            "/api/v1/{owner}/{project}/runs/{uuid}/events",
            post(flaky_ingest).with_state(keys.clone()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = Client::new(&format!("http://{addr}"), None).unwrap();
        let tracker = Tracker::start(client, "default", "demo", RunUuid::new(), TrackerOptions::default());
        tracker.log_metric("loss", 0.5, Some(1)).unwrap();
        tracker.flush().await.unwrap();
        tracker.log_metric("loss", 0.25, Some(2)).unwrap();
        tracker.flush().await.unwrap();
        let keys = keys.lock().unwrap().clone();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(!keys[0].is_empty());
        assert_eq!(keys[0], keys[1], "the retry carries the batch's key");
        assert_ne!(keys[1], keys[2], "each batch has its own key");
    }

    #[tokio::test]
    async fn refused_batches_are_reported_by_the_next_flush() {
        let client = Client::new("http://127.0.0.1:9", None).unwrap();
        let options = TrackerOptions {
            attempts: 1,
            ..TrackerOptions::default()
        };
        let tracker = Tracker::start(client, "default", "demo", RunUuid::new(), options);
        tracker.log_metric("loss", 1.0, None).unwrap();
        match tracker.flush().await {
            Err(TrackError::Send { dropped: 1, .. }) => {}
            other => panic!("wanted a send failure, got {other:?}"),
        }
        tracker.flush().await.unwrap();
    }
}
