//! Telling decision caches that decisions changed. After every successful change to an org's
//! members, roles, teams, grants or service accounts, auth publishes `{"org": "<name>"}` on the
//! coordination channel [`CHANNEL`]; after a token is revoked, `{"token_hash": "<sha256 hex>"}`.
//! The gateway drops the cached decisions of that org or token. Publishing is best effort (a
//! failure is logged): the cache's short TTL bounds how long a missed message matters.

use bytes::Bytes;
use myelin_common::coord::SharedCoord;
use serde::{Deserialize, Serialize};

/// The pub/sub channel (the coordination store adds its own prefix, `myelin:` on Redis).
pub const CHANNEL: &str = "auth:invalidate";

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Invalidation {
    /// Every decision about this org may have changed.
    Org { org: String },
    /// Decisions for the token with this hash must not be served again.
    Token { token_hash: String },
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let org = serde_json::to_string(&Invalidation::Org { org: "acme".into() }).unwrap();
        assert_eq!(org, r#"{"org":"acme"}"#);
        let token = Invalidation::Token {
            token_hash: "ab".into(),
        };
        assert_eq!(serde_json::to_string(&token).unwrap(), r#"{"token_hash":"ab"}"#);
    }
}
