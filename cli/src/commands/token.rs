//! `myelin token create [--name N] [--days D]|ls|revoke UUID`: personal API tokens; the table and
//! the shown-once printing are shared with service-account tokens (`myelin sa token`).

use myelin_contracts::auth::dto::Token;
use serde_json::json;

use crate::args::Conn;
use crate::args::auth::TokenCommand;
use crate::error::Error;
use crate::output;

/// Runs a `token` subcommand.
pub async fn run(conn: &Conn, json: bool, command: TokenCommand) -> Result<(), Error> {
    let client = super::client(conn)?;
    match command {
        TokenCommand::Create(new) => {
            let token = client.create_token(new.name.as_deref(), new.days).await?;
            created(
                &token,
                json,
                "Use it as MYELIN_TOKEN (or POLYAXON_AUTH_TOKEN for the polyaxon CLI).",
            )
        }
        TokenCommand::Ls => {
            let list = client.list_tokens().await?;
            if json {
                return output::json(&list);
            }
            output::line(&format!("Your tokens: {}.", list.count))?;
            output::line(&table(&list.results).to_string())
        }
        TokenCommand::Revoke { uuid } => {
            client.revoke_token(uuid).await?;
            super::done(json, &format!("Token {uuid} was revoked."), json!({"revoked": uuid}))
        }
    }
}

/// Prints a new token with its key, which the server shows only once.
pub fn created(token: &Token, json: bool, hint: &str) -> Result<(), Error> {
    if json {
        return output::json(token);
    }
    let Some(key) = token.key.as_deref() else {
        return Err(Error::Usage("the server answered a new token without its key".into()));
    };
    output::line(&format!(
        "Token `{}` ({}) was created{}. It is shown only this once:",
        token.name,
        token.uuid,
        token
            .expires_at
            .map(|at| format!(", valid until {}", output::time(Some(at))))
            .unwrap_or_default()
    ))?;
    output::line(key)?;
    output::line(hint)
}

/// A table of tokens: uuid, name, state, dates.
pub fn table(tokens: &[Token]) -> comfy_table::Table {
    let now = chrono::Utc::now();
    let mut table = output::table(&["uuid", "name", "state", "created", "expires", "last used"]);
    for token in tokens {
        let state = match (token.revoked_at, token.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(at)) if at <= now => "expired",
            _ => "active",
        };
        table.add_row(vec![
            token.uuid.to_string(),
            token.name.clone(),
            state.to_owned(),
            output::time(Some(token.created_at)),
            output::time(token.expires_at),
            output::time(token.last_used_at),
        ]);
    }
    table
}
