//! `myelin audit [--org ORG] [--limit N] [--offset N]`: the org's audit log, newest first.

use crate::args::Conn;
use crate::args::auth::AuditArgs;
use crate::error::Error;
use crate::output;

/// Prints one page of `org`'s audit log.
pub async fn run(conn: &Conn, org: &str, json: bool, args: AuditArgs) -> Result<(), Error> {
    let client = super::client(conn)?;
    let page = client.audit_log(org, args.offset, Some(args.limit)).await?;
    if json {
        return output::json(&page);
    }
    let mut table = output::table(&["at", "actor", "action", "resource", "result", "status"]);
    for entry in &page.results {
        table.add_row(vec![
            output::time(Some(entry.at)),
            entry.actor.clone(),
            entry.action.clone(),
            entry.resource.clone(),
            entry.result.clone(),
            entry.status.to_string(),
        ]);
    }
    output::line(&format!(
        "Audit log of `{org}`: {} shown, {} in all.",
        page.results.len(),
        page.count
    ))?;
    output::line(&table.to_string())
}
