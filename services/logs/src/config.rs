//! The logs service's settings: defaults → `--config` TOML → `MYELIN_LOGS__*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use myelin_common::blob::BlobSettings;
use myelin_common::bus::amqp::AmqpSettings;
use myelin_common::coord::redis::RedisSettings;
use myelin_common::http::HttpLimits;
use myelin_common::settings::secret;
use myelin_common::telemetry::TelemetrySettings;
use myelin_contracts::execution::LOGS_EVENTS_QUEUE;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The service name: binary, settings prefix (`MYELIN_LOGS__`), telemetry `service.name`.
pub const SERVICE: &str = "logs";

/// Everything the logs service can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// RabbitMQ URL, used by the `logs` binary (`MYELIN_LOGS__AMQP_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub amqp_url: SecretString,
    /// Redis URL (live log streams, leases, run states), used by the `logs` binary.
    #[serde(serialize_with = "secret::serialize")]
    pub redis_url: SecretString,
    pub amqp: AmqpSettings,
    pub redis: RedisSettings,
    /// Where chunks go: `kind = "local"` + `root` (a leading `~` is the home directory), or `kind = "s3"`.
    pub blob: BlobSettings,
    /// Lines per chunk file.
    pub chunk_lines: usize,
    /// How often each followed run's live stream is read (and full chunks written).
    pub flush_interval_ms: u64,
    /// How often a live tail (SSE) polls for new lines.
    pub tail_poll_ms: u64,
    /// Seconds a replica's claim on following a run lives without renewal.
    pub lease_secs: u64,
    /// A followed run whose stream stays silent this long is flushed and no longer followed (its
    /// done event still flushes anything later).
    pub idle_timeout_secs: u64,
    /// Seconds a run's last known status is remembered (what tells a live tail the run is done).
    pub status_ttl_secs: u64,
    /// Seconds a finished run's live stream is kept after its last chunk is written, then deleted.
    pub stream_retention_secs: u64,
    /// Most lines one `GET .../logs` answer carries.
    pub max_page_lines: usize,
    /// Run events handled at once.
    pub prefetch: u16,
    /// The queue run events are consumed from (bound to `myelin.events`); replicas share it.
    pub events_queue: String,
    pub http: HttpLimits,
    /// Run artifacts: upload limits.
    pub artifacts: ArtifactSettings,
    pub telemetry: TelemetrySettings,
}

/// Limits of the run artifact routes (`MYELIN_LOGS__ARTIFACTS__*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtifactSettings {
    /// Largest upload accepted (the file, or the `.tar.gz` before unpacking); larger ones get a
    /// 413 `logs.artifact_too_large` and nothing is stored. Also the body limit of the upload routes.
    pub max_upload_bytes: u64,
    /// Most bytes an uploaded archive may unpack to (guards against archive bombs).
    pub max_unpacked_bytes: u64,
    /// Seconds an upload request may take (the common request timeout is too short for big files).
    pub upload_timeout_secs: u64,
    /// Uploaded `events/<kind>/<name>.plx` files larger than this are stored but not ingested.
    pub max_ingest_bytes: u64,
}

impl Default for ArtifactSettings {
    fn default() -> Self {
        const GIB: u64 = 1024 * 1024 * 1024;
        Self {
            max_upload_bytes: 5 * GIB,
            max_unpacked_bytes: 20 * GIB,
            upload_timeout_secs: 3600,
            max_ingest_bytes: 256 * 1024 * 1024,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8103)),
            amqp_url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            redis_url: SecretString::from("redis://127.0.0.1:6379"),
            amqp: AmqpSettings {
                connection_name: SERVICE.into(),
                ..AmqpSettings::default()
            },
            redis: RedisSettings::default(),
            blob: BlobSettings::Local {
                root: PathBuf::from("~/.myelin/artifacts"),
            },
            chunk_lines: 1000,
            flush_interval_ms: 1000,
            tail_poll_ms: 250,
            lease_secs: 30,
            idle_timeout_secs: 6 * 3600,
            status_ttl_secs: 30 * 86_400,
            stream_retention_secs: 300,
            max_page_lines: 50_000,
            prefetch: 16,
            events_queue: LOGS_EVENTS_QUEUE.to_owned(),
            http: HttpLimits::default(),
            artifacts: ArtifactSettings::default(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

impl Settings {
    /// [`Settings::flush_interval_ms`] as a duration (at least 10 ms).
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_ms.max(10))
    }

    /// [`Settings::tail_poll_ms`] as a duration (at least 10 ms).
    pub fn tail_poll(&self) -> Duration {
        Duration::from_millis(self.tail_poll_ms.max(10))
    }

    /// [`Settings::lease_secs`] as a duration (at least 1 s).
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(1))
    }

    /// [`Settings::chunk_lines`], at least 1.
    pub fn chunk_lines(&self) -> usize {
        self.chunk_lines.max(1)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Result
mod tests {
    use figment::Jail;

    use super::*;

    #[test]
    fn environment_overrides_and_selects_s3() {
        Jail::expect_with(|jail| {
            jail.set_env("MYELIN_LOGS__CHUNK_LINES", "10");
            jail.set_env("MYELIN_LOGS__ARTIFACTS__MAX_UPLOAD_BYTES", "1048576");
            jail.set_env("MYELIN_LOGS__BLOB__KIND", "s3");
            jail.set_env("MYELIN_LOGS__BLOB__BUCKET", "logs");
            jail.set_env("MYELIN_LOGS__BLOB__ENDPOINT", "http://127.0.0.1:9000");
            jail.set_env("MYELIN_LOGS__BLOB__SECRET_KEY", "s3cr3t");
            let settings: Settings = myelin_common::settings::load(SERVICE, None).unwrap();
            assert_eq!(settings.chunk_lines, 10);
            assert_eq!(settings.artifacts.max_upload_bytes, 1024 * 1024);
            assert_eq!(settings.artifacts.upload_timeout_secs, 3600);
            assert_eq!(settings.listen, SocketAddr::from(([127, 0, 0, 1], 8103)));
            let BlobSettings::S3(s3) = &settings.blob else {
                panic!("expected s3, got {:?}", settings.blob)
            };
            assert_eq!(s3.bucket, "logs");
            assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
            let dumped = myelin_common::settings::dump(&settings).unwrap();
            assert!(!dumped.contains("s3cr3t"), "secrets are redacted:\n{dumped}");
            Ok(())
        });
    }

    #[test]
    fn defaults_use_a_local_directory() {
        let settings = Settings::default();
        assert!(matches!(settings.blob, BlobSettings::Local { .. }));
        assert_eq!(settings.chunk_lines(), 1000);
        assert_eq!(settings.flush_interval(), Duration::from_secs(1));
        let dumped = myelin_common::settings::dump(&settings).unwrap();
        assert!(dumped.contains("kind = \"local\""), "{dumped}");
    }
}
