//! Login rate limiting on the coordination store (Redis, or in-process in the embedded server):
//! at most `login.max_failures` failed logins per username per `login.window_secs`; past that,
//! `POST /api/v1/auth/token` answers 429 `auth.too_many_attempts` until the window ends, even with
//! the right password. A success clears the count. Counting by username (not by address) protects
//! each account from guessing wherever it comes from; the cost is that a flood of bad attempts
//! locks the account out for one window, which is bounded and logged.
//!
//! If the store is unreachable the limiter lets logins through and logs an error: an outage of
//! Redis must not lock everyone out. The argon2 cost still bounds guessing speed.

use std::time::Duration;

use bytes::Bytes;
use myelin_common::coord::SharedCoord;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `MYELIN_AUTH__LOGIN__*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginLimits {
    /// Failed logins allowed per username and window.
    pub max_failures: u32,
    /// The window, in seconds, counted from the first failure.
    pub window_secs: u64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window_secs: 300,
        }
    }
}

/// The coordination-store key counting `username`'s failures (the store adds its own prefix).
pub fn failures_key(username: &str) -> String {
    format!("auth:login-failures:{}", username.to_lowercase())
}

/// Counts failed logins per username.
#[derive(Clone)]
pub struct LoginLimiter {
    coord: SharedCoord,
    limits: LoginLimits,
}

impl LoginLimiter {
    pub fn new(coord: SharedCoord, limits: LoginLimits) -> Self {
        Self { coord, limits }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.limits.window_secs.max(1))
    }

    /// `auth.too_many_attempts` when `username` used up its failures in this window.
    pub async fn check(&self, username: &str) -> Result<(), Error> {
        let key = failures_key(username);
        let failures = match self.coord.get(&key).await {
            Ok(value) => value
                .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse::<u64>().ok()))
                .unwrap_or(0),
            Err(err) => {
                tracing::error!(error = %err, "login rate limiter unavailable; letting the attempt through");
                return Ok(());
            }
        };
        if failures < u64::from(self.limits.max_failures) {
            return Ok(());
        }
        let retry_after = self
            .coord
            .ttl(&key)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| self.window());
        tracing::warn!(username, failures, "login refused: too many failed attempts");
        Err(Error::TooManyAttempts {
            retry_after_secs: retry_after.as_secs().max(1),
        })
    }

    /// Counts one failure; the first one of a window starts it.
    pub async fn failed(&self, username: &str) {
        let key = failures_key(username);
        let window = self.window();
        let counted = async {
            self.coord.set_nx(&key, Bytes::from_static(b"0"), Some(window)).await?;
            let count = self.coord.incr(&key, 1).await?;
            // The key may have expired between the two calls: never leave a counter without a TTL.
            if self.coord.ttl(&key).await?.is_none() {
                self.coord
                    .set(&key, Bytes::from(count.to_string()), Some(window))
                    .await?;
            }
            Ok::<_, myelin_common::coord::Error>(())
        };
        if let Err(err) = counted.await {
            tracing::error!(error = %err, "cannot count a failed login");
        }
    }

    /// Clears `username`'s failures after a successful login.
    pub async fn succeeded(&self, username: &str) {
        if let Err(err) = self.coord.delete(&failures_key(username)).await {
            tracing::error!(error = %err, "cannot reset the failed-login count");
        }
    }
}
