//! `myelin project create|ls|get|delete` and `myelin project member ls|add|rm -p PROJECT`.

use myelin_client::Client;
use myelin_contracts::{CreateProject, Project};

use crate::args::auth::ProjectMemberCommand;
use crate::args::{Conn, ProjectCommand};
use crate::error::Error;
use crate::output;

/// Runs a `project` subcommand.
pub async fn run(conn: &Conn, command: ProjectCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    match command {
        ProjectCommand::Create {
            name,
            description,
            tags,
            public,
            json,
        } => {
            let body = CreateProject {
                name: name.name.clone(),
                description,
                tags: (!tags.is_empty()).then_some(tags),
                is_public: Some(public),
                readme: None,
            };
            let project = client.create_project(&name.owner, &body).await?;
            if json {
                return output::json(&project);
            }
            output::line(&format!("Project `{name}` was created."))?;
            output::line(&show(&project).to_string())
        }
        ProjectCommand::Ls { owner, page, json } => {
            let list = client.list_projects(&owner, &page.query()).await?;
            if json {
                return output::json(&list);
            }
            let mut table = output::table(&["name", "description", "tags", "created", "updated"]);
            for project in &list.results {
                table.add_row(vec![
                    project.name.clone(),
                    output::opt(project.description.as_deref()),
                    project.tags.as_deref().unwrap_or_default().join(", "),
                    output::time(Some(project.created_at)),
                    output::time(Some(project.updated_at)),
                ]);
            }
            output::line(&format!(
                "Projects of `{owner}`: {} shown, {} in all.",
                list.results.len(),
                list.count
            ))?;
            output::line(&table.to_string())
        }
        ProjectCommand::Get { project, json } => {
            let found = client.get_project(&project.owner, &project.name).await?;
            if json {
                return output::json(&found);
            }
            output::line(&show(&found).to_string())
        }
        ProjectCommand::Delete { project, yes } => {
            output::confirm(&format!("Delete project `{project}` and all its runs?"), yes)?;
            client.delete_project(&project.owner, &project.name).await?;
            output::line(&format!("Project `{project}` was deleted."))
        }
        ProjectCommand::Member { command } => members(&client, command).await,
    }
}

async fn members(client: &Client, command: ProjectMemberCommand) -> Result<(), Error> {
    match command {
        ProjectMemberCommand::Ls { project, json } => {
            let list = client.list_project_members(&project.owner, &project.name).await?;
            if json {
                return output::json(&list);
            }
            output::line(&format!("Members of project `{project}`: {}.", list.count))?;
            output::line(&super::team::members_table(&list.results).to_string())
        }
        ProjectMemberCommand::Add { project, user, role } => {
            client
                .add_project_member(&project.owner, &project.name, &user, role)
                .await?;
            output::line(&format!("`{user}` is now {role} of project `{project}`."))
        }
        ProjectMemberCommand::Rm { project, user } => {
            client
                .remove_project_member(&project.owner, &project.name, &user)
                .await?;
            output::line(&format!("`{user}` no longer has a role on project `{project}`."))
        }
    }
}

fn show(project: &Project) -> comfy_table::Table {
    output::details(vec![
        ("uuid", project.uuid.to_string()),
        ("name", project.name.clone()),
        ("owner", output::opt(project.owner.as_deref())),
        ("description", output::opt(project.description.as_deref())),
        ("tags", project.tags.as_deref().unwrap_or_default().join(", ")),
        ("user", output::opt(project.user.as_deref())),
        ("created", output::time(Some(project.created_at))),
        ("updated", output::time(Some(project.updated_at))),
    ])
}
