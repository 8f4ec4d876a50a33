//! The `process` runtime: the workload is a local child process, leader of its own process group.
//!
//! - Environment: the executor's own, minus its settings variables (`MYELIN_<SERVICE>__*`, which may
//!   hold secrets), plus [`Launch::env`]. Stdin is `/dev/null`; stdout and stderr are piped and read
//!   line by line ([`super::lines`]). The program is started through [`super::deathsig`], so it
//!   dies with the executor.
//! - Stopping: SIGTERM to the whole group, then SIGKILL to the group once `grace` has passed while
//!   any member is alive. When the leader exits on its own, what is left of its group is killed
//!   (a job ends with its main process), and so is the group of a workload dropped unfinished.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::deathsig;
use super::lines::{self, MAX_LINE_BYTES};
use super::{Error, Exit, Launch, LogLine, Runtime, Stream, Workload};

/// Lines buffered between the pipes and their consumer; a slow consumer slows the writer down.
const OUTPUT_BUFFER: usize = 4096;
/// How often a stopping group is checked for survivors.
const POLL: Duration = Duration::from_millis(20);

/// Runs workloads as local processes.
#[derive(Debug, Clone)]
pub struct ProcessRuntime {
    max_line_bytes: usize,
}

impl Default for ProcessRuntime {
    fn default() -> Self {
        Self {
            max_line_bytes: MAX_LINE_BYTES,
        }
    }
}

impl ProcessRuntime {
    /// A runtime cutting lines longer than `max_line_bytes`.
    pub fn new(max_line_bytes: usize) -> Self {
        Self { max_line_bytes }
    }
}

/// Whether `name` is a service settings variable (`MYELIN_EXECUTOR__AMQP_URL`), kept from workloads.
fn is_settings_variable(name: &str) -> bool {
    name.strip_prefix("MYELIN_").is_some_and(|rest| rest.contains("__"))
}

#[async_trait]
impl Runtime for ProcessRuntime {
    async fn start(&self, spec: &Launch) -> Result<Box<dyn Workload>, Error> {
        if spec.program.is_empty() {
            return Err(Error::NoCommand);
        }
        let path_var = spec
            .env
            .get("PATH")
            .map(OsString::from)
            .or_else(|| std::env::var_os("PATH"));
        let program = deathsig::resolve(&spec.program, &spec.working_dir, path_var.as_deref()).map_err(|source| {
            Error::Spawn {
                program: spec.program.clone(),
                source,
            }
        })?;
        let mut command = match deathsig::helper() {
            Some(helper) => {
                let mut command = Command::new(helper);
                command.args(deathsig::helper_args(&program));
                command
            }
            None => Command::new(&program),
        };
        command
            .args(&spec.args)
            .current_dir(&spec.working_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(is_settings_variable) {
                command.env_remove(name);
            }
        }
        command.envs(&spec.env);
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            program: spec.program.clone(),
            source,
        })?;
        let pid = child.id();
        let (tx, rx) = mpsc::channel(OUTPUT_BUFFER);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(lines::forward(stdout, Stream::Stdout, self.max_line_bytes, tx.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(lines::forward(stderr, Stream::Stderr, self.max_line_bytes, tx));
        }
        tracing::debug!(run = %spec.run, pid, program = %spec.program, "workload started");
        Ok(Box::new(ProcessWorkload {
            group: pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw),
            pid,
            child,
            output: Some(rx),
            exit: None,
        }))
    }
}

/// A running child process and its group.
struct ProcessWorkload {
    child: Child,
    pid: Option<u32>,
    /// The process group (= the leader's pid); `None` once it was swept, so the number (which the
    /// system may reuse later) is never signalled again.
    group: Option<Pid>,
    output: Option<mpsc::Receiver<LogLine>>,
    exit: Option<Exit>,
}

impl ProcessWorkload {
    /// Sends `signal` (`None`: only checks) to the group; false when no member is left.
    fn signal_group(&self, signal: Option<Signal>) -> bool {
        match self.group {
            Some(group) => !matches!(killpg(group, signal), Err(Errno::ESRCH)),
            None => false,
        }
    }

    /// Kills what is left of the group, for the last time.
    fn sweep(&mut self) {
        self.signal_group(Some(Signal::SIGKILL));
        self.group = None;
    }

    /// Records how the (reaped) leader ended.
    fn reaped(&mut self, status: std::io::Result<ExitStatus>) {
        self.exit = Some(match status {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                (None, None) => Exit::Lost(format!("unknown exit status {status}")),
            },
            Err(err) => Exit::Lost(err.to_string()),
        });
    }

    /// Reaps the leader if it ended; true once it is reaped and no member of its group is left.
    fn all_gone(&mut self) -> bool {
        if self.exit.is_none() {
            match self.child.try_wait() {
                Ok(Some(status)) => self.reaped(Ok(status)),
                Ok(None) => return false,
                Err(err) => self.reaped(Err(err)),
            }
        }
        !self.signal_group(None)
    }
}

#[async_trait]
impl Workload for ProcessWorkload {
    fn take_output(&mut self) -> Option<mpsc::Receiver<LogLine>> {
        self.output.take()
    }

    async fn wait(&mut self) -> Exit {
        if self.exit.is_none() {
            let status = self.child.wait().await;
            self.reaped(status);
            self.sweep();
        }
        self.exit.clone().unwrap_or_else(|| Exit::Lost("no exit status".into()))
    }

    async fn kill(&mut self, grace: Duration) {
        if self.group.is_some() {
            self.signal_group(Some(Signal::SIGTERM));
            let deadline = Instant::now() + grace;
            while !self.all_gone() && Instant::now() < deadline {
                tokio::time::sleep(POLL).await;
            }
        }
        self.sweep();
        if self.exit.is_none() {
            let status = self.child.wait().await;
            self.reaped(status);
        }
    }

    fn pid(&self) -> Option<u32> {
        self.pid
    }
}

impl Drop for ProcessWorkload {
    fn drop(&mut self) {
        // An abandoned workload must not outlive its task (kill_on_drop covers the leader only).
        self.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_variables_are_recognized() {
        assert!(is_settings_variable("MYELIN_EXECUTOR__AMQP_URL"));
        assert!(is_settings_variable("MYELIN_TRACKER__DATABASE_URL"));
        assert!(!is_settings_variable("MYELIN_RUN_UUID"));
        assert!(!is_settings_variable("MYELIN_ARTIFACTS_PATH"));
        assert!(!is_settings_variable("PATH"));
    }
}
