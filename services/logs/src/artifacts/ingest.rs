//! Uploaded traceml event files become collected series: once `events/<kind>/<name>.plx` is stored,
//! it is read back from the blob store, parsed ([`myelin_common::plx`]) and published as
//! `run.events.collected` ([`SeriesCollected`]) on `myelin.events`, for the tracker to store.
//!
//! A file over `max_ingest_bytes` is stored but not ingested, and so is one that does not parse
//! (both logged); a failure to publish is an error of the upload (the client may send it again:
//! a collected series replaces the stored one, so a repeat is harmless).

use myelin_common::bus::OutgoingMessage;
use myelin_common::plx;
use myelin_contracts::RunUuid;
use myelin_contracts::events::{EVENTS_EXCHANGE, Envelope};
use myelin_contracts::tracking::{RUN_EVENTS_COLLECTED, SeriesCollected};

use super::path::ArtifactPath;
use super::{Error, RunPath, State};

/// Publishes the series of `path` (relative to `run`, `size` bytes) when it is an event file.
/// Returns whether a series was published.
pub async fn collect(
    state: &State,
    run_path: &RunPath,
    run: &RunUuid,
    path: &ArtifactPath,
    size: u64,
) -> Result<bool, Error> {
    let Some((kind, name)) = plx::series_path(path.as_str()) else {
        return Ok(false);
    };
    if size > state.settings.max_ingest_bytes {
        tracing::warn!(%run, path = path.as_str(), size, limit = state.settings.max_ingest_bytes, "event file too large to ingest; stored only");
        return Ok(false);
    }
    let Some(body) = state.blob.get_bytes(&path.key(run)).await? else {
        tracing::warn!(%run, path = path.as_str(), "event file deleted before it was ingested");
        return Ok(false);
    };
    let parsed = tokio::task::spawn_blocking(move || match std::str::from_utf8(&body) {
        Ok(text) => plx::parse(kind, text).map_err(|e| e.to_string()),
        Err(e) => Err(format!("not UTF-8: {e}")),
    })
    .await
    .map_err(|e| Error::Internal(format!("the parsing task failed: {e}")))?;
    let points = match parsed {
        Ok(points) => points,
        Err(reason) => {
            tracing::warn!(%run, path = path.as_str(), %reason, "cannot read an uploaded event file; stored only");
            return Ok(false);
        }
    };
    let event = SeriesCollected {
        owner: run_path.owner.clone(),
        project: run_path.project.clone(),
        run: *run,
        kind,
        name,
        points,
    };
    let envelope = Envelope::new(RUN_EVENTS_COLLECTED, &event, myelin_common::http::current_request_id())?;
    let message = OutgoingMessage::envelope(&envelope)?;
    state
        .bus
        .publish(EVENTS_EXCHANGE, RUN_EVENTS_COLLECTED, message)
        .await?;
    tracing::debug!(%run, path = path.as_str(), points = event.points.len(), "uploaded event file collected");
    Ok(true)
}
