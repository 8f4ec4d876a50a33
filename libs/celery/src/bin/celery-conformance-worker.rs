//! `celery-conformance-worker`: a Celery worker with the conformance tasks, for interop tests
//! against Python Celery clients (`tests/celery/`) and for the throughput benchmark.
//!
//! Tasks: `tasks.add(a, b)`, `tasks.mul(a, b)`, `tasks.tsum(xs)`, `tasks.echo(*args, **kwargs)`
//! → `{"args", "kwargs"}`, `tasks.fail(msg)` raises `ValueError(msg)`, `tasks.sleep(s)` → `s`
//! after `s` seconds, `tasks.flaky(n)` retries itself (countdown 1 s) until its retries == n,
//! then returns n. `tasks.noop()` → `None` (the benchmark's task).
//!
//! ```text
//! celery-conformance-worker [--broker URL] [--backend URL] [-Q QUEUE]... [--hostname NAME]
//!     [--concurrency N] [--prefetch N] [--events] [--max-priority N] [--acks-late]
//!     [--time-limit S] [--soft-time-limit S] [--rate-limit TASK=RATE]... [--max-retries N]
//! ```
//! Prints `worker ready` once it consumes; stops gracefully on SIGINT/SIGTERM or `shutdown`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use clap::Parser;
use myelin_celery::{Task, TaskContext, TaskMessage, TaskOutcome, Worker, WorkerConfig, connect, parse_rate};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(name = "celery-conformance-worker", version, about)]
struct Args {
    /// Broker URL: `amqp://...` (RabbitMQ) or `redis://...` (kombu's Redis layout).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    broker: String,
    /// Result backend URL: `redis://...`, `rpc://`, or `disabled`.
    #[arg(long, default_value = "redis://127.0.0.1:6379/0")]
    backend: String,
    /// Queues to consume (repeatable, or comma separated).
    #[arg(short = 'Q', long = "queue", value_delimiter = ',', default_value = "celery")]
    queues: Vec<String>,
    /// Node name; defaults to `celery@<host>`.
    #[arg(short = 'n', long)]
    hostname: Option<String>,
    /// Tasks running at once.
    #[arg(short = 'c', long, default_value_t = 4)]
    concurrency: usize,
    /// Unacknowledged messages held per queue (0: unlimited).
    #[arg(long, default_value_t = 16)]
    prefetch: u16,
    /// Send task events (Celery's `-E`).
    #[arg(short = 'E', long)]
    events: bool,
    /// Declare the queues with `x-max-priority` (Celery's `task_queue_max_priority`).
    #[arg(long)]
    max_priority: Option<u8>,
    /// Ack after the task ran (Celery's `acks_late`); by default acked when it starts, as Celery.
    #[arg(long)]
    acks_late: bool,
    /// Default hard time limit in seconds (a message's `time_limit` wins).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Default soft time limit in seconds.
    #[arg(long)]
    soft_time_limit: Option<f64>,
    /// `TASK=RATE` (Celery's rate strings: `10/s`, `100/m`, `1000/h`); repeatable.
    #[arg(long, value_parser = rate_limit)]
    rate_limit: Vec<(String, f64)>,
    /// Retries each task may ask for before it fails with `MaxRetriesExceededError` (Celery's
    /// `Task.max_retries`); unlimited by default, as the conformance `flaky` task in Python.
    #[arg(long)]
    max_retries: Option<u32>,
}

fn rate_limit(s: &str) -> Result<(String, f64), String> {
    let (task, rate) = s.split_once('=').ok_or("expected TASK=RATE, e.g. tasks.add=10/s")?;
    let rate = parse_rate(rate).ok_or_else(|| format!("'{rate}' is not a rate like 10/s, 100/m or 1000/h"))?;
    Ok((task.to_owned(), rate))
}

fn number(v: Option<&Value>) -> Result<f64, TaskOutcome> {
    v.and_then(Value::as_f64).ok_or_else(|| type_error("expected a number"))
}

fn type_error(message: &str) -> TaskOutcome {
    TaskOutcome::Failure {
        exc_type: "TypeError".into(),
        message: message.into(),
    }
}

/// `a op b` on JSON numbers, staying an integer when both are.
fn arith(msg: &TaskMessage, int: fn(i64, i64) -> Option<i64>, float: fn(f64, f64) -> f64) -> TaskOutcome {
    let (a, b) = (arg(msg, 0, "a"), arg(msg, 1, "b"));
    if let (Some(x), Some(y)) = (a.and_then(Value::as_i64), b.and_then(Value::as_i64))
        && let Some(r) = int(x, y)
    {
        return TaskOutcome::Success(r.into());
    }
    match (number(a), number(b)) {
        (Ok(x), Ok(y)) => TaskOutcome::Success(json!(float(x, y))),
        (Err(e), _) | (_, Err(e)) => e,
    }
}

/// Positional argument `i`, or keyword `name`.
fn arg<'a>(msg: &'a TaskMessage, i: usize, name: &str) -> Option<&'a Value> {
    msg.args.get(i).or_else(|| msg.kwargs.get(name))
}

struct Conformance(&'static str);

#[async_trait]
impl Task for Conformance {
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        match self.0 {
            "add" => arith(&msg, i64::checked_add, |a, b| a + b),
            "mul" => arith(&msg, i64::checked_mul, |a, b| a * b),
            "tsum" => tsum(arg(&msg, 0, "xs")),
            "echo" => TaskOutcome::Success(json!({"args": msg.args, "kwargs": msg.kwargs})),
            "fail" => TaskOutcome::Failure {
                exc_type: "ValueError".into(),
                message: arg(&msg, 0, "msg")
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .unwrap_or_default(),
            },
            "sleep" => {
                let secs = match number(arg(&msg, 0, "s")) {
                    Ok(s) if s.is_finite() && s >= 0.0 => s,
                    Ok(_) => return type_error("sleep needs a non-negative number"),
                    Err(e) => return e,
                };
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs_f64(secs)) => {}
                    () = ctx.cancel.cancelled() => return TaskOutcome::Reject { requeue: false },
                    () = ctx.soft_limit.cancelled() => return TaskOutcome::Failure {
                        exc_type: "SoftTimeLimitExceeded".into(),
                        message: "soft time limit exceeded".into(),
                    },
                }
                TaskOutcome::Success(arg(&msg, 0, "s").cloned().unwrap_or(Value::Null))
            }
            "flaky" => {
                let Some(n) = arg(&msg, 0, "n").and_then(Value::as_u64) else {
                    return type_error("flaky needs a non-negative integer");
                };
                if u64::from(msg.options.retries) >= n {
                    TaskOutcome::Success(n.into())
                } else {
                    TaskOutcome::Retry {
                        countdown: Some(Duration::from_secs(1)),
                    }
                }
            }
            _ => TaskOutcome::Success(Value::Null),
        }
    }
}

fn tsum(xs: Option<&Value>) -> TaskOutcome {
    let Some(xs) = xs.and_then(Value::as_array) else {
        return type_error("tsum needs a list");
    };
    if let Some(total) = xs
        .iter()
        .try_fold(0i64, |acc, x| x.as_i64().and_then(|x| acc.checked_add(x)))
    {
        return TaskOutcome::Success(total.into());
    }
    match xs.iter().map(|x| number(Some(x))).sum::<Result<f64, _>>() {
        Ok(total) => TaskOutcome::Success(json!(total)),
        Err(e) => e,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    myelin_common::install_crypto_provider();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let bus = connect::broker(&args.broker)
        .await
        .with_context(|| format!("cannot connect to the broker {}", args.broker))?;
    let backend = connect::backend(&args.backend, bus.clone())
        .await
        .with_context(|| format!("cannot connect to the result backend {}", args.backend))?;
    let hostname = args
        .hostname
        .unwrap_or_else(|| format!("celery@{}", myelin_celery::protocol::hostname()));
    let config = WorkerConfig {
        hostname,
        queues: args.queues,
        prefetch: args.prefetch,
        concurrency: args.concurrency,
    };
    let mut worker = Worker::new(bus, config)
        .with_broker_url(&args.broker)
        .with_backend(backend)
        .with_task_events(args.events)
        .with_queue_max_priority(args.max_priority)
        .with_acks_late(args.acks_late)
        .with_time_limits(args.time_limit, args.soft_time_limit);
    for short in ["add", "mul", "tsum", "echo", "fail", "sleep", "flaky", "noop"] {
        let name = format!("tasks.{short}");
        if let Some(max) = args.max_retries {
            worker = worker.with_max_retries(&name, max);
        }
        worker.register(name, Arc::new(Conformance(short)));
    }
    for (task, rate) in &args.rate_limit {
        worker = worker.with_rate_limit(task, *rate);
    }
    worker.run(myelin_common::shutdown::signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn msg(args: Value) -> TaskMessage {
        let args = args.as_array().cloned().unwrap_or_default();
        TaskMessage::new("t", args, Map::new())
    }

    #[test]
    fn arithmetic_keeps_integers_and_takes_floats() {
        let add = |m| arith(&m, i64::checked_add, |a, b| a + b);
        assert_eq!(add(msg(json!([2, 3]))), TaskOutcome::Success(5.into()));
        assert_eq!(add(msg(json!([2.5, 3]))), TaskOutcome::Success(json!(5.5)));
        assert!(matches!(add(msg(json!(["x", 3]))), TaskOutcome::Failure { .. }));
        assert_eq!(tsum(Some(&json!([1, 2, 3]))), TaskOutcome::Success(6.into()));
    }
}
