//! The tracker's settings: defaults → `--config` TOML → `MYELIN_TRACKER__*` environment variables.

use std::net::SocketAddr;

use myelin_common::bus::amqp::AmqpSettings;
use myelin_common::db::DbSettings;
use myelin_common::http::HttpLimits;
use myelin_common::settings::secret;
use myelin_common::telemetry::TelemetrySettings;
use myelin_contracts::execution::TRACKER_STATUS_QUEUE;
use myelin_contracts::tracking::TRACKER_COLLECTED_QUEUE;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The service name: binary, settings prefix (`MYELIN_TRACKER__`), telemetry `service.name`.
pub const SERVICE: &str = "tracker";

/// Everything the tracker can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// `postgres://...` or `sqlite://...` (`MYELIN_TRACKER__DATABASE_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub database_url: SecretString,
    /// RabbitMQ URL, used by the `tracker` binary (`MYELIN_TRACKER__AMQP_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub amqp_url: SecretString,
    pub db: DbSettings,
    pub amqp: AmqpSettings,
    pub http: HttpLimits,
    pub outbox: OutboxSettings,
    /// The queue status reports are consumed from (shared by the replicas; tests use their own).
    pub status_reports_queue: String,
    pub tracking: TrackingSettings,
    /// The owner that exists out of the box.
    pub default_owner: String,
    pub telemetry: TelemetrySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8101)),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/myelin_tracker"),
            amqp_url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            db: DbSettings::default(),
            amqp: AmqpSettings {
                connection_name: SERVICE.into(),
                ..AmqpSettings::default()
            },
            http: HttpLimits::default(),
            outbox: OutboxSettings::default(),
            status_reports_queue: TRACKER_STATUS_QUEUE.into(),
            tracking: TrackingSettings::default(),
            default_owner: "default".into(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

/// How the outbox relay polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboxSettings {
    /// Poll period when nothing wakes the relay.
    pub poll_interval_ms: u64,
    /// Rows claimed per round.
    pub batch_size: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 200,
            batch_size: 100,
        }
    }
}

/// Metric and event tracking (`MYELIN_TRACKER__TRACKING__*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackingSettings {
    /// Most points (metrics and events) one ingestion request may carry; more is a 413
    /// `tracker.batch_too_large`.
    pub max_batch_points: usize,
    /// The queue collected series (`run.events.collected`) are consumed from (shared by the replicas;
    /// tests use their own).
    pub collected_queue: String,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        Self {
            max_batch_points: 100_000,
            collected_queue: TRACKER_COLLECTED_QUEUE.into(),
        }
    }
}
