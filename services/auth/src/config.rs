//! The auth service's settings: defaults → `--config` TOML → `MYELIN_AUTH__*` environment variables.

use std::net::SocketAddr;

use myelin_common::coord::redis::RedisSettings;
use myelin_common::db::DbSettings;
use myelin_common::http::HttpLimits;
use myelin_common::settings::secret;
use myelin_common::telemetry::TelemetrySettings;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::password::Argon2Settings;
use crate::limits::LoginLimits;

/// The service name: binary, settings prefix (`MYELIN_AUTH__`), telemetry `service.name`.
pub const SERVICE: &str = "auth";

/// Everything the auth service can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// `postgres://...` or `sqlite://...` (`MYELIN_AUTH__DATABASE_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub database_url: SecretString,
    /// Redis URL, used by the `auth` binary for login limits and cache invalidations
    /// (`MYELIN_AUTH__REDIS_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub redis_url: SecretString,
    pub redis: RedisSettings,
    pub db: DbSettings,
    pub http: HttpLimits,
    /// Whether `POST /api/v1/auth/signup` creates accounts (`myelin server` turns it on).
    pub allow_signup: bool,
    /// How long a token from `POST /api/v1/auth/token` (login) lives, in hours.
    pub login_token_ttl_hours: u32,
    /// When set, `POST /internal/v1/authorize` requires the header `x-myelin-internal-token` with
    /// this value (distributed mode: only the gateway may ask). Unset: the route is open to whoever
    /// reaches the listener (loopback by default; the embedded server calls it in-process).
    #[serde(serialize_with = "secret::option::serialize")]
    pub internal_token: Option<SecretString>,
    /// First start: creates the owner account `admin_username` of org `admin_org` with this
    /// password unless the account exists (`MYELIN_AUTH__ADMIN_PASSWORD`). Unset: no account is
    /// created (sign-up, or an existing database).
    #[serde(serialize_with = "secret::option::serialize")]
    pub admin_password: Option<SecretString>,
    pub admin_username: String,
    pub admin_org: String,
    /// Failed-login limits.
    pub login: LoginLimits,
    /// The argon2id cost of new password hashes (default: OWASP's recommendation).
    pub argon2: Argon2Settings,
    pub telemetry: TelemetrySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8105)),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/myelin_auth"),
            redis_url: SecretString::from("redis://127.0.0.1:6379"),
            redis: RedisSettings::default(),
            db: DbSettings::default(),
            http: HttpLimits::default(),
            allow_signup: false,
            login_token_ttl_hours: 30 * 24,
            internal_token: None,
            admin_password: None,
            admin_username: "admin".to_owned(),
            admin_org: "default".to_owned(),
            login: LoginLimits::default(),
            argon2: Argon2Settings::default(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Result
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_and_secrets_are_redacted() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MYELIN_AUTH__ALLOW_SIGNUP", "true");
            jail.set_env("MYELIN_AUTH__ARGON2__ITERATIONS", "3");
            jail.set_env("MYELIN_AUTH__DATABASE_URL", "postgres://u:hunter2@h/db");
            jail.set_env("MYELIN_AUTH__INTERNAL_TOKEN", "s3cret-internal");
            let settings: Settings = myelin_common::settings::load(SERVICE, None).unwrap();
            assert!(settings.allow_signup);
            assert_eq!(settings.argon2.iterations, 3);
            assert_eq!(settings.argon2.memory_kib, 19 * 1024);
            let dumped = myelin_common::settings::dump(&settings).unwrap();
            assert!(!dumped.contains("hunter2") && !dumped.contains("s3cret"), "{dumped}");
            assert!(settings.internal_token.is_some());
            Ok(())
        });
    }
}
