//! The worker runtime: consumes Celery queues and runs registered [`Task`]s.
//!
//! - one consumer per queue with `prefetch` (unacked messages held, ETA ones included), and at
//!   most `concurrency` tasks running at once across all queues;
//! - late ack: a message is acked after its task returned and its outcome was handled, so a
//!   worker that dies mid-task leaves the message to be redelivered (`redelivered = true`);
//! - a message that does not decode, or names a task not registered here, is rejected (nack
//!   without requeue, so it dead-letters if the queue has a DLX) and logged;
//! - a message with a future ETA is held on its own tokio task (the consumer keeps going), an
//!   expired or revoked one is acked without running;
//! - outcomes: `Success`/`Failure` ack, `Retry` republishes the message with `retries + 1` and an
//!   ETA then acks, `Reject { requeue }` nacks;
//! - remote control on `<hostname>.celery.pidbox`: `revoke` (with `terminate`, the running task's
//!   [`TaskContext::cancel`] is cancelled) and `ping`;
//! - graceful shutdown: stop taking messages, hand back (nack + requeue) held and unstarted ones,
//!   wait for the running ones (optionally at most [`Worker::with_shutdown_grace`], then cancel
//!   their tokens and wait for them to return). Dropping the `run` future instead aborts
//!   everything at once and the broker redelivers the unacked messages.

mod job;
mod pidbox;
mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use myelin_common::bus::{ConsumeOptions, Delivery, SharedBus};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use job::DEFAULT_RETRY_DELAY;

use self::job::{Job, Settle, settle};
use self::state::State;
use crate::control;
use crate::error::{Error, Result};
use crate::producer::declare_celery_queue;
use crate::protocol::TaskMessage;

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
}

/// How a task invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// Done; the message is acked. (Results are not stored yet.)
    Success(Value),
    /// Failed; the message is acked and the failure logged.
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
}

/// What the jobs of one running worker share.
struct Shared {
    bus: SharedBus,
    hostname: String,
    state: State,
    slots: Arc<Semaphore>,
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
        }
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
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let Worker {
            bus,
            config,
            tasks,
            grace,
        } = self;
        if config.queues.is_empty() || config.concurrency == 0 {
            return Err(Error::Config(
                "a worker needs at least one queue and a concurrency of 1 or more".into(),
            ));
        }
        let mut streams = Vec::new();
        for queue in &config.queues {
            declare_celery_queue(&bus, queue).await?;
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
        info!(hostname = config.hostname, queues = ?config.queues, prefetch = config.prefetch, concurrency = config.concurrency, tasks = ?tasks.keys().collect::<Vec<_>>(), "worker ready");

        let shared = Arc::new(Shared {
            bus: bus.clone(),
            hostname: config.hostname.clone(),
            state: State::default(),
            slots: Arc::new(Semaphore::new(config.concurrency)),
            drain: CancellationToken::new(),
            hard: CancellationToken::new(),
        });
        let mut jobs = JoinSet::new();
        // Dropped first if `run` is aborted: task tokens are cancelled, then jobs aborted.
        let _hard_stop_on_drop = shared.hard.clone().drop_guard();

        let outcome = loop {
            tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
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
                () = sleep_until(deadline), if !shared.hard.is_cancelled() => {
                    warn!(running = jobs.len(), "shutdown grace elapsed; cancelling running tasks");
                    shared.hard.cancel();
                }
            }
        }
        drop(deliveries);
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
        jobs.spawn(settle(
            delivery,
            Settle::Nack { requeue: false },
            "an unregistered task",
        ));
        return;
    };
    if shared.state.is_revoked(&msg.id) {
        info!(task = msg.task, id = msg.id, "discarding revoked task");
        jobs.spawn(settle(delivery, Settle::Ack, "a revoked task"));
        return;
    }
    if msg.options.expires.is_some_and(|t| t <= chrono::Utc::now()) {
        info!(task = msg.task, id = msg.id, "discarding expired task");
        jobs.spawn(settle(delivery, Settle::Ack, "an expired task"));
        return;
    }
    let token = shared.hard.child_token();
    let slot = shared.state.reserve(&msg.id, token.clone());
    let job = Job {
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
