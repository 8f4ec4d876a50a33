//! Result backends: where task states and return values go, in Celery's formats, so Python's
//! `AsyncResult` reads what our workers store and we read what Python workers store.
//!
//! - [`RedisBackend`]: `celery-task-meta-<id>` by SETEX + PUBLISH on the same channel, groups in
//!   `celery-taskset-meta-<gid>`, chords with the keys and Lua script of Celery 5.7's
//!   `RedisBackend.on_chord_part_return` (so Python and Rust workers can share a chord);
//! - [`RpcBackend`]: the `rpc://` backend, results published to the client's `reply_to` queue;
//! - [`backend_from_url`]: picks one from Celery's `result_backend` URL.

mod meta;
mod redis;
mod rpc;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use myelin_common::bus::{self, SharedBus};
use serde_json::Value;

pub use self::meta::{ExceptionInfo, ExtendedMeta, TaskMeta, TaskState};
pub use self::redis::RedisBackend;
pub use self::rpc::RpcBackend;

/// Celery's default `result_expires`: one day.
pub const DEFAULT_RESULT_EXPIRES: Duration = Duration::from_secs(86_400);

/// What can go wrong talking to a result backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("redis result backend: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("rpc result backend: {0}")]
    Bus(#[from] bus::Error),
    /// A stored or received value is not the JSON Celery writes.
    #[error("malformed result: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("invalid result backend URL '{0}'")]
    InvalidUrl(String),
    /// The operation does not exist on this backend (as in Celery, e.g. chords on `rpc://`).
    #[error("the {backend} result backend does not support {operation}")]
    Unsupported {
        backend: &'static str,
        operation: &'static str,
    },
    #[error("task {task_id} not ready after {timeout:?}")]
    Timeout { task_id: String, timeout: Duration },
    /// The backend's connection or reply consumer went away while waiting.
    #[error("result backend connection closed: {0}")]
    Closed(String),
}

pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// Where a task's client wants replies: the task message's `reply_to` and `correlation_id`
/// properties (the RPC backend publishes there; Redis ignores it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTarget {
    pub reply_to: String,
    pub correlation_id: String,
}

/// Outcome of reporting one chord header part with [`ResultBackend::chord_part_return`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChordProgress {
    /// Parts are still missing, the chord size is unknown (not a chord sent with a Redis
    /// backend), the part was a duplicate, or another worker completed the chord.
    Waiting,
    /// This call completed the chord (exactly one caller gets this): the header results in
    /// group-index order. Publish the body with them, then call [`ResultBackend::chord_done`].
    Complete { results: Vec<Value>, claim: ChordClaim },
    /// This call completed the chord but a part failed or was revoked: the body must not run;
    /// mark it `FAILURE` with [`ExceptionInfo::chord_error`]`(message)` and call its errbacks,
    /// as Celery's `chord_error_from_stack` does.
    Failed {
        task_id: String,
        error: ExceptionInfo,
        /// `Dependency <task_id> raised <repr(exc)>`, Celery's ChordError message.
        message: String,
    },
}

/// The dispatch claim a completing worker holds on a chord until [`ResultBackend::chord_done`]
/// (it lapses by itself after a few seconds, so a redelivered part can complete the chord if
/// this worker died before publishing the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChordClaim {
    pub group_id: String,
    pub token: String,
}

/// A Celery result backend.
#[async_trait]
pub trait ResultBackend: Send + Sync {
    /// Stores (or, for RPC, sends) a task state. A stored `SUCCESS` is never overwritten.
    async fn store(&self, meta: &TaskMeta, reply: Option<&ReplyTarget>) -> Result<()>;
    /// The stored state of `task_id`, `None` when nothing is stored (Celery's `PENDING`).
    async fn get(&self, task_id: &str) -> Result<Option<TaskMeta>>;
    /// Waits until `task_id` is ready (`SUCCESS`, `FAILURE`, `REVOKED`) and returns its meta.
    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<TaskMeta>;
    /// Removes the stored state of `task_id`.
    async fn forget(&self, task_id: &str) -> Result<()>;
    /// Saves a group's members, as `GroupResult.save()` does, so `GroupResult.restore(id)` works.
    async fn save_group(&self, group_id: &str, task_ids: &[String]) -> Result<()>;
    /// The members of a saved group, `None` when none is saved.
    async fn restore_group(&self, group_id: &str) -> Result<Option<Vec<String>>>;
    /// Records the number of header tasks of the chord over `group_id` (the sender of a chord
    /// calls it before sending the header, as Celery's `chord.run` does).
    async fn set_chord_size(&self, group_id: &str, chord_size: usize) -> Result<()>;
    /// Reports a finished chord header part (`meta` is its final state, `group_index` the
    /// message's `group_index` header); see [`ChordProgress`].
    async fn chord_part_return(
        &self,
        group_id: &str,
        group_index: Option<usize>,
        meta: &TaskMeta,
    ) -> Result<ChordProgress>;
    /// Releases the claim after the chord body was published and removes the chord's state.
    async fn chord_done(&self, claim: &ChordClaim) -> Result<()>;
}

/// The backend named by Celery's `result_backend` URL: `redis://[:password@]host[:port][/db]`
/// (or `rediss://`), `rpc://` (needs the `bus`), and `disabled` or empty for none.
pub async fn backend_from_url(url: &str, bus: Option<SharedBus>) -> Result<Option<Arc<dyn ResultBackend>>> {
    let url = url.trim();
    if url.is_empty() || url == "disabled" {
        return Ok(None);
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+socket://") {
        return Ok(Some(Arc::new(RedisBackend::connect(url).await?)));
    }
    if url.starts_with("rpc://") {
        let bus = bus.ok_or_else(|| BackendError::InvalidUrl(format!("{url} (rpc:// needs a bus)")))?;
        return Ok(Some(Arc::new(RpcBackend::new(bus))));
    }
    Err(BackendError::InvalidUrl(url.to_owned()))
}
