//! Following a run: its status transitions (`-w`) and its log (`-l`, `ops logs -f`), until it is
//! done. Used by `myelin run` and `myelin ops logs|restart`.

use std::time::Duration;

use myelin_client::{Client, TailEvent};
use myelin_contracts::logs::LogLine;
use myelin_contracts::{RunUuid, Statuses};

use crate::error::Error;
use crate::output;
use crate::target::ProjectRef;

/// How often status is polled while watching.
const POLL: Duration = Duration::from_millis(300);

/// Prints each status change of the run until it is done; returns the final status.
pub async fn watch(client: &Client, project: &ProjectRef, uuid: &RunUuid) -> Result<Statuses, Error> {
    watch_until_done(client, project, uuid, true).await
}

/// [`watch`]; the final (done) status is printed only when `print_done`.
async fn watch_until_done(
    client: &Client,
    project: &ProjectRef,
    uuid: &RunUuid,
    print_done: bool,
) -> Result<Statuses, Error> {
    let mut last = None;
    loop {
        let run = client.get_run(&project.owner, &project.name, uuid).await?;
        if last != Some(run.status) && (print_done || !run.status.is_done()) {
            output::line(&format!(
                "{}  {}",
                output::time(Some(chrono::Utc::now())),
                describe(run.status)
            ))?;
            last = Some(run.status);
        }
        if run.status.is_done() {
            return Ok(run.status);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Prints the run's log; with `follow`, keeps printing new lines until the run is done and
/// returns its final status.
pub async fn logs(
    client: &Client,
    project: &ProjectRef,
    uuid: &RunUuid,
    follow: bool,
) -> Result<Option<Statuses>, Error> {
    if !follow {
        let mut last_file: Option<String> = None;
        loop {
            let page = client
                .get_logs(&project.owner, &project.name, uuid, last_file.as_deref(), None)
                .await?;
            for line in &page.logs {
                print_line(line)?;
            }
            if page.logs.is_empty() || page.last_file.is_none() || page.last_file == last_file {
                return Ok(None);
            }
            last_file = page.last_file;
        }
    }
    let mut tail = client.tail_logs(&project.owner, &project.name, uuid).await?;
    while let Some(event) = tail.next().await {
        match event? {
            TailEvent::Line(line) => print_line(&line)?,
            TailEvent::Done(status) => return Ok(Some(status)),
            TailEvent::Failed(message) => return Err(Error::Usage(format!("the log tail failed: {message}"))),
        }
    }
    Ok(None)
}

/// Watches and follows the log at once (`myelin run -w -l`): status changes and log lines
/// interleaved, the final status printed after the last log line; returns the final status.
pub async fn watch_and_log(client: &Client, project: &ProjectRef, uuid: &RunUuid) -> Result<Statuses, Error> {
    let logs = logs(client, project, uuid, true);
    let watch = watch_until_done(client, project, uuid, false);
    let (logged, watched) = tokio::join!(logs, watch);
    logged?;
    let status = watched?;
    output::line(&format!(
        "{}  {}",
        output::time(Some(chrono::Utc::now())),
        describe(status)
    ))?;
    Ok(status)
}

/// What `run`/`restart` do after submitting: nothing, watch (`-w`), follow the log (`-l`) or
/// both; with either, the exit code says whether the run succeeded.
pub async fn after_submit(
    client: &Client,
    project: &ProjectRef,
    uuid: &RunUuid,
    watch: bool,
    log: bool,
) -> Result<(), Error> {
    let status = match (watch, log) {
        (false, false) => return Ok(()),
        (true, false) => self::watch(client, project, uuid).await?,
        (false, true) => match logs(client, project, uuid, true).await? {
            Some(status) => status,
            None => self::watch(client, project, uuid).await?,
        },
        (true, true) => watch_and_log(client, project, uuid).await?,
    };
    result(uuid, status)
}

/// The exit of a watched run: Ok for succeeded, an error naming the status otherwise.
pub fn result(uuid: &RunUuid, status: Statuses) -> Result<(), Error> {
    if status == Statuses::Succeeded {
        Ok(())
    } else {
        Err(Error::RunFailed(format!("run `{uuid}` ended `{status}`")))
    }
}

fn print_line(line: &LogLine) -> Result<(), Error> {
    output::line(&format!("{}  {}", output::time(Some(line.timestamp)), line.value))
}

fn describe(status: Statuses) -> String {
    match status {
        Statuses::Created | Statuses::Compiled | Statuses::Queued | Statuses::Scheduled => {
            format!("[{status}] waiting to start…")
        }
        Statuses::Starting => format!("[{status}] starting…"),
        Statuses::Running => format!("[{status}]"),
        other => format!("[{other}]"),
    }
}
