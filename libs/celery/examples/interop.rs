//! A tiny Celery peer on RabbitMQ, to check interoperability with Python Celery by hand
//! (`tests/golden/interop.py` drives it).
//!
//! - `interop worker QUEUE HOSTNAME`: a worker with `myelin.echo` (prints the message as one JSON
//!   line and succeeds) and `myelin.wait` (waits for its cancel token or 30 s, prints
//!   `{"id", "cancelled"}`); stops on Ctrl-C or when stdin closes.
//! - `interop send QUEUE TASK ARGS_JSON KWARGS_JSON`: publishes one task message.
//! - `interop revoke TASK_ID`: broadcasts `revoke(terminate=True)`.
//!
//! The broker is `AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use myelin_celery::{Producer, Task, TaskContext, TaskMessage, TaskOutcome, Worker, WorkerConfig, control};
use myelin_common::bus::SharedBus;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

struct Echo;

#[async_trait]
impl Task for Echo {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        let line = json!({
            "id": msg.id, "task": msg.task, "args": msg.args, "kwargs": msg.kwargs,
            "retries": msg.options.retries, "eta": msg.options.eta, "redelivered": ctx.redelivered,
        });
        println!("{line}");
        TaskOutcome::Success(Value::Null)
    }
}

struct Wait;

#[async_trait]
impl Task for Wait {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        println!("{}", json!({"id": msg.id, "started": true}));
        let cancelled = tokio::select! {
            () = ctx.cancel.cancelled() => true,
            () = tokio::time::sleep(Duration::from_secs(30)) => false,
        };
        println!("{}", json!({"id": msg.id, "cancelled": cancelled}));
        TaskOutcome::Success(Value::Null)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    myelin_common::install_crypto_provider();
    let url = std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let bus: SharedBus = Arc::new(
        AmqpBus::connect(&url, AmqpSettings::default())
            .await
            .context("connect")?,
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["worker", queue, hostname] => {
            let config = WorkerConfig {
                hostname: (*hostname).to_owned(),
                queues: vec![(*queue).to_owned()],
                prefetch: 4,
                concurrency: 2,
            };
            let mut worker = Worker::new(bus, config);
            worker.register("myelin.echo", Arc::new(Echo));
            worker.register("myelin.wait", Arc::new(Wait));
            let shutdown = CancellationToken::new();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let (mut stdin, mut sink) = (tokio::io::stdin(), Vec::new());
                let stdin_closed = stdin.read_to_end(&mut sink);
                tokio::select! { _ = stdin_closed => {}, _ = tokio::signal::ctrl_c() => {} }
                stop.cancel();
            });
            println!("{}", json!({"ready": true}));
            worker.run(shutdown).await?;
        }
        ["send", queue, task, a, k] => {
            let msg = TaskMessage::new(*task, serde_json::from_str(a)?, serde_json::from_str(k)?);
            let producer = Producer::new(bus);
            producer.declare_queue(queue).await?;
            producer.send(queue, &msg).await?;
            println!("{}", json!({"id": msg.id}));
        }
        ["revoke", id] => control::revoke(&bus, &[(*id).to_owned()], true, control::TERM_SIGNAL).await?,
        _ => bail!("usage: interop worker QUEUE HOSTNAME | send QUEUE TASK ARGS KWARGS | revoke TASK_ID"),
    }
    Ok(())
}
