//! `myelin ops ls|get|statuses|stop|delete|logs|restart|metrics|artifacts|compare` (`-p PROJECT`,
//! `-uid UUID`).

use myelin_contracts::{Run, RunUuid};

use crate::args::{Conn, OpsCommand, RunTarget};
use crate::error::Error;
use crate::output;
use crate::target::ProjectRef;

/// Runs an `ops` subcommand.
pub async fn run(conn: &Conn, target: &RunTarget, command: OpsCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    let project = target
        .project
        .clone()
        .ok_or_else(|| Error::Usage("which project? pass -p PROJECT (or -p owner/project)".into()))?;
    let (owner, name) = (project.owner.as_str(), project.name.as_str());
    match command {
        OpsCommand::Ls { page, columns, json } => {
            let list = client.list_runs(owner, name, &page.query()).await?;
            if json {
                return output::json(&list);
            }
            output::line(&format!(
                "Runs of `{project}`: {} shown, {} in all.",
                list.results.len(),
                list.count
            ))?;
            let table = super::tracking::runs_table(&client, owner, name, &list.results, &columns).await?;
            output::line(&table.to_string())
        }
        OpsCommand::Metrics { uuid: given, json } => {
            let uuid = given_or_target(given.as_deref(), target)?;
            super::tracking::metrics(&client, owner, name, &uuid, json).await
        }
        OpsCommand::Artifacts { uuid: given, dir, path } => {
            let uuid = given_or_target(given.as_deref(), target)?;
            super::tracking::artifacts(&client, owner, name, &uuid, &path, dir.as_deref()).await
        }
        OpsCommand::Compare { uuids, diff, json } => {
            let uuids = uuids.iter().map(|u| parse_uuid(u)).collect::<Result<Vec<_>, _>>()?;
            super::tracking::compare(&client, owner, name, &uuids, diff, json).await
        }
        OpsCommand::Get { json } => {
            let run = client.get_run(owner, name, &uuid(target)?).await?;
            if json {
                return output::json(&run);
            }
            output::line(&show(&run, &project).to_string())
        }
        OpsCommand::Statuses { json } => {
            let statuses = client.get_statuses(owner, name, &uuid(target)?).await?;
            if json {
                return output::json(&statuses);
            }
            let status = statuses.status.map(|s| s.to_string()).unwrap_or_default();
            output::line(&format!("Run status: {status}"))?;
            let mut table = output::table(&["type", "status", "reason", "message", "last update", "last transition"]);
            for condition in statuses.status_conditions.as_deref().unwrap_or_default() {
                table.add_row(vec![
                    condition.type_.to_string(),
                    condition.status.clone(),
                    output::opt(condition.reason.as_deref()),
                    output::opt(condition.message.as_deref()),
                    output::time(condition.last_update_time),
                    output::time(condition.last_transition_time),
                ]);
            }
            output::line(&table.to_string())
        }
        OpsCommand::Stop { yes } => {
            let uuid = uuid(target)?;
            output::confirm(&format!("Stop run `{uuid}` of `{project}`?"), yes)?;
            client.stop_run(owner, name, &uuid).await?;
            output::line(&format!("Run `{uuid}` is being stopped."))
        }
        OpsCommand::Logs { follow } => {
            let uuid = uuid(target)?;
            super::follow::logs(&client, &project, &uuid, follow).await.map(drop)
        }
        OpsCommand::Restart { watch, log } => {
            let uuid = uuid(target)?;
            let run = client.restart_run(owner, name, &uuid, &Default::default()).await?;
            output::line(&format!("Run `{uuid}` was restarted as `{}`.", run.uuid))?;
            super::follow::after_submit(&client, &project, &run.uuid, watch, log).await
        }
        OpsCommand::Delete { yes } => {
            let uuid = uuid(target)?;
            output::confirm(&format!("Delete run `{uuid}` of `{project}`?"), yes)?;
            client.delete_run(owner, name, &uuid).await?;
            output::line(&format!("Run `{uuid}` was deleted."))
        }
    }
}

fn uuid(target: &RunTarget) -> Result<RunUuid, Error> {
    given_or_target(None, target)
}

/// The run named on the command line, else by `-uid`.
fn given_or_target(given: Option<&str>, target: &RunTarget) -> Result<RunUuid, Error> {
    let raw = given
        .or(target.uid.as_deref())
        .ok_or_else(|| Error::Usage("which run? pass -uid UUID".into()))?;
    parse_uuid(raw)
}

fn parse_uuid(raw: &str) -> Result<RunUuid, Error> {
    raw.parse()
        .map_err(|_| Error::Usage(format!("`{raw}` is not a run uuid")))
}

pub(crate) fn show(run: &Run, project: &ProjectRef) -> comfy_table::Table {
    output::details(vec![
        ("uuid", run.uuid.to_string()),
        ("project", project.to_string()),
        ("name", output::opt(run.name.as_deref())),
        ("description", output::opt(run.description.as_deref())),
        ("kind", run.kind.to_string()),
        ("status", run.status.to_string()),
        ("tags", run.tags.as_deref().unwrap_or_default().join(", ")),
        ("managed by", run.managed_by.map(|m| m.to_string()).unwrap_or_default()),
        ("created", output::time(Some(run.created_at))),
        ("updated", output::time(Some(run.updated_at))),
        ("started", output::time(run.started_at)),
        ("finished", output::time(run.finished_at)),
        ("wait time", output::duration(run.wait_time)),
        ("duration", output::duration(run.duration)),
        ("inputs", run.inputs.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        (
            "outputs",
            run.outputs.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        ),
    ])
}
