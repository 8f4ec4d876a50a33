//! The executor's settings: defaults → `--config` TOML → `MYELIN_EXECUTOR__*` environment variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use myelin_common::bus::amqp::AmqpSettings;
use myelin_common::coord::redis::RedisSettings;
use myelin_common::http::HttpLimits;
use myelin_common::settings::{secret, serde_list};
use myelin_common::telemetry::TelemetrySettings;
use myelin_contracts::execution::DEFAULT_RUN_QUEUE;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The service name: binary, settings prefix (`MYELIN_EXECUTOR__`), telemetry `service.name`.
pub const SERVICE: &str = "executor";

/// Everything the executor can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where `/healthz` and `/readyz` listen (the executor serves nothing else).
    pub listen: SocketAddr,
    /// RabbitMQ URL, used by the `executor` binary (`MYELIN_EXECUTOR__AMQP_URL`).
    #[serde(serialize_with = "secret::serialize")]
    pub amqp_url: SecretString,
    /// Redis URL for live log streams and run leases, used by the binary.
    #[serde(serialize_with = "secret::serialize")]
    pub redis_url: SecretString,
    pub amqp: AmqpSettings,
    pub redis: RedisSettings,
    /// Run queues to consume (`default` → AMQP queue `myelin.runs.default`); a list or `a,b`.
    #[serde(deserialize_with = "serde_list::deserialize")]
    pub queues: Vec<String>,
    /// Runs executed at once by this executor.
    pub concurrency: usize,
    /// Task messages held unacknowledged at once (running and waiting).
    pub prefetch: u16,
    /// Each run works in `<artifacts_root>/<run uuid>/` (a leading `~` is the home directory).
    pub artifacts_root: PathBuf,
    /// The API address runs are given (`MYELIN_HOST`, `POLYAXON_HOST`).
    pub public_host: String,
    /// The key each run's own token (`MYELIN_TOKEN`, `POLYAXON_AUTH_TOKEN`) is signed with; the
    /// gateway's `access.run_token_secret` must be the same. Unset: runs get no token.
    #[serde(serialize_with = "secret::option::serialize")]
    pub run_token_secret: Option<SecretString>,
    /// The Celery worker name, also the `source` of status reports.
    pub hostname: String,
    /// Seconds a stopped or timed-out run gets between SIGTERM and SIGKILL.
    pub kill_grace_secs: u64,
    /// On shutdown, seconds running runs may still take before they are killed and handed back
    /// to the queue (to start over elsewhere); 0 waits for them however long they run.
    pub shutdown_grace_secs: u64,
    /// Seconds a run's lease lives without renewal; a redelivered run waits for it to lapse.
    pub lease_secs: u64,
    /// How often a running attempt's traceml event files (`events/<kind>/<name>.plx`) are checked
    /// for changes and collected (they are collected once more when it ends).
    pub collect_interval_ms: u64,
    /// Entries kept (about) in a run's live log stream.
    pub log_stream_max_len: usize,
    /// Base URL of the public API (the gateway) the Celery submission tasks call (`myelin.submit`,
    /// `myelin.status`, [`Settings::celery_tasks`]); unset: [`Settings::public_host`].
    pub api_url: Option<String>,
    /// The token the Celery submission tasks call the API with (a service account's or a user's
    /// token; the gateway checks what it may do). **Setting it is what turns Celery submission on**:
    /// without a token the executor does not consume [`Settings::celery_queues`] at all, so it
    /// never takes messages from Python's default queue `celery` by surprise.
    #[serde(serialize_with = "secret::option::serialize")]
    pub api_token: Option<SecretString>,
    /// Queues (plain Celery queue names, declared as Celery does) on which the submission tasks are
    /// consumed when [`Settings::api_token`] is set; default `celery`, the queue Python's
    /// `app.send_task` uses unless routed. They get their own Celery worker, named
    /// `submit.<hostname>`, so waiting submissions never hold the slots runs execute in.
    #[serde(deserialize_with = "serde_list::deserialize")]
    pub celery_queues: Vec<String>,
    /// Submission tasks waiting at once (each mostly waits for its run: cheap).
    pub celery_concurrency: usize,
    /// Celery task names run as components: `train = "/path/train.yaml"` makes
    /// `send_task('train', kwargs={'lr': 0.1})` run that Polyaxonfile with the kwargs as params (in
    /// [`Settings::celery_project`]); `myelin.submit(component='train')` names them too. Files are
    /// read at each call. Env: `MYELIN_EXECUTOR__CELERY_TASKS__TRAIN=/path/train.yaml`.
    pub celery_tasks: BTreeMap<String, PathBuf>,
    /// `owner/name` of the project component tasks create their runs in, and of `myelin.submit`
    /// / `myelin.status` calls without a `project`.
    pub celery_project: Option<String>,
    /// A submission task polls its run's status first after this many milliseconds, then backs off
    /// (×1.5) up to [`Settings::celery_poll_max_ms`].
    pub celery_poll_min_ms: u64,
    /// The longest pause between two polls of a run's status.
    pub celery_poll_max_ms: u64,
    /// Seconds a submission task waits for its run to finish before failing with `RunWaitTimeout`
    /// (the run itself goes on); 0 waits as long as it takes.
    pub celery_wait_timeout_secs: u64,
    /// Where the submission tasks' results go, as Celery's `result_backend`: `redis://host:port/db`
    /// (what Python's `AsyncResult.get()` then reads: the run's outputs, or the run's failure) or
    /// `rpc://`. Unset: results are not stored (as a Celery worker without a backend); the runs
    /// still run and are visible in the API.
    #[serde(serialize_with = "secret::option::serialize")]
    pub celery_result_backend: Option<SecretString>,
    pub http: HttpLimits,
    pub telemetry: TelemetrySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8104)),
            amqp_url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            redis_url: SecretString::from("redis://127.0.0.1:6379"),
            amqp: AmqpSettings {
                connection_name: SERVICE.into(),
                ..AmqpSettings::default()
            },
            redis: RedisSettings::default(),
            queues: vec![DEFAULT_RUN_QUEUE.into()],
            concurrency: 8,
            prefetch: 8,
            artifacts_root: PathBuf::from("~/.myelin/artifacts"),
            public_host: "http://127.0.0.1:8000".into(),
            run_token_secret: None,
            hostname: format!("{SERVICE}@{}", host_name()),
            kill_grace_secs: 10,
            shutdown_grace_secs: 30,
            lease_secs: 15,
            collect_interval_ms: 2000,
            log_stream_max_len: 100_000,
            api_url: None,
            api_token: None,
            celery_queues: vec!["celery".into()],
            celery_concurrency: 64,
            celery_tasks: BTreeMap::new(),
            celery_project: None,
            celery_poll_min_ms: 500,
            celery_poll_max_ms: 5000,
            celery_wait_timeout_secs: 7 * 24 * 3600,
            celery_result_backend: None,
            http: HttpLimits::default(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

impl Settings {
    /// [`Settings::artifacts_root`] with a leading `~` replaced by the home directory.
    pub fn artifacts_root(&self) -> PathBuf {
        expand_home(&self.artifacts_root, dirs::home_dir().as_deref())
    }

    /// [`Settings::api_url`], or [`Settings::public_host`] when unset.
    pub fn api_url(&self) -> &str {
        self.api_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or(&self.public_host)
    }
}

/// This machine's name (`localhost` when it cannot be read).
fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Replaces a leading `~` component of `path` with `home` (unchanged without a home).
pub(crate) fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Result
mod tests {
    use figment::Jail;

    use super::*;

    #[test]
    fn home_is_expanded_only_at_the_start() {
        let home = Path::new("/home/me");
        assert_eq!(
            expand_home(Path::new("~/.myelin/artifacts"), Some(home)),
            PathBuf::from("/home/me/.myelin/artifacts")
        );
        assert_eq!(expand_home(Path::new("~"), Some(home)), PathBuf::from("/home/me"));
        assert_eq!(
            expand_home(Path::new("/data/~x"), Some(home)),
            PathBuf::from("/data/~x")
        );
        assert_eq!(expand_home(Path::new("~/a"), None), PathBuf::from("~/a"));
    }

    #[test]
    fn defaults_and_environment() {
        Jail::expect_with(|jail| {
            let settings: Settings = myelin_common::settings::load(SERVICE, None).unwrap();
            assert_eq!(settings.listen.port(), 8104);
            assert_eq!(settings.queues, vec!["default"]);
            assert_eq!(settings.concurrency, 8);
            assert!(settings.hostname.starts_with("executor@"));
            assert!(!settings.artifacts_root().starts_with("~"));

            jail.set_env("MYELIN_EXECUTOR__QUEUES", "gpu, cpu");
            jail.set_env("MYELIN_EXECUTOR__CONCURRENCY", "3");
            jail.set_env("MYELIN_EXECUTOR__RUN_TOKEN_SECRET", "t0k");
            let settings: Settings = myelin_common::settings::load(SERVICE, None).unwrap();
            assert_eq!(settings.queues, vec!["gpu", "cpu"]);
            assert_eq!(settings.concurrency, 3);
            let dumped = myelin_common::settings::dump(&settings).unwrap();
            assert!(!dumped.contains("t0k"), "the run token secret is redacted: {dumped}");
            assert!(!dumped.contains("guest:guest"), "URLs with credentials are redacted");
            Ok(())
        });
    }

    #[test]
    fn celery_submission_settings() {
        Jail::expect_with(|jail| {
            let settings: Settings = myelin_common::settings::load(SERVICE, None).unwrap();
            assert!(settings.api_token.is_none(), "submission is off by default");
            assert_eq!(settings.celery_queues, vec!["celery"]);
            assert_eq!(settings.api_url(), settings.public_host);

            jail.set_env("MYELIN_EXECUTOR__API_URL", "http://gateway:8000");
            jail.set_env("MYELIN_EXECUTOR__API_TOKEN", "s3cr3t");
            jail.set_env("MYELIN_EXECUTOR__CELERY_QUEUES", "celery, ml");
            jail.set_env("MYELIN_EXECUTOR__CELERY_TASKS__TRAIN", "/etc/myelin/train.yaml");
            jail.set_env("MYELIN_EXECUTOR__CELERY_PROJECT", "acme/demo");
            let settings: Settings = myelin_common::settings::load(SERVICE, None).unwrap();
            assert_eq!(settings.api_url(), "http://gateway:8000");
            assert_eq!(settings.celery_queues, vec!["celery", "ml"]);
            assert_eq!(settings.celery_tasks["train"], PathBuf::from("/etc/myelin/train.yaml"));
            assert_eq!(settings.celery_project.as_deref(), Some("acme/demo"));
            let dumped = myelin_common::settings::dump(&settings).unwrap();
            assert!(!dumped.contains("s3cr3t"), "the API token is redacted: {dumped}");
            Ok(())
        });
    }
}
