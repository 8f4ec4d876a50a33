//! Ships a run's output lines to its live log stream ([`log_stream`]) in the coordination store,
//! one entry per line with fields `ts` (RFC 3339, microseconds, UTC), `stream` (`stdout`|`stderr`)
//! and `line`. Lines are appended in the order they arrive. While the store fails, lines are
//! dropped (and counted) for a second at a time instead of stalling the workload.

use std::time::Duration;

use bytes::Bytes;
use chrono::SecondsFormat;
use myelin_common::coord::SharedCoord;
use myelin_contracts::RunUuid;
use myelin_contracts::execution::log_stream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::runtime::LogLine;

/// How long lines are dropped after the store failed.
const BACKOFF: Duration = Duration::from_secs(1);

/// Writes lines of one run.
#[derive(Clone)]
pub struct Shipper {
    coord: SharedCoord,
    stream: String,
    max_len: usize,
}

/// What [`Shipper::ship`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shipped {
    pub written: u64,
    pub dropped: u64,
}

impl Shipper {
    /// A shipper to the stream of `run`, keeping about `max_len` entries.
    pub fn new(coord: SharedCoord, run: &RunUuid, max_len: usize) -> Self {
        Self {
            coord,
            stream: log_stream(run),
            max_len,
        }
    }

    /// Appends one line.
    pub async fn write(&self, line: &LogLine) -> Result<(), myelin_common::coord::Error> {
        let fields = vec![
            (
                "ts".to_owned(),
                Bytes::from(line.ts.to_rfc3339_opts(SecondsFormat::Micros, true)),
            ),
            ("stream".to_owned(), Bytes::from_static(line.stream.as_str().as_bytes())),
            ("line".to_owned(), Bytes::from(line.line.clone())),
        ];
        self.coord
            .xadd(&self.stream, fields, Some(self.max_len))
            .await
            .map(|_| ())
    }

    /// Appends every line received until the channel closes.
    pub async fn ship(self, mut lines: mpsc::Receiver<LogLine>) -> Shipped {
        let mut shipped = Shipped::default();
        let mut paused_until: Option<Instant> = None;
        while let Some(line) = lines.recv().await {
            if paused_until.is_some_and(|until| Instant::now() < until) {
                shipped.dropped += 1;
                continue;
            }
            match self.write(&line).await {
                Ok(()) => {
                    shipped.written += 1;
                    paused_until = None;
                }
                Err(err) => {
                    if paused_until.is_none() {
                        tracing::warn!(error = %err, stream = %self.stream, "cannot append log lines; dropping them for a while");
                    }
                    shipped.dropped += 1;
                    paused_until = Some(Instant::now() + BACKOFF);
                }
            }
        }
        if shipped.dropped > 0 {
            tracing::warn!(stream = %self.stream, dropped = shipped.dropped, written = shipped.written, "some log lines were lost");
        }
        shipped
    }
}
