//! Celery's `rpc://` result backend (`celery/backends/rpc.py`): no storage, each state is a
//! message to the client's reply queue.
//!
//! Storing publishes the meta JSON to the default exchange `''` with routing key = the task
//! message's `reply_to`, `correlation_id` = its `correlation_id` (the task id when empty),
//! `application/json`/`utf-8`, priority 0, transient (Celery's `result_persistent = False`), no
//! headers; a task without `reply_to` stores nothing, as in Celery.
//!
//! The client side: an [`RpcBackend`] owns one reply queue ([`RpcBackend::reply_to`], declared as
//! Celery declares its `thread_oid` queue: durable, auto-delete, `x-expires` = result_expires).
//! Send tasks with `reply_to` set to it; [`ResultBackend::wait`] starts one consumer on that queue
//! which keeps the latest state of every task id it sees, and [`ResultBackend::get`] returns what
//! that consumer has received so far (there is nothing to query on the broker). Groups and chords
//! are unsupported, as in Celery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use myelin_common::bus::{ConsumeOptions, OutgoingMessage, QueueSpec, SharedBus};
use tokio::sync::{OnceCell, watch};
use tokio_util::sync::CancellationToken;

use super::{
    BackendError, ChordClaim, ChordProgress, DEFAULT_RESULT_EXPIRES, ReplyTarget, Result, ResultBackend, TaskMeta,
    TaskState,
};

/// The RPC result backend on a bus.
pub struct RpcBackend {
    bus: SharedBus,
    reply_queue: String,
    expires: Duration,
    inbox: Arc<Inbox>,
    consumer: OnceCell<()>,
    stop: CancellationToken,
}

/// States received on the reply queue, latest per task id.
struct Inbox {
    latest: Mutex<HashMap<String, TaskMeta>>,
    /// Bumped on every received state; `Err` once the consumer ended.
    changed: watch::Sender<std::result::Result<u64, String>>,
}

impl RpcBackend {
    /// A backend with a fresh reply queue name (a random UUID, like Celery's `thread_oid`).
    pub fn new(bus: SharedBus) -> Self {
        Self {
            bus,
            reply_queue: uuid::Uuid::new_v4().to_string(),
            expires: DEFAULT_RESULT_EXPIRES,
            inbox: Arc::new(Inbox {
                latest: Mutex::new(HashMap::new()),
                changed: watch::channel(Ok(0)).0,
            }),
            consumer: OnceCell::new(),
            stop: CancellationToken::new(),
        }
    }

    /// Uses `queue` as the reply queue instead of a fresh name.
    pub fn with_reply_queue(mut self, queue: impl Into<String>) -> Self {
        self.reply_queue = queue.into();
        self
    }

    /// The queue this backend receives states on: put it in the `reply_to` of tasks it sends.
    pub fn reply_to(&self) -> &str {
        &self.reply_queue
    }

    /// Declares the reply queue as Celery's `RPCBackend.binding` does (call it before sending
    /// tasks, as Celery's `on_task_call` does; `wait` declares it too).
    pub async fn declare_reply_queue(&self) -> Result<()> {
        let mut spec = QueueSpec::durable(&self.reply_queue);
        spec.auto_delete = true;
        let millis = u64::try_from(self.expires.as_millis()).unwrap_or(u64::MAX);
        spec.arguments.insert("x-expires".into(), millis.into());
        self.bus.declare_queue(&spec).await?;
        Ok(())
    }

    /// The message Celery's `RPCBackend.store_result` publishes for `meta`.
    pub fn reply_message(meta: &TaskMeta, reply: &ReplyTarget) -> Result<OutgoingMessage> {
        let mut msg = OutgoingMessage::new(meta.to_json()?);
        let props = &mut msg.properties;
        props.content_type = Some("application/json".into());
        props.content_encoding = Some("utf-8".into());
        props.correlation_id = Some(if reply.correlation_id.is_empty() {
            meta.task_id.clone()
        } else {
            reply.correlation_id.clone()
        });
        props.priority = Some(0);
        props.persistent = false;
        Ok(msg)
    }

    async fn start_consumer(&self) -> Result<()> {
        self.consumer
            .get_or_try_init(|| async {
                self.declare_reply_queue().await?;
                let consumer = self
                    .bus
                    .consume(&self.reply_queue, ConsumeOptions { prefetch: 0 })
                    .await?;
                tokio::spawn(consume(consumer, self.inbox.clone(), self.stop.clone()));
                Ok::<_, BackendError>(())
            })
            .await?;
        Ok(())
    }

    fn unsupported(operation: &'static str) -> BackendError {
        BackendError::Unsupported {
            backend: "rpc",
            operation,
        }
    }
}

impl Drop for RpcBackend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Reads the reply queue until stopped: records each state (a stored SUCCESS stays) and acks.
async fn consume(mut consumer: myelin_common::bus::Consumer, inbox: Arc<Inbox>, stop: CancellationToken) {
    let end = loop {
        let delivery = tokio::select! {
            () = stop.cancelled() => return,
            next = consumer.next() => next,
        };
        let delivery = match delivery {
            None => break "the reply consumer ended".to_owned(),
            Some(Err(err)) => break err.to_string(),
            Some(Ok(d)) => d,
        };
        match TaskMeta::from_json(&delivery.body) {
            Ok(mut meta) => {
                if meta.task_id.is_empty() {
                    meta.task_id = delivery.properties.correlation_id.clone().unwrap_or_default();
                }
                if let Ok(mut latest) = inbox.latest.lock() {
                    let done = latest
                        .get(&meta.task_id)
                        .is_some_and(|m| m.status == TaskState::Success);
                    if !done {
                        latest.insert(meta.task_id.clone(), meta);
                    }
                }
                inbox.changed.send_modify(|n| {
                    if let Ok(n) = n {
                        *n += 1;
                    }
                });
            }
            Err(err) => tracing::warn!(error = %err, "ignoring a reply that is not a Celery result"),
        }
        if let Err(err) = delivery.ack().await {
            break err.to_string();
        }
    };
    let _previous = inbox.changed.send_replace(Err(end));
}

#[async_trait]
impl ResultBackend for RpcBackend {
    async fn store(&self, meta: &TaskMeta, reply: Option<&ReplyTarget>) -> Result<()> {
        let Some(reply) = reply.filter(|r| !r.reply_to.is_empty()) else {
            return Ok(());
        };
        self.bus
            .publish("", &reply.reply_to, Self::reply_message(meta, reply)?)
            .await?;
        Ok(())
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskMeta>> {
        self.start_consumer().await?;
        Ok(self.inbox.latest.lock().ok().and_then(|l| l.get(task_id).cloned()))
    }

    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<TaskMeta> {
        self.start_consumer().await?;
        let mut changed = self.inbox.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Mark the current version seen before looking, so a state received after the look
            // wakes the wait below.
            let ended = changed.borrow_and_update().clone().err();
            let ready = self.inbox.latest.lock().ok().and_then(|mut latest| {
                let ready = latest.get(task_id).is_some_and(|m| m.status.is_ready());
                if ready { latest.remove(task_id) } else { None }
            });
            if let Some(meta) = ready {
                return Ok(meta);
            }
            if let Some(end) = ended {
                return Err(BackendError::Closed(end));
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(BackendError::Closed("the reply consumer stopped".into())),
                Err(_) => {
                    return Err(BackendError::Timeout {
                        task_id: task_id.to_owned(),
                        timeout,
                    });
                }
            }
        }
    }

    async fn forget(&self, task_id: &str) -> Result<()> {
        if let Ok(mut latest) = self.inbox.latest.lock() {
            latest.remove(task_id);
        }
        Ok(())
    }

    async fn save_group(&self, _group_id: &str, _task_ids: &[String]) -> Result<()> {
        Err(Self::unsupported("save_group"))
    }

    async fn restore_group(&self, _group_id: &str) -> Result<Option<Vec<String>>> {
        Err(Self::unsupported("restore_group"))
    }

    async fn set_chord_size(&self, _group_id: &str, _chord_size: usize) -> Result<()> {
        Err(Self::unsupported("chords"))
    }

    async fn chord_part_return(&self, _: &str, _: Option<usize>, _: &TaskMeta) -> Result<ChordProgress> {
        Err(Self::unsupported("chords"))
    }

    async fn chord_done(&self, _claim: &ChordClaim) -> Result<()> {
        Err(Self::unsupported("chords"))
    }
}
