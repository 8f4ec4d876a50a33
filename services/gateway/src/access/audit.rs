//! The audit trail of forwarded requests: every mutating request on a route that needs an action
//! (allowed or refused) becomes an [`AuditRecord`] — who, what, when, the result — sent to auth
//! (`POST /internal/v1/audit`), which keeps the org's audit log (readable by owners and managers).
//! The auth service audits its own routes itself.
//!
//! Records leave through a bounded queue and a background sender that batches them (up to 200 or
//! every 200 ms) and retries a failed batch 5 times with backoff; the request never waits for it.
//! What cannot be delivered (auth down for longer, or the queue full) is logged at `error` with
//! the records, so nothing disappears silently. The sender drains the queue before shutdown.
//!
//! Also here: after a user creates a project, auth is told (`POST /internal/v1/projects/created`)
//! so the creator administers it; after a project is deleted (`.../projects/deleted`), so the
//! grants naming it go.

use std::sync::Arc;
use std::time::Duration;

use myelin_contracts::auth::{
    AUDIT_PATH, AuditRecord, PROJECT_CREATED_PATH, PROJECT_DELETED_PATH, ProjectCreated, ProjectRef,
};
use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::upstream::Backend;

/// Records waiting at most.
const QUEUE: usize = 10_000;
/// Records per request to auth.
const BATCH: usize = 200;
/// Attempts per batch.
const ATTEMPTS: u32 = 5;

/// Where the gateway tells auth what happened.
#[derive(Clone)]
pub struct AuditSink {
    records: mpsc::Sender<AuditRecord>,
    poster: Arc<Poster>,
}

/// Posts to auth's internal routes.
struct Poster {
    auth: Backend,
    internal_token: Option<SecretString>,
    timeout: Duration,
}

impl AuditSink {
    /// The sink and its sender task, which delivers what is queued once `stop` is cancelled, then
    /// ends.
    pub fn start(
        auth: Backend,
        internal_token: Option<SecretString>,
        timeout: Duration,
        stop: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (records, queue) = mpsc::channel(QUEUE);
        let poster = Arc::new(Poster {
            auth,
            internal_token,
            timeout,
        });
        let sender = tokio::spawn(send_all(poster.clone(), queue, stop));
        (Self { records, poster }, sender)
    }

    /// Queues `record` (never waits).
    pub fn record(&self, record: AuditRecord) {
        if let Err(err) = self.records.try_send(record) {
            tracing::error!(record = ?err.into_inner(), "audit queue full: record not delivered");
        }
    }

    /// Tells auth `user` created `owner/project`, so they administer it (a failure is logged: the
    /// project exists; an owner or manager can grant it).
    pub async fn project_created(&self, owner: &str, project: &str, user: &str) {
        let body = ProjectCreated {
            owner: owner.to_owned(),
            project: project.to_owned(),
            user: user.to_owned(),
        };
        if let Err(err) = self.poster.post(PROJECT_CREATED_PATH, &body).await {
            tracing::error!(error = %err, ?body, "cannot tell auth who created a project");
        }
    }

    /// Tells auth `owner/project` was deleted, so no grant outlives it (a failure is logged).
    pub async fn project_deleted(&self, owner: &str, project: &str) {
        let body = ProjectRef {
            owner: owner.to_owned(),
            project: project.to_owned(),
        };
        if let Err(err) = self.poster.post(PROJECT_DELETED_PATH, &body).await {
            tracing::error!(error = %err, ?body, "cannot tell auth a project was deleted");
        }
    }
}

/// Sends queued records in batches until `stop`, then what is still queued, then ends.
async fn send_all(poster: Arc<Poster>, mut queue: mpsc::Receiver<AuditRecord>, stop: CancellationToken) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let got = tokio::select! {
            got = queue.recv_many(&mut batch, BATCH) => got,
            () = stop.cancelled(), if !queue.is_closed() => {
                queue.close();
                continue;
            }
        };
        if got == 0 {
            return;
        }
        // Let a burst gather a little.
        if batch.len() < BATCH && !stop.is_cancelled() {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = stop.cancelled() => {}
            }
            while batch.len() < BATCH {
                match queue.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
        }
        poster.deliver(&batch).await;
        batch.clear();
    }
}

impl Poster {
    /// Posts `batch`, retrying with backoff; logs it at `error` when it cannot.
    async fn deliver(&self, batch: &[AuditRecord]) {
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=ATTEMPTS {
            match self.post(AUDIT_PATH, &batch).await {
                Ok(()) => return,
                Err(err) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %err, attempt, "cannot deliver audit records; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(err) => tracing::error!(error = %err, records = ?batch, "audit records not delivered"),
            }
        }
    }

    async fn post<T: serde::Serialize>(&self, path: &str, body: &T) -> Result<(), String> {
        let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let request = super::internal_post(path, json, self.internal_token.as_ref()).map_err(|e| e.to_string())?;
        let response = self.auth.send(request, self.timeout).await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("auth answered {}", response.status()))
        }
    }
}
