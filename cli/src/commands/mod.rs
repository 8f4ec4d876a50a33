//! Client commands: each builds a [`myelin_client::Client`] for the chosen server and prints the
//! answer as a table or, with `--json`, as JSON.

pub mod check;
pub mod config;
pub mod follow;
pub mod ops;
pub mod project;
pub mod run;
pub mod tracking;

use myelin_client::Client;
use myelin_contracts::ListQuery;

use crate::args::{Conn, Page};
use crate::error::Error;

/// A client of the server `conn` (or the saved config, or the default) names.
pub fn client(conn: &Conn) -> Result<Client, Error> {
    let (host, _) = crate::config::resolve_host(conn.host.as_deref())?;
    Ok(Client::new(&host, None)?)
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
