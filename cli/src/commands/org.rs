//! `myelin org create|ls|show|rm` and `myelin member ls|add|role|rm` (`--org ORG`).

use myelin_contracts::auth::dto::{Member, Organization};
use serde_json::json;

use crate::args::Conn;
use crate::args::auth::{MemberCommand, OrgCommand};
use crate::error::Error;
use crate::output;

/// Runs an `org` subcommand.
pub async fn run(conn: &Conn, json: bool, command: OrgCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    match command {
        OrgCommand::Create { name } => {
            let org = client.create_org(&name).await?;
            if json {
                return output::json(&org);
            }
            output::line(&format!("Organization `{}` was created; you are its owner.", org.name))
        }
        OrgCommand::Ls => {
            let list = client.list_orgs().await?;
            if json {
                return output::json(&list);
            }
            let mut table = output::table(&["name", "your role", "created by", "created"]);
            for org in &list.results {
                table.add_row(vec![
                    org.name.clone(),
                    org.role.map(|r| r.to_string()).unwrap_or_default(),
                    org.user.clone(),
                    output::time(Some(org.created_at)),
                ]);
            }
            output::line(&format!("Your organizations: {}.", list.count))?;
            output::line(&table.to_string())
        }
        OrgCommand::Show { name } => {
            let org = client.get_org(&name).await?;
            if json {
                return output::json(&org);
            }
            output::line(&show(&org).to_string())
        }
        OrgCommand::Rm { name, yes } => {
            output::confirm(
                &format!("Delete organization `{name}` with its members, teams and service accounts?"),
                yes,
            )?;
            client.delete_org(&name).await?;
            super::done(
                json,
                &format!("Organization `{name}` was deleted."),
                json!({"deleted": name}),
            )
        }
    }
}

fn show(org: &Organization) -> comfy_table::Table {
    output::details(vec![
        ("name", org.name.clone()),
        ("your role", org.role.map(|r| r.to_string()).unwrap_or_default()),
        ("created by", org.user.clone()),
        ("created", output::time(Some(org.created_at))),
        ("updated", output::time(Some(org.updated_at))),
    ])
}

/// Runs a `member` subcommand in `org`.
pub async fn members(conn: &Conn, org: &str, json: bool, command: MemberCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    match command {
        MemberCommand::Ls => {
            let list = client.list_members(org).await?;
            if json {
                return output::json(&list);
            }
            output::line(&format!("Members of `{org}`: {}.", list.count))?;
            output::line(&members_table(&list.results).to_string())
        }
        MemberCommand::Add { user, role } => {
            let member = client.add_member(org, &user, role).await?;
            if json {
                return output::json(&member);
            }
            output::line(&format!("`{user}` is now a member of `{org}` with role {role}."))
        }
        MemberCommand::Role { user, role } => {
            client.change_member_role(org, &user, role).await?;
            super::done(
                json,
                &format!("`{user}` now has role {role} in `{org}`."),
                json!({"org": org, "user": user, "role": role}),
            )
        }
        MemberCommand::Rm { user } => {
            client.remove_member(org, &user).await?;
            super::done(
                json,
                &format!("`{user}` was removed from `{org}`."),
                json!({"org": org, "removed": user}),
            )
        }
    }
}

fn members_table(members: &[Member]) -> comfy_table::Table {
    let mut table = output::table(&["user", "email", "role", "kind", "since"]);
    for member in members {
        table.add_row(vec![
            member.user.clone(),
            member.user_email.clone(),
            member.role.to_string(),
            member.kind.clone(),
            output::time(Some(member.created_at)),
        ]);
    }
    table
}
