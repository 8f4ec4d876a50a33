//! `GET /streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs/tail`: a run's log as
//! Server-Sent Events — the history, then new lines as they come, until the run is done.
//!
//! The wire types are in `myelin_contracts::logs`. Each line is an `event: log` whose `data` is a
//! `LogLine` and whose `id` is the stream entry id, so a client that reconnects with `Last-Event-ID`
//! resumes after it. When the run is done (as the run events the service consumes say), the lines left are sent
//! and the stream ends with `event: done`, `data: {"status": "<status>"}`. A failure ends it with
//! `event: error`, `data: {"message": ...}`. Comments keep idle connections alive.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use http::HeaderMap;
use myelin_contracts::logs::{TAIL_EVENT_DONE, TAIL_EVENT_ERROR, TAIL_EVENT_LOG, TailDone, TailError};
use myelin_contracts::{RunUuid, Statuses};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{AppState, run_uuid};
use crate::domain::chunk::StreamId;
use crate::domain::line::StoredLine;
use crate::error::Error;

/// Events buffered for a slow client before reading pauses.
const BUFFER: usize = 256;
/// Live lines read per poll.
const BATCH: usize = 500;
/// Interval of the keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Follows a run's log.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs/tail", tag = "logs",
    params(
        ("namespace" = String, Path), ("owner" = String, Path), ("project" = String, Path),
        ("uuid" = String, Path, description = "The run's uuid"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this line id"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `log` events, then `done`", content_type = "text/event-stream"),
        (status = 400, description = "Bad uuid"),
    )
)]
pub async fn tail(
    State(state): State<AppState>,
    Path((_namespace, _owner, _project, uuid)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let run = run_uuid(&uuid)?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<StreamId>().ok())
        .unwrap_or(StreamId::ZERO);
    let (events, rx) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        let mut tail = Tail {
            state,
            run,
            events,
            sent: after,
        };
        if let Err(err) = tail.run().await {
            tracing::warn!(run = %tail.run, error = %err, "live tail failed");
            let data = TailError {
                message: err.to_string(),
            };
            let event = Event::default().event(TAIL_EVENT_ERROR).json_data(data);
            if let Ok(event) = event {
                let _ = tail.events.send(event).await;
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Why sending stopped early.
enum Stop {
    /// The client went away or the service is stopping: end quietly.
    Quiet,
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(err: Error) -> Self {
        Stop::Failed(err)
    }
}

struct Tail {
    state: AppState,
    run: RunUuid,
    events: mpsc::Sender<Event>,
    /// The last line sent.
    sent: StreamId,
}

impl Tail {
    async fn run(&mut self) -> Result<(), Error> {
        match self.follow().await {
            Ok(()) | Err(Stop::Quiet) => Ok(()),
            Err(Stop::Failed(err)) => Err(err),
        }
    }

    async fn follow(&mut self) -> Result<(), Stop> {
        self.send_persisted().await?;
        loop {
            if self.state.stopping.is_cancelled() || self.events.is_closed() {
                return Err(Stop::Quiet);
            }
            let lines = self.state.store.stream_after(&self.run, self.sent, BATCH).await?;
            if !lines.is_empty() {
                self.send_lines(lines).await?;
                continue;
            }
            let state = self.state.store.state(&self.run).await?;
            if let Some(state) = state.filter(|s| s.status.is_done()) {
                return self.finish(state.status).await;
            }
            tokio::select! {
                () = self.state.stopping.cancelled() => return Err(Stop::Quiet),
                () = self.events.closed() => return Err(Stop::Quiet),
                () = tokio::time::sleep(self.state.config.tail_poll) => {}
            }
        }
    }

    /// The run is done: what the chunks hold beyond what was sent (the live stream may be gone by
    /// now), what the stream still holds, then `done`.
    async fn finish(&mut self, status: Statuses) -> Result<(), Stop> {
        self.send_persisted().await?;
        loop {
            let lines = self.state.store.stream_after(&self.run, self.sent, BATCH).await?;
            if lines.is_empty() {
                break;
            }
            self.send_lines(lines).await?;
        }
        let done = Event::default()
            .event(TAIL_EVENT_DONE)
            .json_data(TailDone { status })
            .map_err(|err| Stop::Failed(Error::Json(serde_json::Error::io(std::io::Error::other(err)))))?;
        self.send(done).await
    }

    /// Sends the lines of every chunk that holds lines after the last one sent.
    async fn send_persisted(&mut self) -> Result<(), Stop> {
        for chunk in self.state.store.chunks(&self.run).await? {
            if chunk.name.last_id > self.sent {
                let lines = self.state.store.read_chunk(&self.run, &chunk.file).await?;
                self.send_lines(lines).await?;
            }
        }
        Ok(())
    }

    async fn send_lines(&mut self, lines: Vec<StoredLine>) -> Result<(), Stop> {
        for stored in lines {
            if stored.id <= self.sent {
                continue;
            }
            let event = Event::default()
                .event(TAIL_EVENT_LOG)
                .id(stored.id.to_string())
                .json_data(&stored.line)
                .map_err(|err| Stop::Failed(Error::Json(serde_json::Error::io(std::io::Error::other(err)))))?;
            self.send(event).await?;
            self.sent = stored.id;
        }
        Ok(())
    }

    async fn send(&self, event: Event) -> Result<(), Stop> {
        tokio::select! {
            sent = self.events.send(event) => sent.map_err(|_| Stop::Quiet),
            () = self.state.stopping.cancelled() => Err(Stop::Quiet),
        }
    }
}
