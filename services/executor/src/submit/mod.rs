//! Celery-style submission into Myelin: Celery tasks that create runs on the platform and return
//! their outputs, so a Python Celery client submits work with no glue:
//!
//! ```python
//! app.send_task('myelin.submit', kwargs={'project': 'acme/demo', 'content': yaml, 'params': {'lr': 0.1}}).get()
//! app.send_task('myelin.status', kwargs={'project': 'acme/demo', 'uuid': uuid}).get()
//! app.send_task('train', kwargs={'lr': 0.1}).get()   # celery_tasks = { train = "/path/train.yaml" }
//! ```
//!
//! The tasks call the public API (the gateway, `api_url`) with `api_token`, so the gateway's access
//! rules apply to every submission. They run on their own [`myelin_celery::Worker`] (node
//! `submit.<hostname>`, queues `celery_queues`, `celery_concurrency` at once), never in the slots
//! runs execute in: a submission waiting for a run must not hold the slot that run needs.
//!
//! - [`request`]: the tasks' kwargs, and the operation sent (the Polyaxonfile with params applied);
//! - [`tasks`]: [`SubmitTask`], [`StatusTask`] and [`ComponentTask`];
//! - [`wait`]: polling a run until it is done;
//! - [`error`]: [`SubmitError`] and the Celery outcome of each case.

pub mod error;
pub mod request;
pub mod tasks;
pub mod wait;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use myelin_celery::{Worker, WorkerConfig};
use myelin_common::bus::SharedBus;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

pub use error::SubmitError;
pub use tasks::{ComponentTask, StatusTask, SubmitTask};

use crate::config::Settings;
use request::ProjectRef;

/// The task creating a run and returning its outputs.
pub const SUBMIT_TASK: &str = "myelin.submit";
/// The task returning a run's status.
pub const STATUS_TASK: &str = "myelin.status";

/// What every submission task shares: the API client and the configured components.
#[derive(Debug, Clone)]
pub struct Submitter {
    pub client: myelin_client::Client,
    /// Component name → Polyaxonfile path (read at each call).
    pub components: BTreeMap<String, PathBuf>,
    /// Project of calls without one (and of component tasks).
    pub default_project: Option<ProjectRef>,
    pub poll: wait::Poll,
    /// The worker's shutdown: a cancellation seen while it is cancelled is a hard stop (the task is
    /// requeued), otherwise a revoke (the run is stopped).
    pub shutdown: CancellationToken,
}

impl Submitter {
    /// From the settings; `None` when submission is off (no `api_token`).
    pub fn from_settings(settings: &Settings, shutdown: CancellationToken) -> Result<Option<Submitter>, SubmitError> {
        let Some(token) = settings.api_token.as_ref() else {
            return Ok(None);
        };
        let client = myelin_client::Client::new(settings.api_url(), Some(token.expose_secret().to_owned()))?;
        let default_project = settings
            .celery_project
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(str::parse)
            .transpose()?;
        let poll = wait::Poll {
            min: Duration::from_millis(settings.celery_poll_min_ms.max(10)),
            max: Duration::from_millis(settings.celery_poll_max_ms.max(10)),
            timeout: (settings.celery_wait_timeout_secs > 0)
                .then(|| Duration::from_secs(settings.celery_wait_timeout_secs)),
        };
        let components = settings
            .celery_tasks
            .iter()
            .map(|(name, path)| {
                (
                    name.clone(),
                    crate::config::expand_home(path, dirs::home_dir().as_deref()),
                )
            })
            .collect();
        Ok(Some(Submitter {
            client,
            components,
            default_project,
            poll,
            shutdown,
        }))
    }

    /// Registers `myelin.submit`, `myelin.status` and one task per configured component (a
    /// component named like a built-in task is not registered as a task).
    pub fn register(self: &Arc<Self>, worker: &mut Worker) {
        worker.register(SUBMIT_TASK, Arc::new(SubmitTask(self.clone())));
        worker.register(STATUS_TASK, Arc::new(StatusTask(self.clone())));
        for name in self.components.keys() {
            if name == SUBMIT_TASK || name == STATUS_TASK {
                tracing::error!(
                    name,
                    "a Celery component task cannot take a built-in task's name; skipped"
                );
                continue;
            }
            worker.register(name.clone(), Arc::new(ComponentTask::new(self.clone(), name)));
        }
    }

    /// Checks each configured component file once at start (a problem is logged; calls fail
    /// with it until the file is fixed).
    pub fn check_components(&self) {
        for (name, path) in &self.components {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    if let Err(err) = myelin_spec::parse(&text) {
                        tracing::error!(name, path = %path.display(), error = %err, "invalid Celery component");
                    }
                }
                Err(err) => {
                    tracing::error!(name, path = %path.display(), error = %err, "cannot read a Celery component")
                }
            }
        }
    }
}

/// The worker of the submission tasks, or `None` when submission is off.
pub fn worker(settings: &Settings, bus: SharedBus, shutdown: CancellationToken) -> Result<Option<Worker>, SubmitError> {
    let Some(submitter) = Submitter::from_settings(settings, shutdown)? else {
        return Ok(None);
    };
    if settings.celery_queues.is_empty() {
        return Ok(None);
    }
    submitter.check_components();
    let mut worker = Worker::new(
        bus,
        WorkerConfig {
            hostname: format!("submit.{}", settings.hostname),
            queues: settings.celery_queues.clone(),
            prefetch: u16::try_from(settings.celery_concurrency).unwrap_or(u16::MAX),
            concurrency: settings.celery_concurrency.max(1),
        },
    );
    Arc::new(submitter).register(&mut worker);
    Ok(Some(worker))
}
