//! [`Proc`]: a child process started for a test.
//!
//! Its stdout and stderr go to files in a temporary folder (so a chatty child never blocks on a full
//! pipe); when the test panics the guard prints both files to stderr, and on drop it kills the child.
//! Inherited `MYELIN_*` variables are removed so a developer's environment cannot change the test.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;

/// A running child process; killed (SIGKILL) when dropped.
pub struct Proc {
    name: String,
    child: Child,
    dir: TempDir,
}

impl Proc {
    /// Starts `program` with `args` and the extra environment `envs`. `name` labels its logs.
    pub fn spawn<I, K, V>(name: &str, program: &Path, args: &[&str], envs: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let dir = tempfile::Builder::new()
            .prefix(&format!("myelin-e2e-{name}-"))
            .tempdir()
            .context("cannot create a log folder")?;
        let stdout = File::create(dir.path().join("stdout.log")).context("cannot create stdout.log")?;
        let stderr = File::create(dir.path().join("stderr.log")).context("cannot create stderr.log")?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("MYELIN_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(envs);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            dir,
        })
    }

    /// The label given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The file holding the child's stdout.
    pub fn stdout_path(&self) -> PathBuf {
        self.dir.path().join("stdout.log")
    }

    /// The file holding the child's stderr.
    pub fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }

    /// Everything the child wrote so far, stdout then stderr.
    pub fn logs(&self) -> String {
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_else(|e| format!("<unreadable: {e}>"));
        format!(
            "----- {name} stdout -----\n{}\n----- {name} stderr -----\n{}\n----- end of {name} -----",
            read(self.stdout_path()),
            read(self.stderr_path()),
            name = self.name
        )
    }

    /// `Some(status)` once the child has exited.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("cannot poll {}", self.name))
    }

    /// Kills the child with SIGKILL (no chance to clean up, like a crashed node) and reaps it.
    pub fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.exited()? {
            return Ok(status);
        }
        self.child
            .kill()
            .with_context(|| format!("cannot kill {}", self.name))?;
        self.child.wait().with_context(|| format!("cannot reap {}", self.name))
    }

    /// Polls `{base_url}/readyz` until 200; fails early, with the logs, if the child exits meanwhile.
    pub async fn wait_ready(&mut self, base_url: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited()? {
                bail!(
                    "{} exited with {status} before becoming ready\n{}",
                    self.name,
                    self.logs()
                );
            }
            let step = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .min(Duration::from_millis(500));
            match crate::wait_ready(base_url, step).await {
                Ok(()) => return Ok(()),
                Err(err) if tokio::time::Instant::now() >= deadline => {
                    bail!("{} not ready: {err:#}\n{}", self.name, self.logs())
                }
                Err(_) => {}
            }
        }
    }

    /// Waits until a line of stdout satisfies `pick`, returning what `pick` extracted.
    pub async fn wait_stdout_line<T>(
        &mut self,
        timeout: Duration,
        pick: impl Fn(&str) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let out = std::fs::read_to_string(self.stdout_path()).unwrap_or_default();
            if let Some(found) = out.lines().find_map(&pick) {
                return Ok(found);
            }
            if let Some(status) = self.exited()? {
                bail!(
                    "{} exited with {status} before printing the expected line\n{}",
                    self.name,
                    self.logs()
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{} did not print the expected line within {timeout:?}\n{}",
                    self.name,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}
