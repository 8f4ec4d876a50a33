//! Celery's Redis result backend (`celery/backends/redis.py`).
//!
//! - task state: `celery-task-meta-<id>` = the meta JSON, written with SETEX (`result_expires`,
//!   default one day) and PUBLISHed on the channel of the same name (Python's `ResultConsumer`
//!   subscribes there). A stored `SUCCESS` is never overwritten: read and write are one Lua script.
//! - groups: `celery-taskset-meta-<gid>` = `{"result": [[gid, null], [[[id, null], null], ...]]}`.
//! - chords, exactly as Celery 5.7: `<gkey>.s` chord size (set by the sender), `<gkey>.j` zset of
//!   `[1, id, state, result]` scored by `group_index`, `<gkey>.t` size adjustment (`add_to_chord`),
//!   `<gkey>.d` parts seen (`id:index`, so redeliveries count once), `<gkey>.c` dispatch claim
//!   (`done` once cleaned up), all updated by Celery's own Lua scripts, so Python and Rust workers
//!   can complete the same chord.
//!
//! Not covered: headers made of nested groups (Celery then joins the saved `GroupResult`; we read
//! the flat `.j` list), `result_chord_ordered = False` (Celery's list layout), compression, and
//! `global_keyprefix`.

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{AsyncCommands, Client, Script};
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Value, json};

use super::{
    BackendError, ChordClaim, ChordProgress, DEFAULT_RESULT_EXPIRES, ExceptionInfo, ReplyTarget, Result, ResultBackend,
    TaskMeta, TaskState,
};

const TASK_PREFIX: &str = "celery-task-meta-";
const GROUP_PREFIX: &str = "celery-taskset-meta-";
/// `max(5, int(result_chord_join_timeout * 2))` with Celery's default join timeout of 3 s.
const CLAIM_EXPIRES: u64 = 6;
/// `int(max(claim_expires * 2, 300))`: how long the `done` marker keeps late duplicates out.
const DONE_EXPIRES: u64 = 300;

/// Stores unless a SUCCESS is stored already; SET(EX) then PUBLISH on the key's channel.
const STORE_LUA: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
    local ok, m = pcall(cjson.decode, cur)
    if ok and type(m) == 'table' and m['status'] == 'SUCCESS' then
        return 0
    end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
    redis.call('SETEX', KEYS[1], ttl, ARGV[1])
else
    redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
";

/// Celery 5.7's `CHORD_PART_RETURN_LUA`, verbatim in behaviour (ordered zset layout).
const CHORD_PART_RETURN_LUA: &str = include_str!("chord_part_return.lua");

/// Celery 5.7's `CHORD_CLEANUP_LUA`.
const CHORD_CLEANUP_LUA: &str = r"
local ckey = KEYS[1]
local jkey = KEYS[2]
local tkey = KEYS[3]
local skey = KEYS[4]
local dkey = KEYS[5]
local token = ARGV[1]
local done_expires = tonumber(ARGV[2])

if redis.call('GET', ckey) == token then
    redis.call('DEL', jkey, tkey, skey, dkey)
    if done_expires and done_expires > 0 then
        redis.call('SET', ckey, 'done', 'EX', done_expires)
    end
    return 1
end
return 0
";

/// The Redis result backend.
#[derive(Clone)]
pub struct RedisBackend {
    client: Client,
    conn: ConnectionManager,
    /// `result_expires` in seconds (0 = keep forever); also the chord expiry.
    expires: u64,
}

impl RedisBackend {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`, `rediss://...`).
    pub async fn connect(url: &str) -> Result<Self> {
        let client = Client::open(url).map_err(|_| BackendError::InvalidUrl(url.to_owned()))?;
        let conn = client.get_connection_manager().await?;
        Ok(Self {
            client,
            conn,
            expires: DEFAULT_RESULT_EXPIRES.as_secs(),
        })
    }

    /// Sets `result_expires` (`None` keeps results forever; default one day).
    pub fn with_expires(mut self, expires: Option<Duration>) -> Self {
        self.expires = expires.map_or(0, |d| d.as_secs().max(1));
        self
    }

    /// `celery-task-meta-<task_id>`: the key and the PUBLISH channel of a task's state.
    pub fn task_key(task_id: &str) -> String {
        format!("{TASK_PREFIX}{task_id}")
    }

    /// `celery-taskset-meta-<group_id><suffix>`: a group's key, or a chord key with a suffix.
    pub fn group_key(group_id: &str, suffix: &str) -> String {
        format!("{GROUP_PREFIX}{group_id}{suffix}")
    }

    async fn set_and_publish(&self, key: &str, value: &str) -> Result<()> {
        let mut pipe = ::redis::pipe();
        if self.expires > 0 {
            pipe.set_ex(key, value, self.expires).ignore();
        } else {
            pipe.set(key, value).ignore();
        }
        pipe.publish(key, value).ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }
}

#[async_trait]
impl ResultBackend for RedisBackend {
    async fn store(&self, meta: &TaskMeta, _reply: Option<&ReplyTarget>) -> Result<()> {
        let mut conn = self.conn.clone();
        let _stored: i64 = Script::new(STORE_LUA)
            .key(Self::task_key(&meta.task_id))
            .arg(meta.to_json()?)
            .arg(self.expires)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskMeta>> {
        let mut conn = self.conn.clone();
        let raw: Option<Vec<u8>> = conn.get(Self::task_key(task_id)).await?;
        Ok(raw.map(|raw| TaskMeta::from_json(&raw)).transpose()?)
    }

    /// Subscribes to the task's channel, then reads the key (so a state stored in between is not
    /// missed), then waits for published states until one is ready.
    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<TaskMeta> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || BackendError::Timeout {
            task_id: task_id.to_owned(),
            timeout,
        };
        let key = Self::task_key(task_id);
        let mut pubsub = tokio::time::timeout_at(deadline, self.client.get_async_pubsub())
            .await
            .map_err(|_| timed_out())??;
        pubsub.subscribe(&key).await?;
        if let Some(meta) = self.get(task_id).await?
            && meta.status.is_ready()
        {
            return Ok(meta);
        }
        let mut messages = pubsub.on_message();
        loop {
            let msg = tokio::time::timeout_at(deadline, messages.next())
                .await
                .map_err(|_| timed_out())?
                .ok_or_else(|| BackendError::Closed(format!("subscription to {key} ended")))?;
            let meta = TaskMeta::from_json(msg.get_payload_bytes())?;
            if meta.status.is_ready() {
                return Ok(meta);
            }
        }
    }

    async fn forget(&self, task_id: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.del(Self::task_key(task_id)).await?;
        Ok(())
    }

    async fn save_group(&self, group_id: &str, task_ids: &[String]) -> Result<()> {
        let members: Vec<Value> = task_ids.iter().map(|id| json!([[id, null], null])).collect();
        let value = json!({"result": [[group_id, null], members]}).to_string();
        self.set_and_publish(&Self::group_key(group_id, ""), &value).await
    }

    async fn restore_group(&self, group_id: &str) -> Result<Option<Vec<String>>> {
        let mut conn = self.conn.clone();
        let raw: Option<Vec<u8>> = conn.get(Self::group_key(group_id, "")).await?;
        let Some(raw) = raw else { return Ok(None) };
        let value: Value = serde_json::from_slice(&raw)?;
        let members = value["result"][1].as_array().cloned().unwrap_or_default();
        let ids = members
            .iter()
            .filter_map(|m| m[0][0].as_str().map(str::to_owned))
            .collect();
        Ok(Some(ids))
    }

    /// Celery's `set_chord_size`: drops a previous run's claim, then sets `.s`.
    async fn set_chord_size(&self, group_id: &str, chord_size: usize) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.del(Self::group_key(group_id, ".c")).await?;
        let skey = Self::group_key(group_id, ".s");
        if self.expires > 0 {
            let _: () = conn.set_ex(skey, chord_size, self.expires).await?;
        } else {
            let _: () = conn.set(skey, chord_size).await?;
        }
        Ok(())
    }

    async fn chord_part_return(
        &self,
        group_id: &str,
        group_index: Option<usize>,
        meta: &TaskMeta,
    ) -> Result<ChordProgress> {
        let key = |suffix| Self::group_key(group_id, suffix);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let encoded = json!([1, meta.task_id, meta.status, meta.result]).to_string();
        let score = group_index.map_or_else(|| "+inf".to_owned(), |i| i.to_string());
        let mut conn = self.conn.clone();
        let (ready, totaldiff, size, claimed): (i64, Option<i64>, Option<i64>, i64) =
            Script::new(CHORD_PART_RETURN_LUA)
                .key(key(".j"))
                .key(key(".t"))
                .key(key(".s"))
                .key(key(".d"))
                .key(key(""))
                .key(key(".c"))
                .arg(&meta.task_id)
                .arg(encoded)
                .arg(1)
                .arg(score)
                .arg(self.expires)
                .arg(self.expires)
                .arg(CLAIM_EXPIRES)
                .arg(&token)
                .invoke_async(&mut conn)
                .await?;
        let Some(size) = size else {
            return Ok(ChordProgress::Waiting);
        };
        if ready < 0 || claimed != 1 || ready != size + totaldiff.unwrap_or(0) {
            return Ok(ChordProgress::Waiting);
        }
        let parts: Vec<Vec<u8>> = conn.zrange(key(".j"), 0, -1).await?;
        let mut results = Vec::with_capacity(parts.len());
        for part in parts {
            let (_, task_id, state, result): (Value, String, TaskState, Value) = serde_json::from_slice(&part)?;
            if state.propagates() {
                let error = ExceptionInfo::from_value(&result)
                    .unwrap_or_else(|| ExceptionInfo::new("builtins", "Exception", vec![result]));
                let message = format!("Dependency {task_id} raised {}", error.repr());
                // As Celery: drop the size so a late copy of a part does not fail the chord again.
                let _: i64 = conn.del(key(".s")).await?;
                return Ok(ChordProgress::Failed {
                    task_id,
                    error,
                    message,
                });
            }
            results.push(result);
        }
        let claim = ChordClaim {
            group_id: group_id.to_owned(),
            token,
        };
        Ok(ChordProgress::Complete { results, claim })
    }

    async fn chord_done(&self, claim: &ChordClaim) -> Result<()> {
        let key = |suffix| Self::group_key(&claim.group_id, suffix);
        let mut conn = self.conn.clone();
        let _cleaned: i64 = Script::new(CHORD_CLEANUP_LUA)
            .key(key(".c"))
            .key(key(".j"))
            .key(key(".t"))
            .key(key(".s"))
            .key(key(".d"))
            .arg(&claim.token)
            .arg(DONE_EXPIRES)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }
}
