//! Client commands: each builds a [`myelin_client::Client`] for the chosen server, with the chosen
//! token, and prints the answer as a table or, with `--json`, as JSON.

pub mod audit;
pub mod auth;
pub mod check;
pub mod config;
pub mod follow;
pub mod ops;
pub mod org;
pub mod project;
pub mod run;
pub mod sa;
pub mod team;
pub mod token;
pub mod tracking;

use myelin_client::Client;
use myelin_contracts::ListQuery;

use crate::args::{Conn, Page};
use crate::config::{CliConfig, choose_host, choose_token, token_from_env};
use crate::error::Error;
use crate::output;

/// A client of the server `conn` (or the saved config, or the default) names, sending the token
/// of `--token`, else `$MYELIN_TOKEN`, else the one `myelin login` saved (none: anonymous).
pub fn client(conn: &Conn) -> Result<Client, Error> {
    let saved = CliConfig::load()?;
    let (host, _) = choose_host(conn.host.as_deref(), &saved);
    let env = token_from_env();
    let token = choose_token(conn.token.as_deref(), env.as_deref(), &saved).map(|(token, _)| token);
    Ok(Client::new(&host, token)?)
}

/// Reports a change the server answered without a body: `message`, or with `--json`, `value`.
pub fn done(json: bool, message: &str, value: serde_json::Value) -> Result<(), Error> {
    if json {
        return output::json(&value);
    }
    output::line(message)
}

impl Page {
    /// The list query these flags ask for.
    pub fn query(&self) -> ListQuery {
        ListQuery {
            offset: self.offset,
            limit: self.limit,
            sort: self.sort.clone(),
            query: self.query.clone(),
        }
    }
}
