//! `myelin run -f FILE [-p PROJECT]`: submits a Polyaxonfile as a new run.
//!
//! The server validates the file (errors come back with the field path and line) and stores the
//! run as `created`; execution is the scheduler's job.

use std::path::Path;

use myelin_contracts::{CreateRun, ManagedBy};

use crate::args::{Conn, RunArgs};
use crate::error::Error;
use crate::output;

/// Runs `myelin run`.
pub async fn run(conn: &Conn, args: RunArgs) -> Result<(), Error> {
    let client = super::client(conn)?;
    let content = read(&args.file)?;
    let body = CreateRun {
        content: Some(content),
        managed_by: Some(ManagedBy::Agent),
        is_managed: Some(true),
        name: args.name,
        description: args.description,
        tags: (!args.tags.is_empty()).then_some(args.tags),
        ..CreateRun::default()
    };
    let project = &args.project;
    let run = client.create_run(&project.owner, &project.name, &body).await?;
    if args.json {
        return output::json(&run);
    }
    output::line(&format!("Run `{}` was created in `{project}`.", run.uuid))?;
    output::line(&super::ops::show(&run, project).to_string())
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|error| Error::Usage(format!("cannot read Polyaxonfile `{}`: {error}", path.display())))
}
