#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `process` runtime against real child processes: output capture, environment, working
//! directory, exit mapping, start errors, and killing whole process groups.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use myelin_contracts::RunUuid;
use myelin_executor::runtime::{Error, Exit, Launch, LogLine, ProcessRuntime, Runtime, Stream};

fn launch(dir: &Path, script: &str) -> Launch {
    Launch {
        run: RunUuid::new(),
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: BTreeMap::new(),
        working_dir: dir.to_path_buf(),
    }
}

/// Runs to the end; returns the exit and every line.
async fn run(runtime: &ProcessRuntime, spec: &Launch) -> (Exit, Vec<LogLine>) {
    let mut workload = runtime.start(spec).await.unwrap();
    let mut output = workload.take_output().unwrap();
    assert!(workload.take_output().is_none(), "the output is handed out once");
    let exit = tokio::time::timeout(Duration::from_secs(20), workload.wait())
        .await
        .unwrap();
    let mut lines = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(10), output.recv())
        .await
        .unwrap()
    {
        lines.push(line);
    }
    assert_eq!(workload.wait().await, exit, "wait is repeatable");
    (exit, lines)
}

fn texts(lines: &[LogLine], stream: Stream) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| l.line.as_str())
        .collect()
}

/// Whether `pid` is gone (or a zombie waiting for a reaper: it no longer runs).
fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

async fn assert_dies(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_dead(pid) {
        assert!(Instant::now() < deadline, "process {pid} survived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn captures_both_streams_in_order_with_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let before = Utc::now();
    let spec = launch(
        dir.path(),
        "for i in 1 2 3 4 5; do echo out$i; done; echo err1 >&2; printf 'no newline'",
    );
    let (exit, lines) = run(&ProcessRuntime::default(), &spec).await;
    let after = Utc::now();
    assert_eq!(exit, Exit::Code(0));
    assert_eq!(
        texts(&lines, Stream::Stdout),
        vec!["out1", "out2", "out3", "out4", "out5", "no newline"]
    );
    assert_eq!(texts(&lines, Stream::Stderr), vec!["err1"]);
    let stdout: Vec<_> = lines.iter().filter(|l| l.stream == Stream::Stdout).collect();
    assert!(
        stdout.windows(2).all(|w| w[0].ts <= w[1].ts),
        "timestamps follow the order"
    );
    assert!(lines.iter().all(|l| before <= l.ts && l.ts <= after));
}

#[tokio::test]
async fn gives_the_environment_and_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = launch(
        dir.path(),
        "echo \"$MYELIN_RUN_UUID|$GREETING\"; pwd; test -n \"$PATH\" && echo path",
    );
    spec.env.insert("MYELIN_RUN_UUID".into(), spec.run.to_string());
    spec.env.insert("GREETING".into(), "hello world".into());
    let (exit, lines) = run(&ProcessRuntime::default(), &spec).await;
    assert_eq!(exit, Exit::Code(0));
    let out = texts(&lines, Stream::Stdout);
    assert_eq!(out[0], format!("{}|hello world", spec.run));
    assert_eq!(
        Path::new(out[1]).canonicalize().unwrap(),
        dir.path().canonicalize().unwrap()
    );
    assert_eq!(out[2], "path", "the executor's own environment (PATH) is inherited");
}

#[tokio::test]
async fn maps_exit_codes_and_signals() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::default();
    assert_eq!(run(&runtime, &launch(dir.path(), "exit 3")).await.0, Exit::Code(3));
    let (exit, _) = run(&runtime, &launch(dir.path(), "kill -TERM $$")).await;
    assert_eq!(exit, Exit::Signal(15));
    assert_eq!(exit.to_string(), "killed by signal SIGTERM (15)");
}

#[tokio::test]
async fn a_missing_program_is_a_start_error_with_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = launch(dir.path(), "");
    spec.program = "definitely-not-a-command-3f9a".into();
    let err = match ProcessRuntime::default().start(&spec).await {
        Err(err) => err,
        Ok(_) => panic!("a missing program must not start"),
    };
    assert!(matches!(err, Error::Spawn { .. }));
    let message = err.to_string();
    assert!(message.contains("definitely-not-a-command-3f9a"), "{message}");
    assert!(message.contains("No such file or directory"), "{message}");
}

#[tokio::test]
async fn long_lines_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let spec = launch(dir.path(), "head -c 2500 /dev/zero | tr '\\0' a; echo; echo short");
    let (_, lines) = run(&ProcessRuntime::new(1000), &spec).await;
    let sizes: Vec<usize> = lines.iter().map(|l| l.line.len()).collect();
    assert_eq!(sizes, vec![1000, 1000, 500, 5]);
}

#[tokio::test]
async fn kill_takes_down_the_whole_group_including_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let spec = launch(dir.path(), "sleep 100 & echo $!; sleep 100 & echo $!; wait");
    let mut workload = ProcessRuntime::default().start(&spec).await.unwrap();
    let leader = workload.pid().unwrap() as i32;
    let mut output = workload.take_output().unwrap();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(10), output.recv())
            .await
            .unwrap()
            .unwrap();
        pids.push(line.line.parse::<i32>().unwrap());
    }
    let started = Instant::now();
    workload.kill(Duration::from_secs(5)).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "SIGTERM was enough: no need to wait for the grace"
    );
    assert_eq!(workload.wait().await, Exit::Signal(15));
    for pid in pids.into_iter().chain([leader]) {
        assert_dies(pid).await;
    }
    // Every writer is gone, so the output ends.
    while tokio::time::timeout(Duration::from_secs(10), output.recv())
        .await
        .unwrap()
        .is_some()
    {}
}

#[tokio::test]
async fn a_group_ignoring_sigterm_gets_sigkill_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let spec = launch(dir.path(), "trap '' TERM; echo ready; while true; do sleep 0.05; done");
    let mut workload = ProcessRuntime::default().start(&spec).await.unwrap();
    let mut output = workload.take_output().unwrap();
    let ready = tokio::time::timeout(Duration::from_secs(10), output.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.line, "ready");
    let started = Instant::now();
    workload.kill(Duration::from_millis(600)).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(600), "the grace is given: {took:?}");
    assert!(took < Duration::from_secs(5), "then it is forced: {took:?}");
    assert_eq!(workload.wait().await, Exit::Signal(9));
}

#[tokio::test]
async fn when_the_leader_exits_its_leftover_processes_are_killed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = launch(dir.path(), "sleep 100 & echo $!");
    let mut workload = ProcessRuntime::default().start(&spec).await.unwrap();
    let mut output = workload.take_output().unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), workload.wait())
        .await
        .unwrap();
    assert_eq!(exit, Exit::Code(0));
    let pid: i32 = output.recv().await.unwrap().line.parse().unwrap();
    assert_dies(pid).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(10), output.recv())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn dropping_an_unfinished_workload_kills_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let spec = launch(dir.path(), "sleep 100 & echo $!; wait");
    let mut workload = ProcessRuntime::default().start(&spec).await.unwrap();
    let leader = workload.pid().unwrap() as i32;
    let mut output = workload.take_output().unwrap();
    let pid: i32 = output.recv().await.unwrap().line.parse().unwrap();
    drop(workload);
    assert_dies(pid).await;
    assert_dies(leader).await;
}
