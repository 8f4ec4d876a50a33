//! Runs the built `myelin` binary: `myelin server --data-dir DIR --port 0` (ready line parsed,
//! start-to-ready time measured) and client commands against it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_myelin");

/// The owner password [`Server::start`] gives `myelin server` (the owner is `admin`, org `default`).
pub const OWNER_PASSWORD: &str = "cli-tests-admin-password";

/// A running `myelin server`.
pub struct Server {
    child: Child,
    reader: Option<std::thread::JoinHandle<Vec<String>>>,
    pub url: String,
    pub data_dir: PathBuf,
    pub ready_in: Duration,
    /// A login token of `admin` ([`Server::start`] only): [`Server::myelin`] sends it.
    pub token: Option<String>,
}

impl Server {
    /// Starts `myelin server` on `data_dir` with the owner password [`OWNER_PASSWORD`], waits (at
    /// most 10 s) for its ready line and logs in as `admin`.
    pub fn start(data_dir: &Path) -> Server {
        let mut server = Server::start_with_env(data_dir, &[("MYELIN_ADMIN_PASSWORD", OWNER_PASSWORD)]);
        let out = myelin_with(
            &data_dir.with_extension("cli"),
            Some(&server.url),
            &["login", "-u", "admin", "--password-stdin"],
            &[],
            Some(OWNER_PASSWORD),
        );
        assert!(out.status.success(), "login: {}", String::from_utf8_lossy(&out.stderr));
        let config = std::fs::read_to_string(data_dir.with_extension("cli").join("cli.toml")).unwrap();
        let token: toml::Value = toml::from_str(&config).unwrap();
        server.token = Some(token["token"].as_str().unwrap().to_owned());
        server
    }

    /// [`Server::start`] with extra environment variables for the server (`MYELIN_ADMIN_PASSWORD`).
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(data_dir.with_extension("log")).unwrap();
        let started = Instant::now();
        let mut child = Command::new(BIN)
            .args(["server", "--data-dir"])
            .arg(data_dir)
            .args(["--port", "0"])
            .env_remove("MYELIN_HOST")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the ready line, then collects anything else printed on stdout (there must be nothing).
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            lines.map_while(Result::ok).collect::<Vec<_>>()
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Some(line)) => line,
            other => {
                let _ = child.kill();
                panic!("no ready line within 10 s ({other:?}); log: {}", log_of(data_dir));
            }
        };
        let ready_in = started.elapsed();
        println!("myelin server ready in {} ms", ready_in.as_millis());
        let url = line
            .strip_prefix("Myelin is ready at ")
            .unwrap_or_else(|| panic!("unexpected line: {line}"));
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Server {
            child,
            reader: Some(reader),
            url: url.to_owned(),
            data_dir: data_dir.to_owned(),
            ready_in,
            token: None,
        }
    }

    /// SIGTERM, then waits (at most 10 s) for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "server exited with {status}; log: {}",
                    log_of(&self.data_dir)
                );
                let extra = self.reader.take().unwrap().join().unwrap();
                assert!(
                    extra.is_empty(),
                    "`myelin server` printed more than the ready line: {extra:?}"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop within 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `myelin <args>` against this server (`MYELIN_HOST`, and `MYELIN_TOKEN` when logged in),
    /// stdin closed.
    pub fn myelin(&self, config_dir: &Path, args: &[&str]) -> Output {
        match &self.token {
            Some(token) => myelin_with(config_dir, Some(&self.url), args, &[("MYELIN_TOKEN", token)], None),
            None => myelin(config_dir, Some(&self.url), args),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_of(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.with_extension("log")).unwrap_or_default()
}

/// Runs `myelin <args>` with `MYELIN_CONFIG_DIR=config_dir` and `MYELIN_HOST=host` (unset when `None`).
pub fn myelin(config_dir: &Path, host: Option<&str>, args: &[&str]) -> Output {
    myelin_with(config_dir, host, args, &[], None)
}

/// [`myelin`] with extra environment variables and, when `stdin` is given, that text on stdin
/// (else stdin is closed). `MYELIN_TOKEN` and `MYELIN_PASSWORD` are unset unless `env` sets them.
pub fn myelin_with(
    config_dir: &Path,
    host: Option<&str>,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("MYELIN_CONFIG_DIR", config_dir)
        .env_remove("MYELIN_TOKEN")
        .env_remove("MYELIN_PASSWORD")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match host {
        Some(host) => command.env("MYELIN_HOST", host),
        None => command.env_remove("MYELIN_HOST"),
    };
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Asserts success and returns stdout.
pub fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "status {}\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    stdout
}

/// Asserts success and parses stdout as JSON.
pub fn ok_json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).unwrap()
}

/// Asserts failure with `code` and returns stderr.
pub fn fails(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}
