//! Runtimes: how a run's workload is started, watched, killed and heard.
//!
//! A [`Runtime`] turns a [`Launch`] (program, arguments, environment, working directory) into a
//! running [`Workload`]. The workload's output arrives as timestamped [`LogLine`]s on a channel
//! (taken once with [`Workload::take_output`]); it closes when both output streams reached their end.
//! [`process::ProcessRuntime`] runs the workload as a local child process in its own process group.

pub mod deathsig;
pub mod lines;
pub mod process;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use myelin_contracts::RunUuid;
use tokio::sync::mpsc;

pub use process::ProcessRuntime;

/// What to start for one attempt of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub run: RunUuid,
    /// The program (looked up in `PATH` when it has no slash).
    pub program: String,
    pub args: Vec<String>,
    /// Variables set on top of the executor's own environment (minus its settings variables).
    pub env: BTreeMap<String, String>,
    /// An existing directory the workload starts in.
    pub working_dir: PathBuf,
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The wire name: `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line of output (without its line terminator), stamped when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub ts: DateTime<Utc>,
    pub stream: Stream,
    pub line: String,
}

/// How a workload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code (0 is success).
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// Its end could not be observed (the runtime lost track of it).
    Lost(String),
}

impl Exit {
    /// Exit code 0.
    pub fn is_success(&self) -> bool {
        matches!(self, Exit::Code(0))
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(0) => f.write_str("exited with code 0"),
            Exit::Code(code) => write!(f, "exited with code {code}"),
            Exit::Signal(signal) => {
                let name = nix::sys::signal::Signal::try_from(*signal)
                    .map(|s| s.as_str())
                    .unwrap_or("an unknown signal");
                write!(f, "killed by signal {name} ({signal})")
            }
            Exit::Lost(why) => write!(f, "lost track of the workload: {why}"),
        }
    }
}

/// Why a workload could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The launch names no program.
    #[error("the job has no command")]
    NoCommand,
    /// The operating system refused to start it (not found, not executable, bad directory...).
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// Starts workloads.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// Starts `spec`; returns once it is running.
    async fn start(&self, spec: &Launch) -> Result<Box<dyn Workload>, Error>;
}

/// A started workload.
#[async_trait]
pub trait Workload: Send {
    /// Its output lines; `Some` the first time only. The channel closes once all output was read.
    fn take_output(&mut self) -> Option<mpsc::Receiver<LogLine>>;
    /// Waits until it ends (cancel-safe; returns the same [`Exit`] when called again).
    async fn wait(&mut self) -> Exit;
    /// Asks it to stop, then forces it after `grace`; returns once it ended ([`Workload::wait`]
    /// then gives its exit).
    async fn kill(&mut self, grace: Duration);
    /// The operating-system process id, when there is one.
    fn pid(&self) -> Option<u32>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_describe_themselves() {
        assert!(Exit::Code(0).is_success());
        assert!(!Exit::Code(3).is_success());
        assert_eq!(Exit::Code(3).to_string(), "exited with code 3");
        assert_eq!(Exit::Signal(15).to_string(), "killed by signal SIGTERM (15)");
        assert_eq!(Exit::Signal(9).to_string(), "killed by signal SIGKILL (9)");
        assert!(!Exit::Signal(9).is_success());
    }
}
