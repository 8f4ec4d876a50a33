//! The decision cache: auth's answers kept in the coordination store (Redis, shared by every
//! gateway replica; in-process when embedded) for a short TTL (default 10 s), keyed by
//! `authz:<sha256(token)>:<action>:<owner>:<project>`.
//!
//! Invalidation: auth publishes [`Invalidation`]s on [`INVALIDATION_CHANNEL`] after every change
//! to an org's members, roles, teams or grants (`{"org": ..}`) and after a token is revoked
//! (`{"token_hash": ..}`). Every replica subscribes and deletes the keys it wrote for that org or
//! token, so together they delete every cached copy; a replica that died leaves its keys to
//! expire. A decision asked for before an invalidation and answered after it is not cached (the
//! epoch check), so it cannot outlive the change. If a message is lost, a stale decision lives at
//! most the TTL: that is the longest a revoked token or a removed member keeps access.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use myelin_common::ApiError;
use myelin_common::coord::SharedCoord;
use myelin_contracts::auth::{Action, AuthorizeAnswer, INVALIDATION_CHANNEL, Invalidation, ResourceRef};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// Decisions in the coordination store, dropped on invalidation.
#[derive(Clone)]
pub struct DecisionCache {
    inner: Arc<Inner>,
}

struct Inner {
    coord: SharedCoord,
    ttl: Duration,
    /// Bumped by every invalidation this replica hears.
    epoch: AtomicU64,
    /// The keys this replica wrote, by org and by token hash, oldest first.
    written: Mutex<Written>,
}

#[derive(Default)]
struct Written {
    by_org: HashMap<String, VecDeque<(Instant, String)>>,
    by_token: HashMap<String, VecDeque<(Instant, String)>>,
}

impl DecisionCache {
    /// A cache on `coord` keeping decisions `ttl` (zero: nothing is cached).
    pub fn new(coord: SharedCoord, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                coord,
                ttl,
                epoch: AtomicU64::new(0),
                written: Mutex::new(Written::default()),
            }),
        }
    }

    /// Subscribes to invalidations (before returning, so none sent afterwards is missed) and
    /// applies them until `stop`; the subscription is renewed if it ends.
    pub async fn listen(&self, stop: CancellationToken) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let mut stream = self.inner.coord.subscribe(INVALIDATION_CHANNEL).await?;
        let cache = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    message = stream.next() => match message {
                        Some(payload) => cache.invalidate(&payload).await,
                        None => {
                            // The subscription broke (Redis restarted): what was cached may be
                            // stale; forget it all, then subscribe again.
                            cache.invalidate_all().await;
                            stream = loop {
                                tokio::select! {
                                    () = stop.cancelled() => return,
                                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                                }
                                match cache.inner.coord.subscribe(INVALIDATION_CHANNEL).await {
                                    Ok(stream) => break stream,
                                    Err(err) => tracing::warn!(error = %err, "cannot resubscribe to invalidations"),
                                }
                            };
                        }
                    }
                }
            }
        }))
    }

    /// The cached decision, else `ask()`'s, cached when no invalidation came in between.
    pub async fn decide<F, Fut>(
        &self,
        token: &str,
        action: Action,
        resource: &ResourceRef,
        ask: F,
    ) -> Result<AuthorizeAnswer, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AuthorizeAnswer, ApiError>>,
    {
        if self.inner.ttl.is_zero() {
            return ask().await;
        }
        let token_hash = hash(token);
        let key = format!(
            "authz:{token_hash}:{action}:{}:{}",
            resource.owner,
            resource.project.as_deref().unwrap_or("")
        );
        match self.inner.coord.get(&key).await {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(answer) => return Ok(answer),
                Err(err) => tracing::warn!(error = %err, "dropping a malformed cached decision"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cannot read the decision cache"),
        }
        let epoch = self.inner.epoch.load(Ordering::SeqCst);
        let answer = ask().await?;
        if self.inner.epoch.load(Ordering::SeqCst) == epoch {
            self.store(&key, &token_hash, &resource.owner, &answer).await;
        }
        Ok(answer)
    }

    async fn store(&self, key: &str, token_hash: &str, org: &str, answer: &AuthorizeAnswer) {
        let Ok(value) = serde_json::to_vec(answer) else { return };
        if let Err(err) = self
            .inner
            .coord
            .set(key, Bytes::from(value), Some(self.inner.ttl))
            .await
        {
            tracing::warn!(error = %err, "cannot write the decision cache");
            return;
        }
        let now = Instant::now();
        let ttl = self.inner.ttl;
        let mut guard = self.inner.written.lock().unwrap_or_else(PoisonError::into_inner);
        let written = &mut *guard;
        for (index, name) in [(&mut written.by_org, org), (&mut written.by_token, token_hash)] {
            let keys = index.entry(name.to_owned()).or_default();
            while keys.front().is_some_and(|(at, _)| now.duration_since(*at) > ttl) {
                keys.pop_front();
            }
            keys.push_back((now, key.to_owned()));
        }
        // Forget names whose keys all expired.
        if written.by_token.len() > 10_000 {
            written
                .by_token
                .retain(|_, keys| keys.back().is_some_and(|(at, _)| now.duration_since(*at) <= ttl));
            written
                .by_org
                .retain(|_, keys| keys.back().is_some_and(|(at, _)| now.duration_since(*at) <= ttl));
        }
    }

    /// Applies one invalidation message.
    pub async fn invalidate(&self, payload: &[u8]) {
        self.inner.epoch.fetch_add(1, Ordering::SeqCst);
        let keys = match serde_json::from_slice::<Invalidation>(payload) {
            Ok(Invalidation::Org { org }) => self.take(|w| w.by_org.remove(&org)),
            Ok(Invalidation::Token { token_hash }) => self.take(|w| w.by_token.remove(&token_hash)),
            Err(err) => {
                tracing::warn!(error = %err, "malformed invalidation: dropping every cached decision");
                return self.invalidate_all().await;
            }
        };
        self.delete(keys).await;
    }

    /// Drops every decision this replica cached.
    pub async fn invalidate_all(&self) {
        self.inner.epoch.fetch_add(1, Ordering::SeqCst);
        let keys = self.take(|w| {
            w.by_token.clear();
            Some(w.by_org.drain().flat_map(|(_, keys)| keys).collect())
        });
        self.delete(keys).await;
    }

    fn take(&self, pick: impl FnOnce(&mut Written) -> Option<VecDeque<(Instant, String)>>) -> Vec<String> {
        let mut written = self.inner.written.lock().unwrap_or_else(PoisonError::into_inner);
        pick(&mut written)
            .map(|keys| keys.into_iter().map(|(_, key)| key).collect())
            .unwrap_or_default()
    }

    async fn delete(&self, keys: Vec<String>) {
        for key in keys {
            if let Err(err) = self.inner.coord.delete(&key).await {
                tracing::warn!(error = %err, "cannot drop a cached decision");
            }
        }
    }
}

/// SHA-256 of `token`, lowercase hex: the hash auth stores and names in invalidations.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
