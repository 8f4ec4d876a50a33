//! `GET /streams/v1/{namespace}/{owner}/{project}/runs/changes[?uuids=a,b]`: live updates of a
//! project's runs as Server-Sent Events, so pages follow statuses without polling. Each event is
//! `run` with a [`RunChange`] `{uuid, status, updated_at}` for a run created or changed after the
//! stream opened (a run changing twice between two reads is sent once, as it is now).
//!
//! The replica reads the project's runs changed since its last read once a second (any replica sees
//! every change: the database is shared). A commit can land with an `updated_at` a little older than
//! an earlier read, so each read looks [`LOOK_BACK`] further back and skips what it already sent.
//! The stream ends when the tracker starts shutting down, so it drains.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use myelin_contracts::RunUuid;
use myelin_contracts::run::RunChange;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use super::{AppState, ErrorBody};
use crate::error::Error;
use crate::store::entities::run;
use crate::store::projects;

/// The SSE event name.
pub const RUN_EVENT: &str = "run";
/// How often the project's runs are read.
const TICK: Duration = Duration::from_secs(1);
/// How much further back than the last change seen each read looks.
const LOOK_BACK: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
/// Runs sent per read at most.
const PAGE: u64 = 500;
/// Runs named in `uuids` at most.
const MAX_UUIDS: usize = 200;

/// `?uuids=a,b`: only these runs.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ChangesQuery {
    /// Comma-separated run uuids; all the project's runs when absent.
    pub uuids: Option<String>,
}

/// The handler.
#[utoipa::path(
    get, path = "/streams/v1/{namespace}/{owner}/{project}/runs/changes", tag = "runs",
    params(("namespace" = String, Path), ("owner" = String, Path), ("project" = String, Path), ChangesQuery),
    responses(
        (status = 200, body = RunChange, content_type = "text/event-stream",
            description = "`run` events, one per change, until the tracker stops"),
        (status = 400, body = ErrorBody, description = "`tracker.invalid_query`: a bad uuid in `uuids`, or more than 200"),
        (status = 404, body = ErrorBody, description = "`tracker.owner_not_found`, `tracker.project_not_found`"),
    )
)]
pub async fn changes(
    State(state): State<AppState>,
    Path((_namespace, owner, project)): Path<(String, String, String)>,
    Query(query): Query<ChangesQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let only = parse_uuids(query.uuids.as_deref())?;
    let project = projects::find(state.store.db(), &owner, &project).await?;
    // What the look-back of the first read would find was there before the stream opened: not
    // sent. Read before answering, so a change made once the client has the stream is news.
    let opened = Utc::now();
    let sent = read(&state, project.id, only.as_deref(), opened)
        .await?
        .into_iter()
        .map(|row| (row.uuid, row.updated_at))
        .collect();
    let (events, rx) = mpsc::channel(64);
    tokio::spawn(follow(state, project.id, only, opened, sent, events));
    Ok(Sse::new(ReceiverStream::new(rx).map(Ok)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn parse_uuids(text: Option<&str>) -> Result<Option<Vec<Uuid>>, Error> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let uuids =
        text.split(',')
            .map(|part| {
                part.trim().parse::<RunUuid>().map(|u| u.as_uuid()).map_err(|_| {
                    Error::bad_field("tracker.invalid_query", "uuids", format!("`{part}` is not a run uuid"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    if uuids.len() > MAX_UUIDS {
        return Err(Error::bad_field(
            "tracker.invalid_query",
            "uuids",
            format!("at most {MAX_UUIDS} uuids"),
        ));
    }
    Ok(Some(uuids))
}

/// Sends the project's changes until the client leaves or the tracker stops.
async fn follow(
    state: AppState,
    project_id: i64,
    only: Option<Vec<Uuid>>,
    mut seen_until: DateTime<Utc>,
    mut sent: HashMap<Uuid, DateTime<Utc>>,
    events: mpsc::Sender<Event>,
) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !state.ready.load(Ordering::SeqCst) || events.is_closed() {
            return;
        }
        let rows = match read(&state, project_id, only.as_deref(), seen_until).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read run changes");
                continue;
            }
        };
        for row in rows {
            seen_until = seen_until.max(row.updated_at);
            if sent.get(&row.uuid) == Some(&row.updated_at) {
                continue;
            }
            sent.insert(row.uuid, row.updated_at);
            let Ok(status) = row.status.parse() else { continue };
            let change = RunChange {
                uuid: RunUuid::from(row.uuid),
                status,
                updated_at: row.updated_at,
            };
            let Ok(event) = Event::default().event(RUN_EVENT).json_data(&change) else {
                continue;
            };
            if events.send(event).await.is_err() {
                return;
            }
        }
        // Forget what can no longer come back within the look-back.
        if sent.len() > 10_000 {
            sent.retain(|_, at| *at > seen_until - LOOK_BACK);
        }
    }
}

/// The project's runs (of `only`, when given) changed after `since` minus [`LOOK_BACK`], oldest first.
async fn read(
    state: &AppState,
    project_id: i64,
    only: Option<&[Uuid]>,
    since: DateTime<Utc>,
) -> Result<Vec<run::Model>, sea_orm::DbErr> {
    let mut select = run::Entity::find()
        .filter(run::Column::ProjectId.eq(project_id))
        .filter(run::Column::UpdatedAt.gt(since - LOOK_BACK))
        .order_by_asc(run::Column::UpdatedAt)
        .limit(PAGE);
    if let Some(only) = only {
        select = select.filter(run::Column::Uuid.is_in(only.iter().copied()));
    }
    select.all(state.store.db()).await
}
