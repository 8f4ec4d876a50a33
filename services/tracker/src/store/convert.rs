//! Rows → wire types (`myelin_contracts`), and the JSON helpers of the JSON columns.

use std::str::FromStr;

use myelin_contracts::run::Pipeline;
use myelin_contracts::{Project, ProjectUuid, Run, RunOriginal, RunUuid, StatusCondition, Statuses};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::entities::{project, run};
use crate::domain::lifecycle::Timeline;
use crate::domain::runs::Editable;
use crate::error::Error;

/// Parses a stored enum value.
pub fn parse<T: FromStr>(value: &str, column: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e: T::Err| Error::Corrupt(format!("{column}: {e}")))
}

/// Decodes a stored JSON column.
pub fn decode<T: DeserializeOwned>(value: Option<&Value>, column: &str) -> Result<Option<T>, Error> {
    value
        .filter(|v| !v.is_null())
        .map(|v| T::deserialize(v).map_err(|e| Error::Corrupt(format!("{column}: {e}"))))
        .transpose()
}

/// Encodes a value for a JSON column.
pub fn encode<T: serde::Serialize>(value: &T) -> Result<Value, Error> {
    Ok(serde_json::to_value(value)?)
}

pub fn project(row: project::Model, owner: &str) -> Result<Project, Error> {
    Ok(Project {
        uuid: ProjectUuid(row.uuid),
        name: row.name,
        description: row.description,
        tags: decode(row.tags.as_ref(), "projects.tags")?,
        user: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        readme: row.readme,
        owner: Some(owner.to_owned()),
        is_public: Some(row.is_public),
        bookmarked: Some(false),
        live_state: Some(1),
        excluded_features: None,
        excluded_runtimes: None,
        archived_deletion_interval: None,
        settings: None,
        role: None,
        contributors: None,
    })
}

/// The status conditions of a run row.
pub fn conditions(row: &run::Model) -> Result<Vec<StatusCondition>, Error> {
    Ok(decode(Some(&row.status_conditions), "runs.status_conditions")?.unwrap_or_default())
}

/// The lifecycle view of a run row.
pub fn timeline(row: &run::Model) -> Result<Timeline, Error> {
    Ok(Timeline {
        status: parse(&row.status, "runs.status")?,
        conditions: conditions(row)?,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        wait_time: row.wait_time,
        duration: row.duration,
    })
}

/// The patchable view of a run row.
pub fn editable(row: &run::Model) -> Result<Editable, Error> {
    Ok(Editable {
        name: row.name.clone(),
        description: row.description.clone(),
        tags: decode(row.tags.as_ref(), "runs.tags")?,
        readme: row.readme.clone(),
        inputs: row.inputs.clone(),
        outputs: row.outputs.clone(),
        meta_info: row.meta_info.clone(),
    })
}

pub fn run(row: run::Model, owner: &str, project: &str) -> Result<Run, Error> {
    let status: Statuses = parse(&row.status, "runs.status")?;
    Ok(Run {
        uuid: RunUuid(row.uuid),
        name: row.name,
        created_at: row.created_at,
        updated_at: row.updated_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        schedule_at: row.schedule_at,
        wait_time: row.wait_time,
        duration: row.duration,
        kind: parse(&row.kind, "runs.kind")?,
        runtime: row.runtime.as_deref().map(|r| parse(r, "runs.runtime")).transpose()?,
        meta_info: row.meta_info,
        status,
        pipeline: decode::<Pipeline>(row.pipeline.as_ref(), "runs.pipeline")?,
        original: decode::<RunOriginal>(row.original.as_ref(), "runs.original")?,
        is_managed: row.is_managed,
        managed_by: row
            .managed_by
            .as_deref()
            .map(|m| parse(m, "runs.managed_by"))
            .transpose()?,
        pending: row.pending.as_deref().map(|p| parse(p, "runs.pending")).transpose()?,
        inputs: row.inputs,
        outputs: row.outputs,
        tags: decode(row.tags.as_ref(), "runs.tags")?,
        settings: row.settings,
        user: row.created_by,
        owner: Some(owner.to_owned()),
        project: Some(project.to_owned()),
        readme: row.readme,
        description: row.description,
        raw_content: row.raw_content,
        content: row.content,
        live_state: Some(1),
        bookmarked: Some(row.bookmarked),
        resources: None,
        status_conditions: None,
        is_approved: Some(row.is_approved),
        role: None,
        contributors: None,
        graph: None,
        merge: None,
        archived: Some(row.archived),
    })
}
