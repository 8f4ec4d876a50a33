//! `myelin team ls|create|show|rename|rm`, `myelin team member ls|add|rm TEAM ...` and
//! `myelin team project ls|grant|revoke TEAM ...` (`--org ORG`); the table of team and project
//! members is shared with `myelin project member`.

use myelin_client::Client;
use myelin_contracts::auth::dto::{Team, TeamMember};
use serde_json::json;

use crate::args::Conn;
use crate::args::auth::{TeamCommand, TeamMemberCommand, TeamProjectCommand};
use crate::error::Error;
use crate::output;

/// Runs a `team` subcommand in `org`.
pub async fn run(conn: &Conn, org: &str, json: bool, command: TeamCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    match command {
        TeamCommand::Ls => {
            let list = client.list_teams(org).await?;
            if json {
                return output::json(&list);
            }
            let mut table = output::table(&["name", "projects", "your role", "created by", "created"]);
            for team in &list.results {
                table.add_row(vec![
                    team.name.clone(),
                    team.projects.join(", "),
                    team.role.map(|r| r.to_string()).unwrap_or_default(),
                    team.user.clone(),
                    output::time(Some(team.created_at)),
                ]);
            }
            output::line(&format!("Teams of `{org}`: {}.", list.count))?;
            output::line(&table.to_string())
        }
        TeamCommand::Create { name } => {
            let team = client.create_team(org, &name).await?;
            if json {
                return output::json(&team);
            }
            output::line(&format!("Team `{}` was created in `{org}`.", team.name))
        }
        TeamCommand::Show { name } => {
            let team = client.get_team(org, &name).await?;
            let members = client.list_team_members(org, &name).await?.results;
            if json {
                let mut value = serde_json::to_value(&team).map_err(|e| Error::Io(std::io::Error::other(e)))?;
                value["members"] = json!(members);
                return output::json(&value);
            }
            output::line(&show(&team).to_string())?;
            output::line(&format!("Members: {}.", members.len()))?;
            output::line(&members_table(&members).to_string())
        }
        TeamCommand::Rename { name, new_name } => {
            let team = client.rename_team(org, &name, &new_name).await?;
            if json {
                return output::json(&team);
            }
            output::line(&format!("Team `{name}` is now `{}`.", team.name))
        }
        TeamCommand::Rm { name } => {
            client.delete_team(org, &name).await?;
            super::done(
                json,
                &format!("Team `{name}` was deleted."),
                json!({"org": org, "deleted": name}),
            )
        }
        TeamCommand::Member { command } => team_members(&client, org, json, command).await,
        TeamCommand::Project { command } => team_projects(&client, org, json, command).await,
    }
}

async fn team_members(client: &Client, org: &str, json: bool, command: TeamMemberCommand) -> Result<(), Error> {
    match command {
        TeamMemberCommand::Ls { team } => {
            let list = client.list_team_members(org, &team).await?;
            if json {
                return output::json(&list);
            }
            output::line(&format!("Members of team `{team}`: {}.", list.count))?;
            output::line(&members_table(&list.results).to_string())
        }
        TeamMemberCommand::Add { team, user, role } => {
            client.add_team_member(org, &team, &user, role).await?;
            super::done(
                json,
                &format!("`{user}` was added to team `{team}` as {role}."),
                json!({"org": org, "team": team, "user": user, "role": role}),
            )
        }
        TeamMemberCommand::Rm { team, user } => {
            client.remove_team_member(org, &team, &user).await?;
            super::done(
                json,
                &format!("`{user}` was removed from team `{team}`."),
                json!({"org": org, "team": team, "removed": user}),
            )
        }
    }
}

async fn team_projects(client: &Client, org: &str, json: bool, command: TeamProjectCommand) -> Result<(), Error> {
    match command {
        TeamProjectCommand::Ls { team } => {
            let list = client.list_team_projects(org, &team).await?;
            if json {
                return output::json(&list);
            }
            let mut table = output::table(&["project"]);
            for project in &list.results {
                table.add_row(vec![project.clone()]);
            }
            output::line(&format!("Projects granted to team `{team}`: {}.", list.count))?;
            output::line(&table.to_string())
        }
        TeamProjectCommand::Grant { team, project } => {
            client.grant_project(org, &team, &project).await?;
            super::done(
                json,
                &format!("Project `{org}/{project}` was granted to team `{team}`."),
                json!({"org": org, "team": team, "granted": project}),
            )
        }
        TeamProjectCommand::Revoke { team, project } => {
            client.revoke_project(org, &team, &project).await?;
            super::done(
                json,
                &format!("Team `{team}` no longer has project `{org}/{project}`."),
                json!({"org": org, "team": team, "revoked": project}),
            )
        }
    }
}

fn show(team: &Team) -> comfy_table::Table {
    output::details(vec![
        ("name", team.name.clone()),
        ("organization", team.owner.clone()),
        ("projects", team.projects.join(", ")),
        ("your role", team.role.map(|r| r.to_string()).unwrap_or_default()),
        ("created by", team.user.clone()),
        ("created", output::time(Some(team.created_at))),
        ("uuid", team.uuid.to_string()),
    ])
}

/// A table of team (or project) members: user, email, role there, org role.
pub fn members_table(members: &[TeamMember]) -> comfy_table::Table {
    let mut table = output::table(&["user", "email", "role", "org role"]);
    for member in members {
        table.add_row(vec![
            member.user.clone(),
            member.user_email.clone(),
            member.role.to_string(),
            member.org_role.map(|r| r.to_string()).unwrap_or_default(),
        ]);
    }
    table
}
