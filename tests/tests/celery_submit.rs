#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Celery-style submission into Myelin (`services/executor/src/submit/`), on a real platform:
//! `myelin server` (gateway with access control, tracker, scheduler, executor) started as a process.
//!
//! 1. The tasks called directly (`Task::run`) against that platform: `myelin.submit` of an inline
//!    Polyaxonfile whose job sets its outputs through the API with its own run token returns those
//!    outputs; a failing run fails with `RunFailed` and its status message; a component task
//!    (`train`) runs its file with the kwargs as params; an unknown component, a bad
//!    Polyaxonfile, a redelivery (same task id: same run), a revoke (the run is stopped) and
//!    `myelin.status`.
//! 2. Through RabbitMQ: the real `executor` binary with `api_token` set consumes `celery` on a
//!    private vhost; `myelin.submit` and `train` messages sent by `myelin_celery::Producer` create
//!    runs that succeed with the params and outputs (checked on the tracker: result backends are
//!    not part of this test).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use myelin_celery::backend::{RedisBackend, ResultBackend, TaskState};
use myelin_celery::{Producer, Task, TaskContext, TaskMessage, TaskOutcome};
use myelin_client::Client;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_contracts::{CreateProject, ListQuery, Run, Statuses};
use myelin_e2e::vhost::Vhost;
use myelin_e2e::{Proc, binary, free_port, unique_suffix};
use myelin_executor::submit::request::ProjectRef;
use myelin_executor::submit::wait::Poll;
use myelin_executor::submit::{ComponentTask, StatusTask, SubmitTask, Submitter};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// A job that sets its run's outputs to `{"loss": <lr>, "seen": "yes"}` with its own token.
fn outputs_job(project: &str) -> String {
    format!(
        r#"version: 1.1
kind: component
name: set-outputs
inputs:
  - {{name: lr, type: float}}
run:
  kind: job
  container:
    image: busybox
    command: [sh, -c]
    args:
      - >-
        curl -sf -X PATCH -H "Authorization: Token $MYELIN_TOKEN" -H 'Content-Type: application/json'
        -d '{{"outputs": {{"loss": {{{{ lr }}}}, "seen": "yes"}}, "merge": true}}'
        "$MYELIN_HOST/api/v1/{project}/runs/$MYELIN_RUN_UUID"
"#
    )
}

const FAILING: &str = "version: 1.1\nkind: component\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [sh, -c, 'echo boom; exit 3']\n";
const SLEEPING: &str =
    "version: 1.1\nkind: component\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [sleep, '60']\n";
const BAD: &str = "version: 1.1\nkind: component\nrun:\n  kind: jobz\n  container: {image: busybox}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn celery_clients_submit_runs_and_get_their_outputs() {
    myelin_e2e::init();
    let data = tempfile::tempdir().unwrap();
    let program = binary("myelin").unwrap_or_else(|e| panic!("{e:#}"));
    let data_dir = data.path().join("server");
    let mut server = Proc::spawn(
        "myelin-server",
        &program,
        &["server", "--data-dir", data_dir.to_str().unwrap(), "--port", "0"],
        [
            ("RUST_LOG", "warn"),
            ("MYELIN_ADMIN_PASSWORD", myelin_e2e::ADMIN_PASSWORD),
        ],
    )
    .unwrap();
    let url = server
        .wait_stdout_line(Duration::from_secs(30), |line| {
            line.strip_prefix("Myelin is ready at ").map(str::to_owned)
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let platform = Platform::new(&url, data.path())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    let direct = platform.direct_calls();
    let broker = platform.through_rabbitmq();
    let (direct, broker) = tokio::join!(direct, broker);
    let mut failures = vec![];
    if let Err(err) = direct {
        failures.push(format!("direct calls: {err:#}"));
    }
    if let Err(err) = broker {
        failures.push(format!("through RabbitMQ: {err:#}"));
    }
    if !failures.is_empty() {
        panic!("{}\n\nserver logs:\n{}", failures.join("\n\n"), server.logs());
    }
}

/// The running server, a token, a project and the component file `train`.
struct Platform {
    url: String,
    token: String,
    client: Client,
    project: ProjectRef,
    train: std::path::PathBuf,
    data: std::path::PathBuf,
}

impl Platform {
    async fn new(url: &str, data: &std::path::Path) -> anyhow::Result<Self> {
        let token = myelin_e2e::login(url, "admin", myelin_e2e::ADMIN_PASSWORD).await?;
        let client = Client::new(url, Some(token.clone()))?;
        let name = format!("celery-{}", unique_suffix());
        client
            .create_project(
                "default",
                &CreateProject {
                    name: name.clone(),
                    ..CreateProject::default()
                },
            )
            .await?;
        let project = ProjectRef {
            owner: "default".into(),
            name,
        };
        let train = data.join("train.yaml");
        std::fs::write(&train, outputs_job(&project.to_string()))?;
        Ok(Self {
            url: url.to_owned(),
            token,
            client,
            project,
            train,
            data: data.to_owned(),
        })
    }

    fn submitter(&self) -> anyhow::Result<Arc<Submitter>> {
        Ok(Arc::new(Submitter {
            client: Client::new(&self.url, Some(self.token.clone()))?,
            components: BTreeMap::from([("train".to_owned(), self.train.clone())]),
            default_project: Some(self.project.clone()),
            poll: Poll {
                min: Duration::from_millis(100),
                max: Duration::from_millis(500),
                timeout: Some(Duration::from_secs(120)),
            },
            shutdown: CancellationToken::new(),
        }))
    }

    /// Part 1: the tasks called directly.
    async fn direct_calls(&self) -> anyhow::Result<()> {
        let submitter = self.submitter()?;
        let submit = SubmitTask(submitter.clone());
        let project = self.project.to_string();

        // An inline Polyaxonfile with params: the run's outputs.
        let msg = task_message(
            "myelin.submit",
            json!({"project": project, "content": outputs_job(&project), "params": {"lr": 0.1}}),
        );
        let outcome = submit.run(context(&msg, false), msg.clone()).await;
        ensure!(
            outcome == TaskOutcome::Success(json!({"loss": 0.1, "seen": "yes"})),
            "submit: {outcome:?}"
        );
        let run = self.run_of(&msg.id).await?;
        ensure!(run.status == Statuses::Succeeded, "status {}", run.status);
        ensure!(
            run.inputs.as_ref().map(|i| &i["lr"]) == Some(&json!(0.1)),
            "inputs {:?}",
            run.inputs
        );

        // A redelivery of the same task finds the same run.
        let again = submit.run(context(&msg, true), msg.clone()).await;
        ensure!(again == outcome, "redelivered: {again:?}");
        let same = self.runs_of(&msg.id).await?;
        ensure!(same.len() == 1, "a redelivery created another run: {}", same.len());

        // myelin.status.
        let status = StatusTask(submitter.clone());
        let msg = task_message(
            "myelin.status",
            json!({"uuid": run.uuid.to_string(), "project": project}),
        );
        let TaskOutcome::Success(doc) = status.run(context(&msg, false), msg).await else {
            bail!("myelin.status failed")
        };
        ensure!(doc["status"] == "succeeded" && doc["is_done"] == true, "status: {doc}");
        ensure!(doc["outputs"]["loss"] == 0.1, "status outputs: {doc}");

        // A failing run: RunFailed with its status and message.
        let msg = task_message("myelin.submit", json!({"content": FAILING}));
        let outcome = submit.run(context(&msg, false), msg.clone()).await;
        let expected = TaskOutcome::Failure {
            exc_type: "RunFailed".into(),
            message: "failed: exited with code 3".into(),
        };
        ensure!(outcome == expected, "failing run: {outcome:?}");

        // A component task, kwargs as params.
        let train = ComponentTask::new(submitter.clone(), "train");
        let msg = task_message("train", json!({"lr": 0.25}));
        let outcome = train.run(context(&msg, false), msg.clone()).await;
        ensure!(
            outcome == TaskOutcome::Success(json!({"loss": 0.25, "seen": "yes"})),
            "component task: {outcome:?}"
        );
        let run = self.run_of(&msg.id).await?;
        ensure!(
            run.inputs.as_ref().map(|i| &i["lr"]) == Some(&json!(0.25)),
            "inputs {:?}",
            run.inputs
        );

        // `component` naming something not configured.
        let msg = task_message("myelin.submit", json!({"component": "nope"}));
        let outcome = submit.run(context(&msg, false), msg.clone()).await;
        let TaskOutcome::Failure { exc_type, message } = &outcome else {
            bail!("unknown component: {outcome:?}")
        };
        ensure!(
            exc_type == "NotRegistered" && message.contains("`nope`") && message.contains("train"),
            "{outcome:?}"
        );
        ensure!(self.runs_of(&msg.id).await?.is_empty(), "a run was created");

        // An invalid Polyaxonfile: the field path, nothing created.
        let msg = task_message("myelin.submit", json!({"content": BAD}));
        let outcome = submit.run(context(&msg, false), msg.clone()).await;
        let TaskOutcome::Failure { exc_type, message } = &outcome else {
            bail!("bad Polyaxonfile: {outcome:?}")
        };
        ensure!(
            exc_type == "InvalidPolyaxonfile" && message.contains("run.kind"),
            "{outcome:?}"
        );
        ensure!(self.runs_of(&msg.id).await?.is_empty(), "a run was created");

        // A param value of the wrong type.
        let msg = task_message(
            "myelin.submit",
            json!({"content": outputs_job(&project), "params": {"lr": "not a float"}}),
        );
        let outcome = submit.run(context(&msg, false), msg.clone()).await;
        ensure!(
            matches!(&outcome, TaskOutcome::Failure { exc_type, message }
                if exc_type == "InvalidPolyaxonfile" && message.contains("params.lr")),
            "bad param: {outcome:?}"
        );
        ensure!(self.runs_of(&msg.id).await?.is_empty(), "a run was created");

        // A revoke with terminate stops the run.
        let msg = task_message("myelin.submit", json!({"content": SLEEPING}));
        let ctx = context(&msg, false);
        let cancel = ctx.cancel.clone();
        let running = tokio::spawn({
            let submit = SubmitTask(submitter.clone());
            let msg = msg.clone();
            async move { submit.run(ctx, msg).await }
        });
        let run = self.wait_for(&msg.id, |run| run.status == Statuses::Running).await?;
        cancel.cancel();
        let outcome = running.await?;
        ensure!(
            matches!(&outcome, TaskOutcome::Failure { exc_type, .. } if exc_type == "TaskRevokedError"),
            "revoked: {outcome:?}"
        );
        let stopped = self.wait_for(&msg.id, |run| run.status.is_done()).await?;
        ensure!(
            stopped.status == Statuses::Stopped,
            "run {} of a revoked task is {}",
            run.uuid,
            stopped.status
        );
        Ok(())
    }

    /// Part 2: the `executor` binary consuming `celery` on RabbitMQ.
    async fn through_rabbitmq(&self) -> anyhow::Result<()> {
        let vhost = Vhost::create()?;
        let amqp = vhost.amqp_url();
        let port = free_port()?;
        let mut executor = Proc::spawn(
            "executor",
            &binary("executor")?,
            &[],
            [
                ("RUST_LOG", "info".to_owned()),
                ("MYELIN_EXECUTOR__LISTEN", format!("127.0.0.1:{port}")),
                ("MYELIN_EXECUTOR__AMQP_URL", amqp.clone()),
                ("MYELIN_EXECUTOR__REDIS_URL", myelin_e2e::redis_url()),
                (
                    "MYELIN_EXECUTOR__REDIS__KEY_PREFIX",
                    format!("celery-submit-{}:", unique_suffix()),
                ),
                (
                    "MYELIN_EXECUTOR__ARTIFACTS_ROOT",
                    self.data.join("executor").display().to_string(),
                ),
                ("MYELIN_EXECUTOR__HOSTNAME", format!("executor-{}@e2e", unique_suffix())),
                ("MYELIN_EXECUTOR__API_URL", self.url.clone()),
                ("MYELIN_EXECUTOR__API_TOKEN", self.token.clone()),
                ("MYELIN_EXECUTOR__CELERY_PROJECT", self.project.to_string()),
                ("MYELIN_EXECUTOR__CELERY_TASKS__TRAIN", self.train.display().to_string()),
                ("MYELIN_EXECUTOR__CELERY_POLL_MIN_MS", "100".into()),
                ("MYELIN_EXECUTOR__CELERY_RESULT_BACKEND", myelin_e2e::redis_url()),
            ],
        )?;
        let result = self.send_through(&amqp, &mut executor, port).await;
        result.with_context(|| format!("executor logs:\n{}", executor.logs()))
    }

    async fn send_through(&self, amqp: &str, executor: &mut Proc, port: u16) -> anyhow::Result<()> {
        executor
            .wait_ready(&format!("http://127.0.0.1:{port}"), Duration::from_secs(30))
            .await?;
        let bus = AmqpBus::connect(amqp, AmqpSettings::default()).await?;
        let producer = Producer::new(Arc::new(bus));
        producer.declare_queue("celery").await?;
        let project = self.project.to_string();
        let submit = task_message(
            "myelin.submit",
            json!({"project": project, "content": outputs_job(&project), "params": {"lr": 0.5}}),
        );
        let train = task_message("train", json!({"lr": 0.75}));
        producer.send("celery", &submit).await?;
        producer.send("celery", &train).await?;
        for (msg, lr) in [(&submit, 0.5), (&train, 0.75)] {
            let run = self.wait_for(&msg.id, |run| run.status.is_done()).await?;
            ensure!(run.status == Statuses::Succeeded, "{}: {}", msg.task, run.status);
            ensure!(
                run.inputs.as_ref().map(|i| &i["lr"]) == Some(&json!(lr)),
                "{}: inputs {:?}",
                msg.task,
                run.inputs
            );
            ensure!(
                run.outputs == Some(json!({"loss": lr, "seen": "yes"})),
                "{}: outputs {:?}",
                msg.task,
                run.outputs
            );
            ensure!(run.meta_info.as_ref().map(|m| &m["celery_task"]) == Some(&json!(msg.task)));
            // What a Python client's `AsyncResult(id).get()` reads: the run's outputs.
            let backend = RedisBackend::connect(&myelin_e2e::redis_url()).await?;
            let meta = backend.wait(&msg.id, Duration::from_secs(30)).await?;
            ensure!(meta.status == TaskState::Success, "{}: {:?}", msg.task, meta);
            ensure!(
                meta.result == json!({"loss": lr, "seen": "yes"}),
                "{}: {:?}",
                msg.task,
                meta.result
            );
        }
        self.python_send_task(amqp).await
    }

    /// What the issue promises, from Python Celery itself: `app.send_task('train', kwargs=...)`
    /// runs the component and `AsyncResult.get()` returns its outputs.
    async fn python_send_task(&self, amqp: &str) -> anyhow::Result<()> {
        let venv = std::env::var_os("MYELIN_VENV")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv")));
        let python = venv.join("bin/python");
        ensure!(
            python.exists(),
            "no Python Celery at {} (set MYELIN_VENV)",
            python.display()
        );
        let script = r#"
import json, sys
from celery import Celery
app = Celery("client", broker=sys.argv[1], backend=sys.argv[2])
result = app.send_task("train", kwargs={"lr": 0.25})
print(json.dumps({"id": result.id, "outputs": result.get(timeout=60)}))
"#;
        let out = tokio::time::timeout(
            Duration::from_secs(90),
            tokio::process::Command::new(&python)
                .arg("-c")
                .arg(script)
                .arg(amqp)
                .arg(myelin_e2e::redis_url())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .context("python send_task timed out")??;
        ensure!(
            out.status.success(),
            "python send_task failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: Value = serde_json::from_slice(&out.stdout)?;
        ensure!(answer["outputs"] == json!({"loss": 0.25, "seen": "yes"}), "{answer}");
        let run = self.run_of(answer["id"].as_str().unwrap_or_default()).await?;
        ensure!(run.status == Statuses::Succeeded, "{}", run.status);
        Ok(())
    }

    /// The runs created for Celery task `id`.
    async fn runs_of(&self, id: &str) -> anyhow::Result<Vec<Run>> {
        let query = ListQuery {
            query: Some(format!("meta_info.celery_task_id:\"{id}\"")),
            ..ListQuery::default()
        };
        let list = self
            .client
            .list_runs(&self.project.owner, &self.project.name, &query)
            .await?;
        Ok(list.results)
    }

    /// The one run created for Celery task `id`.
    async fn run_of(&self, id: &str) -> anyhow::Result<Run> {
        let mut runs = self.runs_of(id).await?;
        ensure!(runs.len() == 1, "{} runs for task {id}", runs.len());
        Ok(runs.remove(0))
    }

    /// Polls the run of task `id` until `done(run)` (60 s at most).
    async fn wait_for(&self, id: &str, done: impl Fn(&Run) -> bool) -> anyhow::Result<Run> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let runs = self.runs_of(id).await?;
            if let Some(run) = runs.into_iter().next() {
                if done(&run) {
                    return Ok(run);
                }
                if tokio::time::Instant::now() > deadline {
                    bail!("run {} of task {id} still {}", run.uuid, run.status);
                }
            } else if tokio::time::Instant::now() > deadline {
                bail!("no run for task {id}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn task_message(task: &str, kwargs: Value) -> TaskMessage {
    let kwargs: Map<String, Value> = kwargs.as_object().cloned().unwrap();
    TaskMessage::new(task, vec![], kwargs)
}

fn context(msg: &TaskMessage, redelivered: bool) -> TaskContext {
    TaskContext {
        task_id: msg.id.clone(),
        hostname: "test@e2e".into(),
        redelivered,
        cancel: CancellationToken::new(),
        soft_limit: CancellationToken::new(),
    }
}
