//! `myelin sa ls|create NAME --role ROLE|rm NAME` and `myelin sa token ls|create|revoke SA ...`
//! (`--org ORG`): service accounts, which act in one org with an org role, and their tokens.

use serde_json::json;

use crate::args::Conn;
use crate::args::auth::{SaCommand, SaTokenCommand};
use crate::error::Error;
use crate::output;

/// Runs an `sa` subcommand in `org`.
pub async fn run(conn: &Conn, org: &str, json: bool, command: SaCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    match command {
        SaCommand::Ls => {
            let list = client.list_service_accounts(org).await?;
            if json {
                return output::json(&list);
            }
            let mut table = output::table(&["name", "role", "description", "created by", "created"]);
            for sa in &list.results {
                table.add_row(vec![
                    sa.name.clone(),
                    sa.role.to_string(),
                    output::opt(sa.description.as_deref()),
                    sa.user.clone(),
                    output::time(Some(sa.created_at)),
                ]);
            }
            output::line(&format!("Service accounts of `{org}`: {}.", list.count))?;
            output::line(&table.to_string())
        }
        SaCommand::Create {
            name,
            role,
            description,
        } => {
            let sa = client
                .create_service_account(org, &name, role, description.as_deref())
                .await?;
            if json {
                return output::json(&sa);
            }
            output::line(&format!(
                "Service account `{}` was created in `{org}` with role {}; give it a token with \
                 `myelin sa token create {}`.",
                sa.name, sa.role, sa.name
            ))
        }
        SaCommand::Rm { name } => {
            client.delete_service_account(org, &name).await?;
            super::done(
                json,
                &format!("Service account `{name}` was deleted; its tokens no longer work."),
                json!({"org": org, "deleted": name}),
            )
        }
        SaCommand::Token { command } => match command {
            SaTokenCommand::Ls { sa } => {
                let list = client.list_sa_tokens(org, &sa).await?;
                if json {
                    return output::json(&list);
                }
                output::line(&format!("Tokens of service account `{sa}`: {}.", list.count))?;
                output::line(&super::token::table(&list.results).to_string())
            }
            SaTokenCommand::Create { sa, token } => {
                let created = client
                    .create_sa_token(org, &sa, token.name.as_deref(), token.days)
                    .await?;
                let hint = format!("Requests with it act as `sa:{sa}` in `{org}`.");
                super::token::created(&created, json, &hint)
            }
            SaTokenCommand::Revoke { sa, uuid } => {
                client.revoke_sa_token(org, &sa, uuid).await?;
                super::done(
                    json,
                    &format!("Token {uuid} of service account `{sa}` was revoked."),
                    json!({"org": org, "sa": sa, "revoked": uuid}),
                )
            }
        },
    }
}
