#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The worker suite: every case is written once against `SharedBus` and run on both adapters,
//! `MemoryBus` (module `memory`) and RabbitMQ through `AmqpBus` (module `rabbitmq`, broker at
//! `AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`; an unreachable broker fails the
//! tests). Each case uses its own queue and worker names and deletes what it declared; workers
//! share the `celery.pidbox` exchange, as Celery workers do.
//!
//! Run: `cargo test -p myelin-celery --test worker_suite`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use myelin_celery::{Producer, Task, TaskContext, TaskMessage, TaskOutcome, Worker, WorkerConfig, control};
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::bus::memory::MemoryBus;
use myelin_common::bus::{ConsumeOptions, Consumer, Delivery, ExchangeKind, OutgoingMessage, QueueSpec, SharedBus};
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// Longest wait for anything that should happen.
const WAIT: Duration = Duration::from_secs(10);
/// How long nothing must happen when a case checks that nothing happens.
const QUIET: Duration = Duration::from_millis(400);

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn unique_prefix(case: &str) -> String {
    format!("myelin-test.celery.{case}.{}", uuid::Uuid::new_v4().simple())
}

async fn memory_bus(_prefix: &str) -> SharedBus {
    Arc::new(MemoryBus::new())
}

async fn rabbitmq_bus(prefix: &str) -> SharedBus {
    let settings = AmqpSettings {
        connection_name: prefix.to_owned(),
        ..AmqpSettings::default()
    };
    let url = amqp_url();
    match AmqpBus::connect(&url, settings).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!("RabbitMQ must be reachable at AMQP_URL ({url}): {e}"),
    }
}

/// A task made of a closure.
struct FnTask<F>(F);

#[async_trait]
impl<F, Fut> Task for FnTask<F>
where
    F: Fn(TaskContext, TaskMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TaskOutcome> + Send + 'static,
{
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
        (self.0)(ctx, msg).await
    }
}

fn task<F, Fut>(f: F) -> Arc<dyn Task>
where
    F: Fn(TaskContext, TaskMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TaskOutcome> + Send + 'static,
{
    Arc::new(FnTask(f))
}

/// What a recording task saw.
#[derive(Debug, Clone)]
struct Seen {
    ctx: TaskContext,
    msg: TaskMessage,
    at: chrono::DateTime<Utc>,
}

/// A task that reports each run on a channel, waits for `gate` (if any), then succeeds.
fn recorder(tx: mpsc::UnboundedSender<Seen>, gate: Option<Arc<Semaphore>>) -> Arc<dyn Task> {
    task(move |ctx, msg| {
        let (tx, gate) = (tx.clone(), gate.clone());
        async move {
            tx.send(Seen {
                ctx,
                msg,
                at: Utc::now(),
            })
            .unwrap();
            if let Some(gate) = gate {
                gate.acquire().await.unwrap().forget();
            }
            TaskOutcome::Success(Value::Null)
        }
    })
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    match timeout(WAIT, rx.recv()).await {
        Ok(Some(v)) => v,
        Ok(None) => panic!("{what}: channel closed"),
        Err(_) => panic!("{what}: nothing within {WAIT:?}"),
    }
}

async fn assert_quiet<T: std::fmt::Debug>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) {
    if let Ok(got) = timeout(QUIET, rx.recv()).await {
        panic!("{what}: expected nothing, got {got:?}");
    }
}

/// One case's queue, producer and workers.
struct Harness {
    bus: SharedBus,
    prefix: String,
    queue: String,
    producer: Producer,
}

struct Running {
    shutdown: CancellationToken,
    handle: JoinHandle<myelin_celery::Result<()>>,
}

impl Running {
    /// Graceful stop: returns what `run` returned.
    async fn stop(self) -> myelin_celery::Result<()> {
        self.shutdown.cancel();
        timeout(WAIT, self.handle)
            .await
            .expect("worker did not stop in time")
            .unwrap()
    }

    /// Kills the worker the hard way (its `run` future is dropped).
    async fn abort(self) {
        self.handle.abort();
        assert!(self.handle.await.unwrap_err().is_cancelled());
    }
}

impl Harness {
    async fn new(bus: SharedBus, prefix: &str) -> Self {
        let queue = format!("{prefix}.q");
        let producer = Producer::new(bus.clone());
        producer.declare_queue(&queue).await.unwrap();
        Self {
            bus,
            prefix: prefix.to_owned(),
            queue,
            producer,
        }
    }

    fn config(&self, name: &str, prefetch: u16, concurrency: usize) -> WorkerConfig {
        WorkerConfig {
            hostname: format!("{name}@{}", self.prefix),
            queues: vec![self.queue.clone()],
            prefetch,
            concurrency,
        }
    }

    fn worker(&self, name: &str, prefetch: u16, concurrency: usize, tasks: Vec<(&str, Arc<dyn Task>)>) -> Worker {
        let mut worker = Worker::new(self.bus.clone(), self.config(name, prefetch, concurrency));
        for (name, task) in tasks {
            worker.register(name, task);
        }
        worker
    }

    fn start(&self, worker: Worker) -> Running {
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        Running { shutdown, handle }
    }

    async fn send(&self, msg: &TaskMessage) {
        self.producer.send(&self.queue, msg).await.unwrap();
    }

    /// Asserts the queue holds nothing (every message was settled for good) and cleans up.
    async fn assert_drained_and_cleanup(self) {
        let mut consumer = self.consume().await;
        if let Ok(Some(item)) = timeout(QUIET, consumer.next()).await {
            let d = item.unwrap();
            panic!("queue should be empty, holds {:?}", String::from_utf8_lossy(&d.body));
        }
        drop(consumer);
        self.cleanup().await;
    }

    async fn consume(&self) -> Consumer {
        self.bus
            .consume(&self.queue, ConsumeOptions { prefetch: 10 })
            .await
            .unwrap()
    }

    async fn cleanup(self) {
        self.bus.delete_queue(&self.queue).await.unwrap();
        self.bus.delete_exchange(&self.queue).await.unwrap();
    }
}

async fn next_delivery(consumer: &mut Consumer) -> Delivery {
    match timeout(WAIT, consumer.next()).await {
        Ok(Some(Ok(d))) => d,
        other => panic!(
            "expected a delivery, got {:?}",
            other.map(|o| o.map(|r| r.map(|d| d.routing_key)))
        ),
    }
}

fn msg(task: &str, args: Vec<Value>) -> TaskMessage {
    TaskMessage::new(task, args, Map::new())
}

mod cases {
    use super::*;

    /// A task runs with its arguments and context; its message is acked.
    pub async fn runs_and_acks(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let worker = h.worker("w", 4, 2, vec![("t.rec", recorder(tx, None))]);
        let running = h.start(worker);
        let mut m = msg("t.rec", vec![json!(1), json!("a")]);
        m.kwargs.insert("k".into(), json!({"nested": [true]}));
        // The defaults the wire fills in, set explicitly so that the decoded message is equal.
        m.options.priority = Some(0);
        m.options.root_id = Some(m.id.clone());
        m.options.origin = Some("test@here".into());
        h.send(&m).await;
        let seen = recv(&mut rx, "task run").await;
        assert_eq!(seen.msg, m);
        assert_eq!(seen.ctx.task_id, m.id);
        assert_eq!(seen.ctx.hostname, format!("w@{p}"));
        assert!(!seen.ctx.redelivered && !seen.ctx.cancel.is_cancelled());
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// Late ack: a worker dropped mid-task leaves its message to the next worker, redelivered.
    pub async fn late_ack_redelivers_when_a_worker_dies(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let stuck = task(move |ctx, _msg| {
            let tx = started_tx.clone();
            async move {
                tx.send(ctx.task_id).unwrap();
                std::future::pending::<()>().await;
                TaskOutcome::Success(Value::Null)
            }
        });
        let first = h.start(h.worker("first", 1, 1, vec![("t.work", stuck)]));
        let m = msg("t.work", vec![]);
        h.send(&m).await;
        assert_eq!(recv(&mut started, "first worker started").await, m.id);
        first.abort().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let second = h.start(h.worker("second", 1, 1, vec![("t.work", recorder(tx, None))]));
        let seen = recv(&mut rx, "second worker run").await;
        assert_eq!(seen.msg.id, m.id);
        assert!(seen.ctx.redelivered, "the second delivery must be flagged redelivered");
        second.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// Runs `n` blocking tasks and checks exactly `expected` start before the gate opens.
    async fn bounded(h: &Harness, prefetch: u16, concurrency: usize, expected: usize) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(0));
        let worker = h.worker(
            "w",
            prefetch,
            concurrency,
            vec![("t.block", recorder(tx, Some(gate.clone())))],
        );
        for _ in 0..5 {
            h.send(&msg("t.block", vec![])).await;
        }
        let running = h.start(worker);
        for i in 0..expected {
            recv(&mut rx, &format!("start #{i}")).await;
        }
        assert_quiet(&mut rx, "no more tasks while the first ones hold their slots").await;
        gate.add_permits(100);
        for i in expected..5 {
            recv(&mut rx, &format!("start #{i}")).await;
        }
        running.stop().await.unwrap();
    }

    /// With prefetch 2 a worker holds (and so runs) at most 2 messages, whatever its concurrency.
    pub async fn prefetch_bounds_held_messages(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        bounded(&h, 2, 10, 2).await;
        h.assert_drained_and_cleanup().await;
    }

    /// With concurrency 2 at most 2 tasks run at once, whatever the prefetch.
    pub async fn concurrency_bounds_running_tasks(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        bounded(&h, 10, 2, 2).await;
        h.assert_drained_and_cleanup().await;
    }

    /// Unknown tasks and malformed messages are rejected for good; the worker goes on.
    pub async fn unknown_and_malformed_are_rejected(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let running = h.start(h.worker("w", 4, 2, vec![("t.known", recorder(tx, None))]));
        h.send(&msg("t.unknown", vec![])).await;
        let mut garbage = OutgoingMessage::new(b"{not json".to_vec());
        garbage.properties.content_type = Some("application/json".into());
        h.bus.publish("", &h.queue, garbage).await.unwrap();
        let known = msg("t.known", vec![]);
        h.send(&known).await;
        assert_eq!(recv(&mut rx, "known task").await.msg.id, known.id);
        assert_quiet(&mut rx, "nothing else runs").await;
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// `Retry` republishes the message with retries + 1 and an ETA; it runs again after it.
    pub async fn retry_republishes_with_an_eta(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let flaky = task(move |ctx, msg| {
            let tx = tx.clone();
            async move {
                let retries = msg.options.retries;
                tx.send(Seen {
                    ctx,
                    msg,
                    at: Utc::now(),
                })
                .unwrap();
                if retries == 0 {
                    TaskOutcome::Retry {
                        countdown: Some(Duration::from_millis(300)),
                    }
                } else {
                    TaskOutcome::Success(json!("done"))
                }
            }
        });
        let running = h.start(h.worker("w", 4, 2, vec![("t.flaky", flaky)]));
        let m = msg("t.flaky", vec![json!(7)]);
        h.send(&m).await;
        let first = recv(&mut rx, "first attempt").await;
        let second = recv(&mut rx, "second attempt").await;
        assert_eq!((second.msg.id.as_str(), second.msg.options.retries), (m.id.as_str(), 1));
        assert_eq!(second.msg.args, m.args);
        assert!(!second.ctx.redelivered, "a retry is a new message, not a redelivery");
        let eta = second.msg.options.eta.expect("the retry carries an ETA");
        assert!(
            eta >= first.at + chrono::Duration::milliseconds(290),
            "eta {eta} vs first run {}",
            first.at
        );
        assert!(
            second.at >= eta - chrono::Duration::milliseconds(5),
            "ran at {} before its ETA {eta}",
            second.at
        );
        assert_quiet(&mut rx, "no third attempt").await;
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// `revoke` without terminate leaves a running task alone; with terminate its token is
    /// cancelled.
    pub async fn revoke_terminate_cancels_the_running_task(bus: SharedBus, p: &str) {
        let h = Harness::new(bus.clone(), p).await;
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let (done_tx, mut done) = mpsc::unbounded_channel();
        let long = task(move |ctx, _msg| {
            let (started_tx, done_tx) = (started_tx.clone(), done_tx.clone());
            async move {
                started_tx.send(ctx.task_id.clone()).unwrap();
                tokio::select! {
                    () = ctx.cancel.cancelled() => done_tx.send("cancelled").unwrap(),
                    () = tokio::time::sleep(WAIT * 3) => done_tx.send("ran to the end").unwrap(),
                }
                TaskOutcome::Failure {
                    exc_type: "Terminated".into(),
                    message: "revoked".into(),
                }
            }
        });
        let running = h.start(h.worker("w", 4, 2, vec![("t.long", long)]));
        let m = msg("t.long", vec![]);
        h.send(&m).await;
        recv(&mut started, "task started").await;
        control::revoke(&bus, std::slice::from_ref(&m.id), false, "SIGTERM")
            .await
            .unwrap();
        assert_quiet(&mut done, "revoke without terminate does not stop a running task").await;
        control::revoke(&bus, std::slice::from_ref(&m.id), true, "SIGTERM")
            .await
            .unwrap();
        assert_eq!(recv(&mut done, "task cancelled").await, "cancelled");
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// A task revoked before it started (held for its ETA) never runs and its message is acked.
    pub async fn revoked_before_start_is_skipped(bus: SharedBus, p: &str) {
        let h = Harness::new(bus.clone(), p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let running = h.start(h.worker("w", 4, 2, vec![("t.rec", recorder(tx, None))]));
        let ready = msg("t.rec", vec![]);
        h.send(&ready).await;
        assert_eq!(recv(&mut rx, "worker ready").await.msg.id, ready.id);
        let mut later = msg("t.rec", vec![]);
        later.options.eta = Some(Utc::now() + chrono::Duration::milliseconds(800));
        h.send(&later).await;
        control::revoke(&bus, std::slice::from_ref(&later.id), false, "SIGTERM")
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(800) + QUIET;
        if let Ok(Some(seen)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            panic!("the revoked task ran: {:?}", seen.msg.id);
        }
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// A message with a future ETA is held without blocking the ones behind it, then runs.
    pub async fn eta_is_held_without_blocking(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut later = msg("t.rec", vec![json!("later")]);
        let eta = Utc::now() + chrono::Duration::milliseconds(1500);
        later.options.eta = Some(eta);
        h.send(&later).await;
        let now = msg("t.rec", vec![json!("now")]);
        h.send(&now).await;
        let running = h.start(h.worker("w", 4, 1, vec![("t.rec", recorder(tx, None))]));
        let first = recv(&mut rx, "the message without ETA").await;
        assert_eq!(first.msg.id, now.id);
        assert!(first.at < eta, "it did not wait for the held one");
        let second = recv(&mut rx, "the held message").await;
        assert_eq!(second.msg.id, later.id);
        assert!(second.at >= eta, "ran at {} before its ETA {eta}", second.at);
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// An expired message is acked without running.
    pub async fn expired_is_discarded(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut stale = msg("t.rec", vec![]);
        stale.options.expires = Some(Utc::now() - chrono::Duration::seconds(1));
        h.send(&stale).await;
        let fresh = msg("t.rec", vec![]);
        h.send(&fresh).await;
        let running = h.start(h.worker("w", 4, 2, vec![("t.rec", recorder(tx, None))]));
        assert_eq!(recv(&mut rx, "the fresh message").await.msg.id, fresh.id);
        assert_quiet(&mut rx, "the expired message does not run").await;
        running.stop().await.unwrap();
        h.assert_drained_and_cleanup().await;
    }

    /// Graceful shutdown waits for the running task (acked) and hands back the held one.
    pub async fn graceful_shutdown_finishes_running_and_requeues_held(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(0));
        let mut held = msg("t.rec", vec![json!("held")]);
        held.options.eta = Some(Utc::now() + chrono::Duration::seconds(60));
        h.send(&held).await;
        let busy = msg("t.rec", vec![json!("busy")]);
        h.send(&busy).await;
        let running = h.start(h.worker("w", 4, 1, vec![("t.rec", recorder(tx, Some(gate.clone())))]));
        // Delivered in order: once `busy` runs, `held` is held by the worker.
        assert_eq!(recv(&mut rx, "busy task").await.msg.id, busy.id);
        running.shutdown.cancel();
        tokio::time::sleep(QUIET).await;
        assert!(!running.handle.is_finished(), "the worker waits for its running task");
        gate.add_permits(1);
        running.stop().await.unwrap();
        let mut consumer = h.consume().await;
        let back = next_delivery(&mut consumer).await;
        let back_msg = TaskMessage::from_delivery(&back).unwrap();
        assert_eq!(back_msg.id, held.id);
        assert!(back.redelivered, "the held message was handed back");
        back.ack().await.unwrap();
        drop(consumer);
        h.assert_drained_and_cleanup().await;
    }

    /// With a shutdown grace, running tasks past it get their token cancelled.
    pub async fn shutdown_grace_cancels_running_tasks(bus: SharedBus, p: &str) {
        let h = Harness::new(bus, p).await;
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let stubborn = task(move |ctx, _msg| {
            let tx = started_tx.clone();
            async move {
                tx.send(()).unwrap();
                ctx.cancel.cancelled().await;
                TaskOutcome::Reject { requeue: true }
            }
        });
        let worker = h
            .worker("w", 4, 1, vec![("t.stubborn", stubborn)])
            .with_shutdown_grace(Duration::from_millis(200));
        let running = h.start(worker);
        let m = msg("t.stubborn", vec![]);
        h.send(&m).await;
        recv(&mut started, "task started").await;
        running.stop().await.unwrap();
        let mut consumer = h.consume().await;
        let back = next_delivery(&mut consumer).await;
        assert_eq!(TaskMessage::from_delivery(&back).unwrap().id, m.id);
        back.ack().await.unwrap();
        drop(consumer);
        h.assert_drained_and_cleanup().await;
    }

    /// The worker answers a Celery `ping` (as `app.control.ping(destination=[...])` sends it)
    /// on the sender's reply exchange, with the ticket.
    pub async fn answers_ping(bus: SharedBus, p: &str) {
        let h = Harness::new(bus.clone(), p).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let running = h.start(h.worker("w", 4, 1, vec![("t.rec", recorder(tx, None))]));
        let ready = msg("t.rec", vec![]);
        h.send(&ready).await;
        recv(&mut rx, "worker ready").await;
        let (reply_ex, reply_q) = (format!("{p}.reply.pidbox"), format!("{p}.replies"));
        bus.declare_exchange(&reply_ex, ExchangeKind::Direct).await.unwrap();
        bus.declare_queue(&QueueSpec::durable(&reply_q)).await.unwrap();
        bus.bind_queue(&reply_q, &reply_ex, "oid-1").await.unwrap();
        let hostname = format!("w@{p}");
        let command = json!({
            "method": "ping", "arguments": {}, "destination": [hostname], "pattern": null, "matcher": null,
            "ticket": "ticket-1", "reply_to": {"exchange": reply_ex, "routing_key": "oid-1"},
        });
        let mut out = OutgoingMessage::json(&command).unwrap();
        out.properties.headers.insert("clock".into(), json!(1));
        bus.publish(control::PIDBOX_EXCHANGE, "", out).await.unwrap();
        let mut replies = bus.consume(&reply_q, ConsumeOptions::default()).await.unwrap();
        let reply = next_delivery(&mut replies).await;
        let body = String::from_utf8(reply.body.to_vec()).unwrap();
        assert_eq!(body, format!(r#"{{"{hostname}": {{"ok": "pong"}}}}"#));
        assert_eq!(reply.properties.headers["ticket"], json!("ticket-1"));
        assert!(reply.properties.headers["clock"].is_u64());
        reply.ack().await.unwrap();
        drop(replies);
        running.stop().await.unwrap();
        bus.delete_queue(&reply_q).await.unwrap();
        bus.delete_exchange(&reply_ex).await.unwrap();
        h.assert_drained_and_cleanup().await;
    }
}

macro_rules! suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            use super::*;
            suite!(@cases $make;
                runs_and_acks, late_ack_redelivers_when_a_worker_dies, prefetch_bounds_held_messages,
                concurrency_bounds_running_tasks, unknown_and_malformed_are_rejected,
                retry_republishes_with_an_eta, revoke_terminate_cancels_the_running_task,
                revoked_before_start_is_skipped, eta_is_held_without_blocking, expired_is_discarded,
                graceful_shutdown_finishes_running_and_requeues_held, shutdown_grace_cancels_running_tasks,
                answers_ping);
        }
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                myelin_common::install_crypto_provider();
                let prefix = unique_prefix(stringify!($case));
                let bus = $make(&prefix).await;
                cases::$case(bus, &prefix).await;
            }
        )*
    };
}

suite!(memory, memory_bus);
suite!(rabbitmq, rabbitmq_bus);
