//! The Celery tasks: [`SubmitTask`] (`myelin.submit`), [`StatusTask`] (`myelin.status`) and
//! [`ComponentTask`] (a configured name such as `train`).
//!
//! A submission:
//! 1. reads its kwargs and the Polyaxonfile (`content`, or the configured component's file), sets
//!    the params and validates the result (an error names the field path and line);
//! 2. creates the run (`POST /api/v1/{owner}/{project}/runs`, managed) with `meta_info`
//!    `{celery_task_id, celery_task}`. A redelivered or retried message first looks for the run
//!    its earlier delivery created (by that task id), so one task id makes one run;
//! 3. waits until the run is done ([`super::wait`]) and returns its `outputs` (`{}` when it has
//!    none) if it succeeded, else fails with `RunFailed` and `"<status>: <status message>"`.
//!
//! A revoke with `terminate` stops the run (`POST .../stop`) and fails with `TaskRevokedError`; a
//! hard stop of the worker requeues the message (the run goes on; the next delivery waits for it).

use std::sync::Arc;

use async_trait::async_trait;
use myelin_celery::{Task, TaskContext, TaskMessage, TaskOutcome};
use myelin_contracts::{CreateRun, ListQuery, ManagedBy, Run, RunUuid, Statuses};
use serde_json::{Value, json};

use super::Submitter;
use super::error::SubmitError;
use super::request::{self, ProjectRef, Source, SubmitRequest};
use super::wait::{self, Interrupted};

/// `myelin.submit(project=, content= | component=, params=, name=, description=, tags=, wait=)`.
pub struct SubmitTask(pub Arc<Submitter>);

/// `myelin.status(uuid=, project=)`: the run's status document.
pub struct StatusTask(pub Arc<Submitter>);

/// A configured component as a task: its kwargs are the params.
pub struct ComponentTask {
    submitter: Arc<Submitter>,
    name: String,
}

impl ComponentTask {
    /// The task running component `name` of `submitter`'s configuration.
    pub fn new(submitter: Arc<Submitter>, name: &str) -> Self {
        Self {
            submitter,
            name: name.to_owned(),
        }
    }
}

#[async_trait]
impl Task for SubmitTask {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        let result = match request::submit_request(&msg.args, &msg.kwargs) {
            Ok(req) => self.0.submit(&ctx, &msg, req).await,
            Err(err) => Err(err),
        };
        settle(&msg, result)
    }
}

#[async_trait]
impl Task for ComponentTask {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        let result = match request::component_request(&self.name, &msg.args, &msg.kwargs) {
            Ok(req) => self.submitter.submit(&ctx, &msg, req).await,
            Err(err) => Err(err),
        };
        settle(&msg, result)
    }
}

#[async_trait]
impl Task for StatusTask {
    async fn run(&self, _ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        let result = match request::status_request(&msg.args, &msg.kwargs) {
            Ok(req) => self.0.status(req.project, &req.uuid).await,
            Err(err) => Err(err),
        };
        settle(&msg, result)
    }
}

/// The outcome of a task's result, logged.
fn settle(msg: &TaskMessage, result: Result<Value, SubmitError>) -> TaskOutcome {
    match result {
        Ok(value) => TaskOutcome::Success(value),
        Err(err) => {
            tracing::info!(task = msg.task, id = msg.id, exc_type = err.exc_type(), error = %err, "submission task did not succeed");
            err.into_outcome(msg.options.retries)
        }
    }
}

impl Submitter {
    /// Steps 1–3 of a submission; the run's outputs.
    pub async fn submit(&self, ctx: &TaskContext, msg: &TaskMessage, req: SubmitRequest) -> Result<Value, SubmitError> {
        let project = self.project(req.project.clone())?;
        let content = match &req.source {
            Source::Content(content) => content.clone(),
            Source::Component(name) => self.component(name).await?,
        };
        let content = request::operation(&content, &req.params)?;
        let earlier = if ctx.redelivered || msg.options.retries > 0 {
            self.find(&project, &msg.id).await?
        } else {
            None
        };
        let run = match earlier {
            Some(run) => {
                tracing::info!(task_id = msg.id, run = %run.uuid, "found the run an earlier delivery created");
                run
            }
            None => self.create(&project, msg, &req, content).await?,
        };
        tracing::info!(task_id = msg.id, run = %run.uuid, %project, "submitted a run");
        if !req.wait {
            return Ok(json!({ "uuid": run.uuid, "project": project.to_string(), "status": run.status }));
        }
        let done = match wait::until_done(&self.client, &project, &run.uuid, self.poll, &ctx.cancel).await {
            Ok(done) => done,
            Err(Interrupted::Error(err)) => return Err(err),
            Err(Interrupted::Cancelled) if self.shutdown.is_cancelled() => return Err(SubmitError::WorkerStopping),
            Err(Interrupted::Cancelled) => return Err(self.stop(&project, &run.uuid).await),
        };
        if done.status == Statuses::Succeeded {
            return Ok(done.outputs.unwrap_or_else(|| json!({})));
        }
        Err(SubmitError::RunFailed {
            status: done.status,
            message: wait::status_message(&self.client, &project, &done).await,
        })
    }

    /// `myelin.status`: uuid, project, name, status, its message, conditions, inputs, outputs
    /// and times of the run.
    pub async fn status(&self, project: Option<ProjectRef>, uuid: &str) -> Result<Value, SubmitError> {
        let project = self.project(project)?;
        let uuid: RunUuid = uuid
            .parse()
            .map_err(|_| SubmitError::InvalidRequest(format!("`{uuid}` is not a run uuid")))?;
        let run = self.client.get_run(&project.owner, &project.name, &uuid).await?;
        let statuses = self.client.get_statuses(&project.owner, &project.name, &uuid).await?;
        let conditions = statuses.status_conditions.unwrap_or_default();
        let message = conditions
            .iter()
            .rev()
            .find(|c| c.type_ == run.status)
            .and_then(|c| c.message.clone());
        Ok(json!({
            "uuid": run.uuid,
            "project": project.to_string(),
            "name": run.name,
            "status": run.status,
            "message": message,
            "is_done": run.status.is_done(),
            "status_conditions": conditions,
            "inputs": run.inputs,
            "outputs": run.outputs,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
        }))
    }

    fn project(&self, given: Option<ProjectRef>) -> Result<ProjectRef, SubmitError> {
        given.or_else(|| self.default_project.clone()).ok_or_else(|| {
            SubmitError::InvalidRequest("no `project` given, and no `celery_project` is configured".into())
        })
    }

    /// The Polyaxonfile of a configured component, read now.
    async fn component(&self, name: &str) -> Result<String, SubmitError> {
        let Some(path) = self.components.get(name) else {
            let known: Vec<&str> = self.components.keys().map(String::as_str).collect();
            return Err(SubmitError::UnknownComponent {
                name: name.to_owned(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        tokio::fs::read_to_string(path)
            .await
            .map_err(|source| SubmitError::ComponentFile {
                name: name.to_owned(),
                path: path.clone(),
                source,
            })
    }

    /// The run created for Celery task `task_id`, if any.
    async fn find(&self, project: &ProjectRef, task_id: &str) -> Result<Option<Run>, SubmitError> {
        if task_id.contains('"') || task_id.contains('\\') {
            return Ok(None);
        }
        let query = ListQuery {
            limit: Some(1),
            sort: Some("created_at".into()),
            query: Some(format!("meta_info.celery_task_id:\"{task_id}\"")),
            ..ListQuery::default()
        };
        let found = self.client.list_runs(&project.owner, &project.name, &query).await?;
        Ok(found.results.into_iter().next())
    }

    async fn create(
        &self,
        project: &ProjectRef,
        msg: &TaskMessage,
        req: &SubmitRequest,
        content: String,
    ) -> Result<Run, SubmitError> {
        let body = CreateRun {
            content: Some(content),
            managed_by: Some(ManagedBy::Agent),
            is_managed: Some(true),
            name: req.name.clone(),
            description: req.description.clone(),
            tags: req.tags.clone(),
            meta_info: Some(json!({ "celery_task_id": msg.id, "celery_task": msg.task })),
            ..CreateRun::default()
        };
        self.client
            .create_run(&project.owner, &project.name, &body)
            .await
            .map_err(|err| match err {
                myelin_client::Error::Api { code, message, .. } if code == "tracker.invalid_polyaxonfile" => {
                    SubmitError::InvalidPolyaxonfile(message)
                }
                err => SubmitError::Api(err),
            })
    }

    /// Stops the run of a revoked task (a failure to stop is logged).
    async fn stop(&self, project: &ProjectRef, uuid: &RunUuid) -> SubmitError {
        if let Err(err) = self.client.stop_run(&project.owner, &project.name, uuid).await {
            tracing::warn!(run = %uuid, error = %err, "cannot stop the run of a revoked task");
        }
        SubmitError::Revoked { uuid: *uuid }
    }
}
