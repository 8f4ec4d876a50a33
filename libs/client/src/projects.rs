//! Projects: `/api/v1/{owner}/projects/create|list` and `/api/v1/{owner}/{project}`.

use myelin_contracts::{CreateProject, ListQuery, ListResponse, PatchProject, Project};
use reqwest::Method;

use crate::{Client, Error};

impl Client {
    /// `POST /api/v1/{owner}/projects/create`.
    pub async fn create_project(&self, owner: &str, body: &CreateProject) -> Result<Project, Error> {
        self.json(self.request(Method::POST, &[owner, "projects", "create"]).json(body))
            .await
    }

    /// `GET /api/v1/{owner}/projects/list` (offset, limit, sort, query).
    pub async fn list_projects(&self, owner: &str, query: &ListQuery) -> Result<ListResponse<Project>, Error> {
        self.json(self.request(Method::GET, &[owner, "projects", "list"]).query(query))
            .await
    }

    /// `GET /api/v1/{owner}/{project}`.
    pub async fn get_project(&self, owner: &str, project: &str) -> Result<Project, Error> {
        self.json(self.request(Method::GET, &[owner, project])).await
    }

    /// `PATCH /api/v1/{owner}/{project}`: only the fields present change.
    pub async fn patch_project(&self, owner: &str, project: &str, body: &PatchProject) -> Result<Project, Error> {
        self.json(self.request(Method::PATCH, &[owner, project]).json(body))
            .await
    }

    /// `DELETE /api/v1/{owner}/{project}` (the project and its runs).
    pub async fn delete_project(&self, owner: &str, project: &str) -> Result<(), Error> {
        self.empty(self.request(Method::DELETE, &[owner, project])).await
    }
}
