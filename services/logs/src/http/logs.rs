//! `GET /streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs`: a run's log in Polyaxon's
//! `V1Logs` shape, `{last_time, last_file, logs, files}`, paged as Polyaxon's CLI expects.
//!
//! - With `last_time` (how the CLI follows a run): every line later than it — from the chunks that
//!   may hold such lines, then from the live stream — at most `max_page_lines`. `last_time` comes
//!   back as the last line's time (the one sent when there is no new line), or null once the run
//!   is done and nothing is left, which ends the CLI's loop.
//! - Without it: the chunk files after `last_file`, as many as fit in a page; the page that reaches
//!   the last file also carries the lines only the live stream holds yet. When the first page holds
//!   everything the answer is `last_file: null, files: []`, as Polyaxon's own server answers; else
//!   `last_file` names the page's last file and `files` lists them all, and the CLI asks for the next.
//!
//! `force` (Polyaxon: skip its cache) is accepted and has nothing to skip here.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use myelin_contracts::RunUuid;
use myelin_contracts::logs::Logs;
use serde::Deserialize;

use super::{AppState, run_uuid, stream_lines};
use crate::domain::chunk::StreamId;
use crate::domain::line::{format_time, parse_time};
use crate::domain::{files_page, first_chunk_after};
use crate::error::Error;

/// The query string.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Lines later than this time (ISO 8601).
    pub last_time: Option<String>,
    /// Chunk files after this one.
    pub last_file: Option<String>,
    /// Accepted for compatibility; ignored.
    pub force: Option<String>,
}

/// A page of a run's log.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs", tag = "logs",
    params(
        ("namespace" = String, Path, description = "Any value (the polyaxon CLI sends `polyaxon`)"),
        ("owner" = String, Path), ("project" = String, Path),
        ("uuid" = String, Path, description = "The run's uuid"),
        LogsQuery,
    ),
    responses(
        (status = 200, description = "A page of the log", body = Logs),
        (status = 400, description = "Bad uuid or `last_time`"),
    )
)]
pub async fn get_logs(
    State(state): State<AppState>,
    Path((_namespace, _owner, _project, uuid)): Path<(String, String, String, String)>,
    Query(query): Query<LogsQuery>,
) -> Result<Json<Logs>, Error> {
    let run = run_uuid(&uuid)?;
    let last_time = match query.last_time.filter(|t| !t.trim().is_empty()) {
        Some(text) => Some(parse_time(&text).ok_or(Error::InvalidLastTime(text))?),
        None => None,
    };
    let last_file = query.last_file.filter(|f| !f.is_empty());
    let page = match last_time {
        Some(time) => since(&state, &run, time).await?,
        None => by_file(&state, &run, last_file.as_deref()).await?,
    };
    Ok(Json(page))
}

async fn since(state: &AppState, run: &RunUuid, time: DateTime<Utc>) -> Result<Logs, Error> {
    let max = state.config.max_page_lines.max(1);
    let chunks = state.store.chunks(run).await?;
    let names: Vec<_> = chunks.iter().map(|chunk| chunk.name).collect();
    let mut logs = Vec::new();
    for chunk in &chunks[first_chunk_after(&names, time).min(chunks.len())..] {
        let lines = state.store.read_chunk(run, &chunk.file).await?;
        logs.extend(lines.into_iter().map(|l| l.line).filter(|l| l.timestamp > time));
        if logs.len() > max {
            break;
        }
    }
    if logs.len() <= max {
        let persisted = chunks.last().map_or(StreamId::ZERO, |chunk| chunk.name.last_id);
        // Read one line more than fits, to know whether the page is full.
        let live = stream_lines(&state.store, run, persisted, max + 1 - logs.len()).await?;
        logs.extend(live.into_iter().map(|l| l.line).filter(|l| l.timestamp > time));
    }
    let full = logs.len() > max;
    logs.truncate(max);
    let done = !full && is_done(state, run).await?;
    let last_time = match logs.last() {
        _ if done => None,
        Some(line) => Some(format_time(&line.timestamp)),
        None => Some(format_time(&time)),
    };
    Ok(Logs {
        last_time,
        last_file: None,
        logs,
        files: Vec::new(),
    })
}

async fn by_file(state: &AppState, run: &RunUuid, last_file: Option<&str>) -> Result<Logs, Error> {
    let max = state.config.max_page_lines.max(1);
    let chunks = state.store.chunks(run).await?;
    let files: Vec<String> = chunks.iter().map(|chunk| chunk.file.clone()).collect();
    let range = files_page(&files, last_file, max / state.config.chunk_lines.max(1));
    let mut logs = Vec::new();
    for file in &files[range.clone()] {
        logs.extend(state.store.read_chunk(run, file).await?.into_iter().map(|l| l.line));
    }
    let reaches_end = range.end == files.len() && (last_file.is_none() || !range.is_empty());
    let mut last_time = None;
    if reaches_end {
        let persisted = chunks.last().map_or(StreamId::ZERO, |chunk| chunk.name.last_id);
        let room = max.saturating_sub(logs.len()).max(1);
        let mut live = stream_lines(&state.store, run, persisted, room + 1).await?;
        if live.len() > room {
            // More live lines than fit: a following client goes on from the last one's time.
            live.truncate(room);
            last_time = live.last().map(|l| format_time(&l.line.timestamp));
        }
        logs.extend(live.into_iter().map(|l| l.line));
    }
    if last_file.is_none() && reaches_end && last_time.is_none() {
        // Everything fits in this answer: Polyaxon's own shape for it.
        return Ok(Logs {
            last_time: None,
            last_file: None,
            logs,
            files: Vec::new(),
        });
    }
    Ok(Logs {
        last_time,
        last_file: range
            .end
            .checked_sub(1)
            .filter(|_| !range.is_empty())
            .and_then(|at| files.get(at))
            .cloned(),
        logs,
        files,
    })
}

async fn is_done(state: &AppState, run: &RunUuid) -> Result<bool, Error> {
    Ok(state.store.state(run).await?.is_some_and(|s| s.status.is_done()))
}
