//! Gateway settings: defaults → `--config` TOML → `MYELIN_GATEWAY__<KEY>` environment.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use myelin_common::coord::redis::RedisSettings;
use myelin_common::http::HttpLimits;
use myelin_common::settings::secret;
use myelin_common::telemetry::TelemetrySettings;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Everything the gateway reads at startup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The public listener (`MYELIN_GATEWAY__LISTEN`). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Base urls of the tracker replicas (`MYELIN_GATEWAY__TRACKER_URLS=http://a:8101,http://b:8101`).
    #[serde(deserialize_with = "myelin_common::settings::serde_list::deserialize")]
    pub tracker_urls: Vec<String>,
    /// Base urls of the logs replicas (`MYELIN_GATEWAY__LOGS_URLS=http://a:8103,http://b:8103`).
    #[serde(deserialize_with = "myelin_common::settings::serde_list::deserialize")]
    pub logs_urls: Vec<String>,
    /// Base urls of the auth replicas (`MYELIN_GATEWAY__AUTH_URLS`).
    #[serde(deserialize_with = "myelin_common::settings::serde_list::deserialize")]
    pub auth_urls: Vec<String>,
    /// Who may call what.
    pub access: AccessSettings,
    /// Redis: the decision cache and its invalidations (`MYELIN_GATEWAY__REDIS_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub redis_url: SecretString,
    pub redis: RedisSettings,
    /// Body size limit and request timeout of the public listener.
    pub http: HttpLimits,
    /// Body size limit and timeout of artifact uploads (`POST .../runs/{uuid}/artifact`,
    /// `.../artifacts`, `.../artifacts/upload`), which the logs service streams to the blob store;
    /// the timeout also bounds the wait for the upstream's answer to an upload.
    pub uploads: HttpLimits,
    /// How long an upstream may take to send its response head before the gateway answers 504.
    pub upstream_timeout_secs: u64,
    /// How often every HTTP replica's `/readyz` is checked.
    pub health_interval_ms: u64,
    /// The key `GET /api/v1/installation` reports; a random one per process when unset.
    pub installation_key: Option<String>,
    /// The mode `GET /api/v1/installation` reports (Polyaxon's local CE server says `sandbox`).
    pub mode: String,
    pub telemetry: TelemetrySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            tracker_urls: vec!["http://127.0.0.1:8101".to_owned()],
            logs_urls: vec!["http://127.0.0.1:8103".to_owned()],
            auth_urls: vec!["http://127.0.0.1:8105".to_owned()],
            access: AccessSettings::default(),
            redis_url: SecretString::from("redis://127.0.0.1:6379"),
            redis: RedisSettings::default(),
            http: HttpLimits::default(),
            uploads: HttpLimits {
                request_timeout_secs: 3600,
                body_limit_bytes: usize::try_from(5u64 * 1024 * 1024 * 1024 + 1024 * 1024).unwrap_or(usize::MAX),
            },
            upstream_timeout_secs: 30,
            health_interval_ms: 1000,
            installation_key: None,
            mode: "sandbox".to_owned(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

/// Access control settings (`MYELIN_GATEWAY__ACCESS__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessSettings {
    /// Check every request against auth (false: everyone may do everything, as `anonymous`).
    pub enabled: bool,
    /// How long an auth decision is cached, in milliseconds (0: not cached). Also the longest a
    /// revoked token or a removed member keeps access if an invalidation message is lost.
    pub decision_ttl_ms: u64,
    /// Sent to auth as `x-myelin-internal-token` on decision requests (auth's `internal_token`).
    #[serde(serialize_with = "secret::option::serialize")]
    pub internal_token: Option<SecretString>,
    /// The key run tokens are signed with (the executors' `run_token_secret`); unset: run tokens
    /// are refused.
    #[serde(serialize_with = "secret::option::serialize")]
    pub run_token_secret: Option<SecretString>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            decision_ttl_ms: 10_000,
            internal_token: None,
            run_token_secret: None,
        }
    }
}

impl AccessSettings {
    /// [`Self::decision_ttl_ms`] as a duration.
    pub fn decision_ttl(&self) -> Duration {
        Duration::from_millis(self.decision_ttl_ms)
    }
}

impl Settings {
    /// [`Self::upstream_timeout_secs`] as a duration.
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_secs)
    }

    /// [`Self::health_interval_ms`] as a duration (at least 10 ms).
    pub fn health_interval(&self) -> Duration {
        Duration::from_millis(self.health_interval_ms.max(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)]
    fn tracker_urls_accept_a_comma_list() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MYELIN_GATEWAY__TRACKER_URLS", "http://a:1, http://b:2");
            jail.set_env("MYELIN_GATEWAY__UPSTREAM_TIMEOUT_SECS", "5");
            let settings: Settings = myelin_common::settings::load("gateway", None).unwrap();
            assert_eq!(settings.tracker_urls, vec!["http://a:1", "http://b:2"]);
            assert_eq!(settings.upstream_timeout(), Duration::from_secs(5));
            assert_eq!(settings.listen, SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)));
            Ok(())
        });
    }
}
