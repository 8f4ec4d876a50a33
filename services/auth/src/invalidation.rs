//! Telling decision caches that decisions changed. After every successful change to an org's
//! members, roles, teams, grants or service accounts, auth publishes `{"org": "<name>"}` on the
//! coordination channel [`CHANNEL`]; after a token is revoked, `{"token_hash": "<sha256 hex>"}`.
//! The gateway drops the cached decisions of that org or token. Publishing is best effort (a
//! failure is logged): the cache's short TTL bounds how long a missed message matters.

use bytes::Bytes;
use myelin_common::coord::SharedCoord;

pub use myelin_contracts::auth::{INVALIDATION_CHANNEL as CHANNEL, Invalidation};

/// Publishes `what` on [`CHANNEL`].
pub async fn publish(coord: &SharedCoord, what: &Invalidation) {
    let payload = match serde_json::to_vec(what) {
        Ok(payload) => Bytes::from(payload),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode an invalidation");
            return;
        }
    };
    if let Err(err) = coord.publish(CHANNEL, payload).await {
        tracing::error!(error = %err, ?what, "cannot publish a decision-cache invalidation");
    }
}
