//! The worker runtime: consumes Celery queues and runs registered [`Task`]s.
//!
//! - one consumer per queue with `prefetch` (unacked messages held, ETA ones included), and at
//!   most `concurrency` tasks running at once across all queues, started in delivery order
//!   (`slots`);
//! - late ack (default, [`Worker::with_acks_late`]): a message is acked after its task returned,
//!   its state was stored and its follow-ups sent, so a worker that dies mid-task leaves the
//!   message to be redelivered (`redelivered = true`); early ack (Celery's default) acks it
//!   just before the task starts;
//! - a message that does not decode is rejected (nack without requeue, so it dead-letters if the
//!   queue has a DLX); one naming a task not registered here is rejected and stored as
//!   `FAILURE` `NotRegistered`;
//! - a message with a future ETA is held on its own tokio task (the consumer keeps going), an
//!   expired or revoked one is acked without running and stored as `REVOKED`;
//! - outcomes (`results`): `Success`/`Failure` stored in the result backend
//!   ([`Worker::with_backend`]) and the canvas continued (chain, callbacks, errbacks, chord
//!   body), then acked; `Retry` republishes the message with `retries + 1` and an ETA, stores
//!   `RETRY`, then acks; `Reject { requeue }` nacks;
//! - time limits (the message's `timelimit`, else [`Worker::with_time_limits`]): the soft one
//!   cancels [`TaskContext::soft_limit`], the hard one aborts the task (`TimeLimitExceeded`);
//!   rate limits per task name ([`Worker::with_rate_limit`], `ratelimit`);
//! - remote control on `<hostname>.celery.pidbox` (see `pidbox`): `revoke` (with `terminate`, the
//!   running task's [`TaskContext::cancel`] is cancelled), `ping`, `shutdown` and the `inspect`
//!   commands (`stats`, `active`, `reserved`, `scheduled`, `registered`, `revoked`,
//!   `active_queues`, `conf`, `report`, `query_task`);
//! - Celery events on `celeryev` ([`crate::events`]): `worker-online`, `worker-heartbeat` every
//!   2 s and `worker-offline` always; `task-*` events when enabled ([`Worker::with_task_events`]
//!   or the `enable_events` control command);
//! - graceful shutdown: stop taking messages, hand back (nack + requeue) held and unstarted ones,
//!   wait for the running ones (optionally at most [`Worker::with_shutdown_grace`], then cancel
//!   their tokens and wait for them to return). Dropping the `run` future instead aborts
//!   everything at once and the broker redelivers the unacked messages.

mod job;
mod notify;
mod pidbox;
mod ratelimit;
mod results;
mod slots;
mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use myelin_common::bus::{ConsumeOptions, Delivery, SharedBus};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use job::DEFAULT_RETRY_DELAY;
pub use ratelimit::parse_rate;

use self::job::{Job, Settle, settle};
use self::notify::{broker_info, send_received, send_worker_event};
use self::state::{RequestInfo, State};
use crate::backend::ResultBackend;
use crate::control;
use crate::error::{Error, Result};
use crate::events::{EventDispatcher, HEARTBEAT_INTERVAL};
use crate::producer::declare_celery_queue;
use crate::protocol::TaskMessage;
use crate::protocol::repr;

/// A task implementation, registered on a [`Worker`] under a name.
#[async_trait]
pub trait Task: Send + Sync + 'static {
    /// Runs one invocation. Watch `ctx.cancel`: it is cancelled when the task is revoked with
    /// `terminate` or the worker stops hard; return promptly then (`Reject { requeue: true }`
    /// hands the message back to the queue, anything else settles it).
    async fn run(&self, ctx: TaskContext, msg: TaskMessage) -> TaskOutcome;
}

/// What a running task knows about its invocation.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub task_id: String,
    /// The worker's node name (`WorkerConfig::hostname`).
    pub hostname: String,
    /// The message was delivered before and not acked (a previous worker died or stopped).
    pub redelivered: bool,
    /// Cancelled when the task is revoked with `terminate`, or on a hard stop of the worker.
    pub cancel: CancellationToken,
    /// Cancelled when the task's soft time limit passes (Celery raises `SoftTimeLimitExceeded`
    /// in the task; here the task decides: return `Failure { exc_type:
    /// "SoftTimeLimitExceeded", .. }` to fail as Python's would). The hard limit aborts it.
    pub soft_limit: CancellationToken,
}

/// How a task invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// Done; the result is stored (`SUCCESS`) and the message acked.
    Success(Value),
    /// Failed with a Python-style exception (`ValueError`, or any name): stored as `FAILURE`
    /// (Python rebuilds builtins and Celery's exceptions as themselves, other names as a class of
    /// that name), the message acked.
    Failure { exc_type: String, message: String },
    /// Run again later: the message is republished with `retries + 1` and an ETA `countdown`
    /// from now ([`DEFAULT_RETRY_DELAY`] when `None`, as Celery), then acked.
    Retry { countdown: Option<Duration> },
    /// Nack the message, requeueing it or not (dead-lettering if the queue has a DLX).
    Reject { requeue: bool },
}

/// Which queues a worker consumes and how much it takes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Node name, unique among live workers (Celery's `celery@host`); names the control queue.
    pub hostname: String,
    pub queues: Vec<String>,
    /// Unacked messages each queue's consumer may hold (0 = unlimited).
    pub prefetch: u16,
    /// Tasks running at once, all queues together.
    pub concurrency: usize,
}

impl Default for WorkerConfig {
    /// Celery's defaults: node `celery@<host>`, queue `celery`, one task per CPU and a prefetch
    /// of 4 per task slot (`worker_prefetch_multiplier`).
    fn default() -> Self {
        let concurrency = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            hostname: format!("celery@{}", crate::protocol::hostname()),
            queues: vec!["celery".into()],
            prefetch: u16::try_from(concurrency * 4).unwrap_or(u16::MAX),
            concurrency,
        }
    }
}

/// A Celery worker on the bus port.
///
/// ```no_run
/// use std::sync::Arc;
/// use myelin_celery::{Task, TaskContext, TaskMessage, TaskOutcome, Worker, WorkerConfig};
///
/// struct Add;
///
/// #[async_trait::async_trait]
/// impl Task for Add {
///     async fn run(&self, _ctx: TaskContext, msg: TaskMessage) -> TaskOutcome {
///         let sum: i64 = msg.args.iter().filter_map(|a| a.as_i64()).sum();
///         TaskOutcome::Success(sum.into())
///     }
/// }
///
/// # async fn demo(bus: myelin_common::bus::SharedBus) -> Result<(), myelin_celery::Error> {
/// let config = WorkerConfig { hostname: "celery@box".into(), queues: vec!["celery".into()], prefetch: 4, concurrency: 2 };
/// let mut worker = Worker::new(bus, config);
/// worker.register("tasks.add", Arc::new(Add));
/// let shutdown = tokio_util::sync::CancellationToken::new();
/// worker.run(shutdown).await // returns once `shutdown` is cancelled and running tasks finished
/// # }
/// ```
pub struct Worker {
    bus: SharedBus,
    config: WorkerConfig,
    tasks: HashMap<String, Arc<dyn Task>>,
    grace: Option<Duration>,
    task_events: bool,
    broker: Value,
    backend: Option<Arc<dyn ResultBackend>>,
    max_priority: Option<u8>,
    acks_late: bool,
    time_limits: (Option<f64>, Option<f64>),
    rate_limits: HashMap<String, f64>,
    max_retries: HashMap<String, u32>,
}

/// What the jobs of one running worker share.
struct Shared {
    bus: SharedBus,
    hostname: String,
    state: State,
    events: EventDispatcher,
    /// Cancelled by the `shutdown` control command: the run loop stops gracefully.
    stop: CancellationToken,
    started: Instant,
    queues: Vec<String>,
    /// Registered task names, sorted.
    task_names: Vec<String>,
    concurrency: usize,
    prefetch: u16,
    /// `inspect stats`' `broker` (see [`Worker::with_broker_url`]).
    broker: Value,
    backend: Option<Arc<dyn ResultBackend>>,
    acks_late: bool,
    /// Default `(hard, soft)` time limits in seconds; a message's `timelimit` overrides them.
    time_limits: (Option<f64>, Option<f64>),
    rate_limits: ratelimit::RateLimits,
    /// Task name → `max_retries` (no entry: retried as often as it asks).
    max_retries: HashMap<String, u32>,
    slots: Arc<slots::Slots>,
    /// Cancelled on graceful shutdown: unstarted jobs hand their message back.
    drain: CancellationToken,
    /// Parent of every task token; cancelled on a hard stop.
    hard: CancellationToken,
}

type Deliveries = BoxStream<'static, (String, myelin_common::bus::Result<Delivery>)>;

impl Worker {
    pub fn new(bus: SharedBus, config: WorkerConfig) -> Self {
        Self {
            bus,
            config,
            tasks: HashMap::new(),
            grace: None,
            task_events: false,
            broker: json!({}),
            backend: None,
            max_priority: None,
            acks_late: true,
            time_limits: (None, None),
            rate_limits: HashMap::new(),
            max_retries: HashMap::new(),
        }
    }

    /// Task `name` is retried at most `max_retries` times (Celery's `Task.max_retries`, 3 by
    /// default there; unlimited here unless set): a retry asked beyond it fails the task with
    /// `MaxRetriesExceededError`, as `Task.retry()` raises it.
    pub fn with_max_retries(mut self, name: impl Into<String>, max_retries: u32) -> Self {
        self.max_retries.insert(name.into(), max_retries);
        self
    }

    /// Stores task states and results there (Celery's `result_backend`); none by default.
    pub fn with_backend(mut self, backend: Option<Arc<dyn ResultBackend>>) -> Self {
        self.backend = backend;
        self
    }

    /// Declares the queues with `x-max-priority` (Celery's `task_queue_max_priority`), so they
    /// agree with clients that declare them so.
    pub fn with_queue_max_priority(mut self, max_priority: Option<u8>) -> Self {
        self.max_priority = max_priority;
        self
    }

    /// Late ack (the default here, Celery's `acks_late=True`): a message is acked once its task
    /// finished, so a task whose worker dies runs again. `false` is Celery's default: acked just
    /// before the task starts, so it runs at most once.
    pub fn with_acks_late(mut self, acks_late: bool) -> Self {
        self.acks_late = acks_late;
        self
    }

    /// Default hard and soft time limits in seconds (Celery's `task_time_limit` and
    /// `task_soft_time_limit`); a message's own `timelimit` header wins.
    pub fn with_time_limits(mut self, hard: Option<f64>, soft: Option<f64>) -> Self {
        self.time_limits = (hard, soft);
        self
    }

    /// At most `per_second` starts per second of task `name` on this worker (Celery's
    /// `rate_limit`, e.g. `"10/m"` is `10.0 / 60.0`).
    pub fn with_rate_limit(mut self, name: impl Into<String>, per_second: f64) -> Self {
        self.rate_limits.insert(name.into(), per_second);
        self
    }

    /// Sends `task-*` events (Celery's `worker -E` / `worker_send_task_events`); off by default,
    /// as in Celery. Worker events (online, heartbeat, offline) are always sent. Remote
    /// `enable_events` / `disable_events` switch task events while the worker runs.
    pub fn with_task_events(mut self, on: bool) -> Self {
        self.task_events = on;
        self
    }

    /// The broker URL shown (without its password) by `inspect stats`' `broker` and `report`.
    pub fn with_broker_url(mut self, url: &str) -> Self {
        self.broker = broker_info(url);
        self
    }

    /// Registers `task` under `name` (the `task` header of the messages it runs).
    pub fn register(&mut self, name: impl Into<String>, task: Arc<dyn Task>) {
        self.tasks.insert(name.into(), task);
    }

    /// On graceful shutdown, wait at most `grace` for running tasks, then cancel their tokens
    /// (and wait for them to return). Without it the worker waits as long as they run.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// Consumes the configured queues until `shutdown` is cancelled, then shuts down gracefully.
    /// Declares the queues (as [`crate::Producer::declare_queue`]) and the control queue first.
    /// Fails if the broker refuses the setup or a consumer ends; running tasks still finish.
    /// Stops gracefully on the `shutdown` control command too.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let Worker {
            bus,
            config,
            tasks,
            grace,
            task_events,
            broker,
            backend,
            max_priority,
            acks_late,
            time_limits,
            rate_limits,
            max_retries,
        } = self;
        if config.queues.is_empty() || config.concurrency == 0 {
            return Err(Error::Config(
                "a worker needs at least one queue and a concurrency of 1 or more".into(),
            ));
        }
        let mut streams = Vec::new();
        for queue in &config.queues {
            declare_celery_queue(&bus, queue, max_priority).await?;
            let consumer = bus
                .consume(
                    queue,
                    ConsumeOptions {
                        prefetch: config.prefetch,
                    },
                )
                .await?;
            let queue = queue.clone();
            streams.push(consumer.map(move |d| (queue.clone(), d)).boxed());
        }
        let mut deliveries: Deliveries = stream::select_all(streams).boxed();
        let mut control = pidbox::listen(&bus, &config.hostname).await?;
        EventDispatcher::declare(&bus).await?;
        info!(hostname = config.hostname, queues = ?config.queues, prefetch = config.prefetch, concurrency = config.concurrency, tasks = ?tasks.keys().collect::<Vec<_>>(), "worker ready");

        let mut task_names: Vec<String> = tasks.keys().cloned().collect();
        task_names.sort();
        let shared = Arc::new(Shared {
            bus: bus.clone(),
            hostname: config.hostname.clone(),
            state: State::default(),
            events: EventDispatcher::new(bus.clone(), config.hostname.clone(), task_events),
            stop: CancellationToken::new(),
            started: Instant::now(),
            queues: config.queues.clone(),
            task_names,
            concurrency: config.concurrency,
            prefetch: config.prefetch,
            broker,
            backend,
            acks_late,
            time_limits,
            rate_limits: ratelimit::RateLimits::new(rate_limits),
            max_retries,
            slots: slots::Slots::new(config.concurrency),
            drain: CancellationToken::new(),
            hard: CancellationToken::new(),
        });
        send_worker_event(&shared, "worker-online");
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL);
        let mut jobs = JoinSet::new();
        // Dropped first if `run` is aborted: task tokens are cancelled, then jobs aborted.
        let _hard_stop_on_drop = shared.hard.clone().drop_guard();

        let outcome = loop {
            tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                () = shared.stop.cancelled() => break Ok(()),
                _ = heartbeat.tick() => send_worker_event(&shared, "worker-heartbeat"),
                item = deliveries.next() => match item {
                    Some((queue, Ok(delivery))) => accept(&shared, &tasks, &mut jobs, queue, delivery),
                    Some((queue, Err(e))) => { error!(queue, error = %e, "consumer failed"); break Err(e.into()) }
                    None => break Err(Error::ConsumerEnded(config.queues.join(","))),
                },
                item = control.next() => match item {
                    Some(Ok(delivery)) => pidbox::handle(&shared, delivery).await,
                    Some(Err(e)) => { error!(error = %e, "control consumer failed"); break Err(e.into()) }
                    None => break Err(Error::ConsumerEnded(control::pidbox_queue(&config.hostname))),
                },
                Some(done) = jobs.join_next(), if !jobs.is_empty() => log_join(done),
            }
        };

        info!(
            hostname = config.hostname,
            running = jobs.len(),
            "worker stopping: no new tasks, waiting for running ones"
        );
        shared.drain.cancel();
        let deadline = grace.map(|g| tokio::time::Instant::now() + g);
        let mut control_open = true;
        loop {
            tokio::select! {
                done = jobs.join_next() => match done {
                    Some(done) => log_join(done),
                    None => break,
                },
                item = control.next(), if control_open => match item {
                    Some(Ok(delivery)) => pidbox::handle(&shared, delivery).await,
                    _ => control_open = false,
                },
                _ = heartbeat.tick() => send_worker_event(&shared, "worker-heartbeat"),
                () = sleep_until(deadline), if !shared.hard.is_cancelled() => {
                    warn!(running = jobs.len(), "shutdown grace elapsed; cancelling running tasks");
                    shared.hard.cancel();
                }
            }
        }
        drop(deliveries);
        send_worker_event(&shared, "worker-offline");
        shared.events.flush().await;
        info!(hostname = config.hostname, "worker stopped");
        outcome
    }
}

/// Triage of a fresh delivery: reject what cannot run here, discard what must not run, and
/// spawn a job for the rest.
fn accept(
    shared: &Arc<Shared>,
    tasks: &HashMap<String, Arc<dyn Task>>,
    jobs: &mut JoinSet<()>,
    queue: String,
    delivery: Delivery,
) {
    let msg = match TaskMessage::from_delivery(&delivery) {
        Ok(msg) => msg,
        Err(e) => {
            warn!(queue, error = %e, "rejecting a malformed message");
            jobs.spawn(settle(delivery, Settle::Nack { requeue: false }, "a malformed message"));
            return;
        }
    };
    let Some(task) = tasks.get(&msg.task).cloned() else {
        error!(
            queue,
            task = msg.task,
            id = msg.id,
            "received an unregistered task; rejecting it"
        );
        let exception = format!("NotRegistered({})", repr::value_repr(&json!(msg.task)));
        shared.events.send(
            "task-failed",
            vec![("uuid", json!(msg.id)), ("exception", json!(exception))],
        );
        let (shared, exc) = (shared.clone(), results::exception("NotRegistered", &msg.task));
        jobs.spawn(async move {
            let traceback = results::traceback(&msg, &exc);
            results::finish(&shared, &msg, &queue, &results::Finished::Failure { exc, traceback }).await;
            settle(delivery, Settle::Nack { requeue: false }, "an unregistered task").await;
        });
        return;
    };
    if shared.state.is_revoked(&msg.id) {
        info!(task = msg.task, id = msg.id, "discarding revoked task");
        notify::send_revoked(shared, &msg.id, false);
        jobs.spawn(job::discard(shared.clone(), delivery, msg, queue, "revoked"));
        return;
    }
    if msg.options.expires.is_some_and(|t| t <= chrono::Utc::now()) {
        info!(task = msg.task, id = msg.id, "discarding expired task");
        notify::send_revoked(shared, &msg.id, true);
        jobs.spawn(job::discard(shared.clone(), delivery, msg, queue, "expired"));
        return;
    }
    send_received(shared, &msg, &delivery);
    let token = shared.hard.child_token();
    let info = RequestInfo {
        id: msg.id.clone(),
        name: msg.task.clone(),
        args: msg.args.clone(),
        kwargs: msg.kwargs.clone(),
        eta: msg.options.eta,
        exchange: delivery.exchange.clone(),
        routing_key: delivery.routing_key.clone(),
        priority: delivery.properties.priority,
        redelivered: delivery.redelivered,
    };
    let slot = shared.state.reserve(info, token.clone());
    // In delivery order; tasks held for an ETA or a rate limit queue when due.
    let ticket = (msg.options.eta.is_none() && !shared.rate_limits.limits(&msg.task)).then(|| shared.slots.ticket());
    let job = Job {
        ticket,
        shared: shared.clone(),
        delivery,
        msg,
        task,
        queue,
        slot,
        token,
    };
    jobs.spawn(job.process());
}

fn log_join(done: std::result::Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        error!(error = %e, "a worker job panicked");
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
