//! What the integration tests share: the Python of the venv with Celery, and running scripts on it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

/// The venv's Python: `$MYELIN_VENV/bin/python`, else the workspace's `.venv` (where
/// `scripts/python-venv.sh` puts it). Missing → the test fails, saying how to make it.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("MYELIN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv")));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python Celery venv at {} (run scripts/python-venv.sh or set MYELIN_VENV)",
        python.display()
    );
    python
}

/// Runs `script` (argv after it) on [`python`] and returns its stdout; fails on an error exit or
/// after 60 s.
pub async fn run_python(script: &str, args: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg("-c").arg(script).args(args).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("python timed out")
        .expect("cannot run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
