//! The scheduler's settings: defaults → `--config` TOML → `MYELIN_SCHEDULER__*` environment variables.

use std::net::SocketAddr;

use myelin_common::bus::amqp::AmqpSettings;
use myelin_common::db::DbSettings;
use myelin_common::http::HttpLimits;
use myelin_common::settings::secret;
use myelin_common::telemetry::TelemetrySettings;
use myelin_contracts::execution::SCHEDULER_EVENTS_QUEUE;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The service name: binary, settings prefix (`MYELIN_SCHEDULER__`), telemetry `service.name`.
pub const SERVICE: &str = "scheduler";

/// Everything the scheduler can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where `/healthz`, `/readyz` and `/internal/queue` listen.
    pub listen: SocketAddr,
    /// The scheduler's own database: `postgres://...` or `sqlite://...`.
    #[serde(serialize_with = "secret::serialize")]
    pub database_url: SecretString,
    /// RabbitMQ URL, used by the `scheduler` binary.
    #[serde(serialize_with = "secret::serialize")]
    pub amqp_url: SecretString,
    /// Runs dispatched and not done yet, at most, across every replica.
    pub max_concurrency: u32,
    /// The queue run events are consumed from (shared by the replicas; tests use their own).
    pub events_queue: String,
    /// The artifacts root templates see (`globals.artifacts_path`; a run's is `<root>/<uuid>`).
    /// Give it the executors' artifacts store when they run processes on this machine.
    pub artifacts_root: String,
    pub dispatch: DispatchSettings,
    pub db: DbSettings,
    pub amqp: AmqpSettings,
    pub http: HttpLimits,
    pub telemetry: TelemetrySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8102)),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/myelin_scheduler"),
            amqp_url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            max_concurrency: 50,
            events_queue: SCHEDULER_EVENTS_QUEUE.into(),
            artifacts_root: "/plx-context/artifacts".into(),
            dispatch: DispatchSettings::default(),
            db: DbSettings::default(),
            amqp: AmqpSettings {
                connection_name: SERVICE.into(),
                ..AmqpSettings::default()
            },
            http: HttpLimits::default(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

/// How the dispatch loop runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DispatchSettings {
    /// Period of the loop when no change wakes it.
    pub interval_ms: u64,
    /// A run claimed for dispatch whose task was not confirmed published within this time (the
    /// replica died in between) goes back to the queue.
    pub publish_timeout_secs: u64,
    /// Processed event ids are kept this long (deduplication of redeliveries).
    pub dedupe_retention_hours: u64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            interval_ms: 1000,
            publish_timeout_secs: 60,
            dedupe_retention_hours: 24 * 7,
        }
    }
}
