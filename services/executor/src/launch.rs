//! From a dispatched [`ExecuteRun`] to a [`Launch`]: the run's directory, its working directory,
//! its command line and the environment Myelin and the polyaxon client read.
//!
//! Environment given to every run (on top of the job's own `env`, which cannot override these):
//! - `MYELIN_RUN_UUID`, `MYELIN_HOST`, `MYELIN_TOKEN` (the run's own token, signed here with
//!   `run_token_secret`; empty without one), `MYELIN_ARTIFACTS_PATH`;
//! - what the polyaxon client reads to act as a managed run (`polyaxon/_env_vars/keys.py`):
//!   `POLYAXON_HOST`, `POLYAXON_IS_MANAGED=true`, `POLYAXON_API_VERSION=v1`,
//!   `POLYAXON_RUN_INSTANCE=<owner>.<project>.runs.<uuid>`, `POLYAXON_AUTH_TOKEN` (with a token),
//!   `POLYAXON_ARTIFACTS_ROOT`, and `POLYAXON_CONTEXT_ROOT`: a managed client writes its artifacts
//!   under `<context root>/artifacts/<uuid>`, so the context root is the parent of an artifacts root
//!   named `artifacts` (the default); for another name it is `<artifacts root>/.polyaxon-context`,
//!   where `artifacts/<uuid>` is a symlink to the run's directory; `POLYAXON_COLLECT_ARTIFACTS=true`
//!   and `POLYAXON_COLLECT_RESOURCES=true`, so `tracking.log_metrics` writes traceml event files
//!   there ([`crate::collector`] ingests them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use myelin_common::run_token::{RunClaims, RunTokenKey};
use myelin_contracts::execution::ExecuteRun;

/// How long a run token lives when the run has no timeout.
const RUN_TOKEN_DEFAULT_SECS: i64 = 7 * 24 * 3600;
/// What a run token lives past the run's timeout (artifacts and statuses sent at the end).
const RUN_TOKEN_GRACE_SECS: i64 = 3600;

use crate::runtime::Launch;

/// Why a run's launch could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the job has no command")]
    NoCommand,
    #[error("cannot create the run directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What every launch shares.
#[derive(Debug, Clone)]
pub struct Context {
    /// Absolute, `~` expanded.
    pub artifacts_root: PathBuf,
    pub public_host: String,
    /// Signs each run's token (`MYELIN_TOKEN`, `POLYAXON_AUTH_TOKEN`); none: runs get no token.
    pub run_tokens: Option<RunTokenKey>,
}

/// The directory a run owns: `<artifacts root>/<uuid>`.
pub fn run_dir(ctx: &Context, run: &ExecuteRun) -> PathBuf {
    ctx.artifacts_root.join(run.run.to_string())
}

/// Prepares the launch of `run`: creates its directory (and a relative working directory in it).
pub fn prepare(ctx: &Context, run: &ExecuteRun) -> Result<Launch, Error> {
    let mut line = run.process.command.iter().chain(&run.process.args).cloned();
    let program = line.next().filter(|p| !p.is_empty()).ok_or(Error::NoCommand)?;
    let dir = run_dir(ctx, run);
    create_dir(&dir)?;
    let working_dir = match run.process.working_dir.as_deref().filter(|w| !w.is_empty()) {
        None => dir.clone(),
        Some(wd) if Path::new(wd).is_absolute() => PathBuf::from(wd),
        Some(wd) => {
            let wd = dir.join(wd);
            create_dir(&wd)?;
            wd
        }
    };
    let mut env = run.process.env.clone();
    env.extend(platform_env(ctx, run, &dir));
    Ok(Launch {
        run: run.run,
        program,
        args: line.collect(),
        env,
        working_dir,
    })
}

fn create_dir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|source| Error::Directory {
        path: path.to_path_buf(),
        source,
    })
}

/// The variables Myelin sets for `run` (see the module documentation).
fn platform_env(ctx: &Context, run: &ExecuteRun, dir: &Path) -> BTreeMap<String, String> {
    let uuid = run.run.to_string();
    let dir = dir.display().to_string();
    let token = ctx
        .run_tokens
        .as_ref()
        .map(|key| run_token(key, run))
        .unwrap_or_default();
    let mut env = BTreeMap::from([
        ("MYELIN_RUN_UUID".into(), uuid.clone()),
        ("MYELIN_HOST".into(), ctx.public_host.clone()),
        ("MYELIN_TOKEN".into(), token.clone()),
        ("MYELIN_ARTIFACTS_PATH".into(), dir),
        ("POLYAXON_HOST".into(), ctx.public_host.clone()),
        ("POLYAXON_IS_MANAGED".into(), "true".into()),
        ("POLYAXON_API_VERSION".into(), "v1".into()),
        // As Polyaxon's agent does: the client writes its events (and resource usage) as traceml
        // files in the run's directory, which the collector ingests.
        ("POLYAXON_COLLECT_ARTIFACTS".into(), "true".into()),
        ("POLYAXON_COLLECT_RESOURCES".into(), "true".into()),
        (
            "POLYAXON_RUN_INSTANCE".into(),
            format!("{}.{}.runs.{uuid}", run.owner, run.project),
        ),
        (
            "POLYAXON_ARTIFACTS_ROOT".into(),
            ctx.artifacts_root.display().to_string(),
        ),
        (
            "POLYAXON_CONTEXT_ROOT".into(),
            polyaxon_context_root(ctx, &uuid).display().to_string(),
        ),
    ]);
    if !token.is_empty() {
        env.insert("POLYAXON_AUTH_TOKEN".into(), token);
    }
    env
}

/// A token for `run`'s code: its own project's runs, until its timeout (plus a grace) or 7 days.
fn run_token(key: &RunTokenKey, run: &ExecuteRun) -> String {
    let life = run
        .timeout_secs
        .and_then(|secs| i64::try_from(secs).ok())
        .map_or(RUN_TOKEN_DEFAULT_SECS, |secs| secs.saturating_add(RUN_TOKEN_GRACE_SECS));
    key.sign(&RunClaims {
        run: run.run.to_string(),
        owner: run.owner.clone(),
        project: run.project.clone(),
        exp: Utc::now().timestamp().saturating_add(life),
    })
}

/// The `POLYAXON_CONTEXT_ROOT` under which `artifacts/<uuid>` is the run's directory.
fn polyaxon_context_root(ctx: &Context, uuid: &str) -> PathBuf {
    let root = &ctx.artifacts_root;
    if let (Some(parent), Some("artifacts")) = (root.parent(), root.file_name().and_then(|n| n.to_str())) {
        return parent.to_path_buf();
    }
    let context = root.join(".polyaxon-context");
    let link = context.join("artifacts").join(uuid);
    let linked =
        std::fs::create_dir_all(context.join("artifacts")).and_then(|()| match std::fs::symlink_metadata(&link) {
            Ok(_) => Ok(()),
            Err(_) => std::os::unix::fs::symlink(root.join(uuid), &link),
        });
    if let Err(err) = linked {
        tracing::warn!(error = %err, link = %link.display(), "cannot link the run directory for the polyaxon client");
    }
    context
}

#[cfg(test)]
mod tests {
    use myelin_contracts::RunUuid;
    use myelin_contracts::execution::JobProcess;

    use super::*;

    fn execute_run(command: &[&str], args: &[&str], working_dir: Option<&str>) -> ExecuteRun {
        ExecuteRun {
            owner: "acme".into(),
            project: "demo".into(),
            run: RunUuid::new(),
            name: None,
            attempt: 1,
            queue: "default".into(),
            process: JobProcess {
                image: None,
                command: command.iter().map(|s| s.to_string()).collect(),
                args: args.iter().map(|s| s.to_string()).collect(),
                env: BTreeMap::from([
                    ("MINE".into(), "1".into()),
                    ("MYELIN_RUN_UUID".into(), "spoofed".into()),
                ]),
                working_dir: working_dir.map(str::to_owned),
            },
            timeout_secs: None,
            compiled: serde_json::Value::Null,
        }
    }

    fn context(root: &Path) -> Context {
        Context {
            artifacts_root: root.to_path_buf(),
            public_host: "http://h:8000".into(),
            run_tokens: None,
        }
    }

    #[test]
    fn builds_the_command_line_directories_and_environment() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("artifacts");
        let run = execute_run(&["python3", "-u"], &["train.py", "--lr=0.1"], Some("src"));
        let launch = prepare(&context(&root), &run).unwrap();
        let dir = root.join(run.run.to_string());
        assert_eq!(launch.program, "python3");
        assert_eq!(launch.args, vec!["-u", "train.py", "--lr=0.1"]);
        assert_eq!(launch.working_dir, dir.join("src"));
        assert!(launch.working_dir.is_dir());
        let env = &launch.env;
        assert_eq!(env["MINE"], "1");
        assert_eq!(
            env["MYELIN_RUN_UUID"],
            run.run.to_string(),
            "the job cannot override it"
        );
        assert_eq!(env["MYELIN_ARTIFACTS_PATH"], dir.display().to_string());
        assert_eq!(env["MYELIN_TOKEN"], "");
        assert!(!env.contains_key("POLYAXON_AUTH_TOKEN"));
        assert_eq!(env["POLYAXON_RUN_INSTANCE"], format!("acme.demo.runs.{}", run.run));
        assert_eq!(env["POLYAXON_IS_MANAGED"], "true");
        assert_eq!(env["POLYAXON_COLLECT_ARTIFACTS"], "true");
        assert_eq!(env["POLYAXON_HOST"], "http://h:8000");
        // The polyaxon client's artifacts path `<context root>/artifacts/<uuid>` is the run directory.
        assert_eq!(
            Path::new(&env["POLYAXON_CONTEXT_ROOT"])
                .join("artifacts")
                .join(run.run.to_string()),
            dir
        );
    }

    #[test]
    fn other_roots_get_a_linked_context_and_args_alone_make_a_command() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let mut ctx = context(&root);
        let key = RunTokenKey::new(&secrecy::SecretString::from("k"));
        ctx.run_tokens = Some(key.clone());
        let run = execute_run(&[], &["sh", "-c", "true"], Some("/"));
        let launch = prepare(&ctx, &run).unwrap();
        assert_eq!((launch.program.as_str(), launch.args.len()), ("sh", 2));
        assert_eq!(launch.working_dir, PathBuf::from("/"));
        let token = &launch.env["POLYAXON_AUTH_TOKEN"];
        assert_eq!(&launch.env["MYELIN_TOKEN"], token);
        let claims = key.verify(token, Utc::now()).unwrap();
        assert_eq!(
            (claims.run, claims.owner.as_str(), claims.project.as_str()),
            (run.run.to_string(), "acme", "demo")
        );
        let life = claims.exp - Utc::now().timestamp();
        assert!(
            (RUN_TOKEN_DEFAULT_SECS - 60..=RUN_TOKEN_DEFAULT_SECS).contains(&life),
            "{life}"
        );
        let seen = Path::new(&launch.env["POLYAXON_CONTEXT_ROOT"])
            .join("artifacts")
            .join(run.run.to_string());
        assert_eq!(
            seen.canonicalize().unwrap(),
            root.join(run.run.to_string()).canonicalize().unwrap()
        );

        let empty = execute_run(&[], &[], None);
        assert!(matches!(prepare(&ctx, &empty), Err(Error::NoCommand)));
    }
}
