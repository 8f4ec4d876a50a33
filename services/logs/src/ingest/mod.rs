//! Ingestion: from run events to chunk files.
//!
//! [`Ingestor::on_event`] records each run's latest state and, for a run that is starting, running
//! or stopping — or done, to write what is left — registers it and follows it ([`follow`]) if no
//! replica does yet. One replica at a time follows a run: the one holding its claim (a one-slot
//! semaphore in the coordination store, renewed while following). The registry of followed runs
//! (see [`crate::store`]) lets [`Ingestor::sweep`] adopt runs whose follower went away: at start
//! and then every lease period. Events are handled at least once and possibly out of order: an
//! older state never overrides a newer one, following twice is prevented by the claim, and chunk
//! writes start from what the chunks already hold.

pub mod events;
pub mod follow;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use myelin_contracts::events::RunEvent;
use myelin_contracts::{RunUuid, Statuses};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::domain::RunState;
use crate::error::Error;
use crate::store::LogStore;

use self::follow::{Follower, Outcome};

/// The knobs of following, from [`Settings`].
#[derive(Debug, Clone)]
pub struct FollowConfig {
    pub chunk_lines: usize,
    pub flush_interval: Duration,
    pub lease: Duration,
    pub idle_timeout: Duration,
    pub state_ttl: Duration,
    pub stream_retention: Duration,
}

impl FollowConfig {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            chunk_lines: settings.chunk_lines(),
            flush_interval: settings.flush_interval(),
            lease: settings.lease(),
            idle_timeout: Duration::from_secs(settings.idle_timeout_secs.max(1)),
            state_ttl: Duration::from_secs(settings.status_ttl_secs.max(1)),
            stream_retention: Duration::from_secs(settings.stream_retention_secs),
        }
    }
}

/// Follows runs on this replica.
pub struct Ingestor {
    store: LogStore,
    config: Arc<FollowConfig>,
    /// This replica's name in claims.
    holder: String,
    following: Mutex<HashMap<RunUuid, Arc<Notify>>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Ingestor {
    /// An ingestor whose followers stop when `shutdown` is cancelled.
    pub fn new(store: LogStore, config: FollowConfig, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            store,
            config: Arc::new(config),
            holder: format!("logs-{}", uuid::Uuid::new_v4().simple()),
            following: Mutex::default(),
            tasks: TaskTracker::new(),
            shutdown,
        })
    }

    /// Whether this replica follows `run` now.
    pub fn is_following(&self, run: &RunUuid) -> bool {
        self.lock().contains_key(run)
    }

    /// Handles a run event that happened at `at`.
    pub async fn on_event(self: &Arc<Self>, event: &RunEvent, at: DateTime<Utc>) -> Result<(), Error> {
        let run = event.run;
        let state = RunState {
            status: event.status,
            at,
        };
        let current = self.store.record_state(&run, state, self.config.state_ttl).await?;
        if current != state {
            return Ok(()); // a newer event was handled already
        }
        let wanted = state.status.is_done() || state.status.is_running_family() || state.status == Statuses::Stopping;
        if !wanted {
            return Ok(());
        }
        if let Some(wake) = self.lock().get(&run) {
            wake.notify_one();
            return Ok(());
        }
        self.store.register(&run).await?;
        self.follow(run).await.map(|_| ())
    }

    /// Adopts every registered run nobody follows; returns how many this replica took.
    pub async fn sweep(self: &Arc<Self>) -> Result<usize, Error> {
        let mut adopted = 0;
        for run in self.store.registered().await? {
            if self.is_following(&run) {
                continue;
            }
            if self.follow(run).await? {
                adopted += 1;
            }
        }
        Ok(adopted)
    }

    /// Sweeps now and then every lease period until shutdown.
    pub async fn sweep_forever(self: Arc<Self>) {
        loop {
            match self.sweep().await {
                Ok(0) => {}
                Ok(adopted) => tracing::info!(adopted, "resumed following runs"),
                Err(err) => tracing::warn!(error = %err, "cannot sweep the followed runs"),
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(self.config.lease) => {}
            }
        }
    }

    /// Waits for every follower (and pending stream expiry) to end; call after `shutdown`.
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Follows `run` here unless this or another replica does; true when following started.
    /// (Boxed: a follower that ends may start following again.)
    fn follow(self: &Arc<Self>, run: RunUuid) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.follow_inner(run))
    }

    async fn follow_inner(self: &Arc<Self>, run: RunUuid) -> Result<bool, Error> {
        if self.shutdown.is_cancelled() || !self.store.claim(&run, &self.holder, self.config.lease).await? {
            return Ok(false);
        }
        let wake = Arc::new(Notify::new());
        {
            let mut following = self.lock();
            if following.contains_key(&run) {
                return Ok(false);
            }
            following.insert(run, wake.clone());
        }
        let follower = Follower {
            run,
            store: self.store.clone(),
            config: self.config.clone(),
            holder: self.holder.clone(),
            wake,
            shutdown: self.shutdown.clone(),
        };
        let this = Arc::clone(self);
        self.tasks.spawn(async move {
            let outcome = follower.run().await;
            this.lock().remove(&run);
            // An event that arrived while the follower was finishing only woke it: look again.
            let state = this.store.state(&run).await.ok().flatten();
            if outcome != Outcome::Stopped && state.is_some_and(|s| s.status.is_running_family()) {
                if let Err(err) = this.store.register(&run).await {
                    tracing::warn!(%run, error = %err, "cannot register a followed run");
                }
                if let Err(err) = this.follow(run).await {
                    tracing::warn!(%run, error = %err, "cannot follow the run again");
                }
                return;
            }
            if outcome == Outcome::Finished {
                let retention = this.config.stream_retention;
                follow::expire_stream(this.store.clone(), run, retention, this.shutdown.clone()).await;
            }
        });
        Ok(true)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RunUuid, Arc<Notify>>> {
        self.following.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
