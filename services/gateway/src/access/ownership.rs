//! Run ownership: the logs service keys logs and artifacts by run uuid alone, so before a request
//! for `.../{owner}/{project}/runs/{uuid}/logs|artifact|artifacts` reaches it, the gateway checks
//! with the tracker that the run is in that project (`GET /api/v1/{owner}/{project}/runs/{uuid}`),
//! so another org's uuid answers 404 like everywhere else. A run never moves, so a positive answer
//! is remembered (a bounded map, emptied when full).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use http::Request;
use myelin_common::ApiError;
use myelin_contracts::headers;

use crate::upstream::Backend;

/// Runs remembered at most.
const CAPACITY: usize = 100_000;

/// What the gateway knows about where runs live.
#[derive(Default)]
pub struct RunOwnership {
    known: Mutex<HashMap<String, (String, String)>>,
}

impl RunOwnership {
    /// Ok when run `uuid` is in `owner/project`, else the tracker's 404 (or 503 when it cannot say).
    pub async fn check(
        &self,
        tracker: &Backend,
        owner: &str,
        project: &str,
        uuid: &str,
        timeout: Duration,
    ) -> Result<(), ApiError> {
        let key = uuid.replace('-', "").to_ascii_lowercase();
        if let Some((o, p)) = self.lock().get(&key)
            && o == owner
            && p == project
        {
            return Ok(());
        }
        let request = Request::get(format!("/api/v1/{owner}/{project}/runs/{uuid}"))
            .header(headers::SUBJECT, headers::ANONYMOUS)
            .body(Body::empty())
            .map_err(|_| not_found(owner, project, uuid))?;
        let response = tracker.send(request, timeout).await?;
        match response.status().as_u16() {
            200 => {
                let mut known = self.lock();
                if known.len() >= CAPACITY {
                    known.clear();
                }
                known.insert(key, (owner.to_owned(), project.to_owned()));
                Ok(())
            }
            400 | 404 => Err(not_found(owner, project, uuid)),
            status => Err(ApiError::new(
                myelin_common::ErrorCode::Unavailable,
                "gateway.upstream_error",
                format!("cannot check where run {uuid} lives (tracker answered {status})"),
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String)>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn not_found(owner: &str, project: &str, uuid: &str) -> ApiError {
    ApiError::not_found(
        "tracker.run_not_found",
        format!("run `{uuid}` not found in `{owner}/{project}`"),
    )
    .with_details(serde_json::json!({ "uuid": uuid }))
}
