//! Runs: `/api/v1/{owner}/{project}/runs[/{uuid}[/action|/statuses]]`.

use myelin_contracts::run::CloneRun;
use myelin_contracts::{CreateRun, ListQuery, ListResponse, PatchRun, Run, RunStatus, RunUuid, StatusBody};
use reqwest::Method;

use crate::{Client, Error};

/// Run actions answered with `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    Stop,
    Skip,
    Approve,
    Archive,
    Restore,
}

impl RunAction {
    fn path(self) -> &'static str {
        match self {
            RunAction::Stop => "stop",
            RunAction::Skip => "skip",
            RunAction::Approve => "approve",
            RunAction::Archive => "archive",
            RunAction::Restore => "restore",
        }
    }
}

impl Client {
    fn run_request(
        &self,
        method: Method,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        tail: &[&str],
    ) -> reqwest::RequestBuilder {
        let uuid = uuid.to_string();
        let mut segments = vec![owner, project, "runs", uuid.as_str()];
        segments.extend_from_slice(tail);
        self.request(method, &segments)
    }

    /// `POST /api/v1/{owner}/{project}/runs` (201): from a Polyaxonfile in `content`, or unmanaged.
    pub async fn create_run(&self, owner: &str, project: &str, body: &CreateRun) -> Result<Run, Error> {
        self.json(self.request(Method::POST, &[owner, project, "runs"]).json(body))
            .await
    }

    /// `GET /api/v1/{owner}/{project}/runs` (offset, limit, sort, query).
    pub async fn list_runs(&self, owner: &str, project: &str, query: &ListQuery) -> Result<ListResponse<Run>, Error> {
        self.json(self.request(Method::GET, &[owner, project, "runs"]).query(query))
            .await
    }

    /// `GET .../runs/{uuid}`.
    pub async fn get_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<Run, Error> {
        self.json(self.run_request(Method::GET, owner, project, uuid, &[]))
            .await
    }

    /// `PATCH .../runs/{uuid}` (`merge: true` merges `inputs`/`outputs`/`meta_info`/`tags`).
    pub async fn patch_run(&self, owner: &str, project: &str, uuid: &RunUuid, body: &PatchRun) -> Result<Run, Error> {
        self.json(self.run_request(Method::PATCH, owner, project, uuid, &[]).json(body))
            .await
    }

    /// `DELETE .../runs/{uuid}`.
    pub async fn delete_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<(), Error> {
        self.empty(self.run_request(Method::DELETE, owner, project, uuid, &[]))
            .await
    }

    /// `POST .../runs/{uuid}/{stop|skip|approve|archive|restore}`.
    pub async fn run_action(&self, owner: &str, project: &str, uuid: &RunUuid, action: RunAction) -> Result<(), Error> {
        self.empty(self.run_request(Method::POST, owner, project, uuid, &[action.path()]))
            .await
    }

    /// `POST .../runs/{uuid}/stop`.
    pub async fn stop_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<(), Error> {
        self.run_action(owner, project, uuid, RunAction::Stop).await
    }

    /// `POST .../runs/{uuid}/approve`.
    pub async fn approve_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<(), Error> {
        self.run_action(owner, project, uuid, RunAction::Approve).await
    }

    /// `POST .../runs/{uuid}/skip`.
    pub async fn skip_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<(), Error> {
        self.run_action(owner, project, uuid, RunAction::Skip).await
    }

    /// `POST .../runs/{uuid}/archive`.
    pub async fn archive_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<(), Error> {
        self.run_action(owner, project, uuid, RunAction::Archive).await
    }

    /// `POST .../runs/{uuid}/restore`.
    pub async fn restore_run(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<(), Error> {
        self.run_action(owner, project, uuid, RunAction::Restore).await
    }

    async fn clone_run(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        how: &str,
        body: &CloneRun,
    ) -> Result<Run, Error> {
        self.json(self.run_request(Method::POST, owner, project, uuid, &[how]).json(body))
            .await
    }

    /// `POST .../runs/{uuid}/restart` (201): a new run cloned from this one.
    pub async fn restart_run(&self, owner: &str, project: &str, uuid: &RunUuid, body: &CloneRun) -> Result<Run, Error> {
        self.clone_run(owner, project, uuid, "restart", body).await
    }

    /// `POST .../runs/{uuid}/copy` (201): a new run copied from this one.
    pub async fn copy_run(&self, owner: &str, project: &str, uuid: &RunUuid, body: &CloneRun) -> Result<Run, Error> {
        self.clone_run(owner, project, uuid, "copy", body).await
    }

    /// `POST .../runs/{uuid}/resume` (201): the run, resumed.
    pub async fn resume_run(&self, owner: &str, project: &str, uuid: &RunUuid, body: &CloneRun) -> Result<Run, Error> {
        self.clone_run(owner, project, uuid, "resume", body).await
    }

    /// `GET .../runs/{uuid}/statuses`: the status and its conditions.
    pub async fn get_statuses(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<RunStatus, Error> {
        self.json(self.run_request(Method::GET, owner, project, uuid, &["statuses"]))
            .await
    }

    /// `POST .../runs/{uuid}/statuses` (201): applies a condition through the lifecycle rules.
    pub async fn create_status(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        body: &StatusBody,
    ) -> Result<RunStatus, Error> {
        self.json(
            self.run_request(Method::POST, owner, project, uuid, &["statuses"])
                .json(body),
        )
        .await
    }
}
