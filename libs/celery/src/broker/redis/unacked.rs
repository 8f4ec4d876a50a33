//! kombu's ack emulation on Redis (`kombu/transport/redis.py`, class `QoS`).
//!
//! A delivered message is recorded in the hash `unacked` (delivery tag → JSON
//! `[message, exchange, routing_key]`) and the sorted set `unacked_index` (delivery tag → Unix
//! time of delivery). Ack removes both. Restoring a tag (`restore_by_tag`) removes both and pushes
//! the message, marked redelivered, back onto the lists its exchange and routing key route to:
//! RPUSH (the head: BRPOP pops from the right) when a consumer goes away or the visibility timeout
//! passed, LPUSH (the tail) for a nack with requeue — exactly as kombu. kombu does this in a
//! `WATCH unacked` transaction; we run the same steps in one Lua script that first checks the hash
//! entry is the one we read (a compare-and-set), which needs no connection of its own.
//!
//! `restore_visible` restores every tag delivered more than `visibility_timeout` ago, under the
//! lock `unacked_mutex` (redis-py's `Lock`: `SET NX PX`, released by token), so a worker killed
//! mid-task has its messages delivered again.

use std::time::{SystemTime, UNIX_EPOCH};

use myelin_common::bus::{Error, Result};
use redis::{AsyncCommands, Script};
use serde_json::Value;
use tracing::{debug, warn};

use super::envelope::{self, dumps};
use super::routing::queue_for_priority;
use super::{Inner, redis_err};

/// kombu's `unacked_key`.
pub const UNACKED: &str = "unacked";
/// kombu's `unacked_index_key`.
pub const UNACKED_INDEX: &str = "unacked_index";
/// kombu's `unacked_mutex_key`.
pub const UNACKED_MUTEX: &str = "unacked_mutex";

/// Removes the tag and pushes the message when the hash still holds what we read.
const RESTORE: &str = r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
if cur then
  for i = 3, #KEYS do redis.call(ARGV[3], KEYS[i], ARGV[4]) end
end
return #KEYS - 2
";

/// redis-py's `Lock.release`.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Inner {
    /// Records a delivery (`QoS.append`): ZADD `unacked_index` + HSET `unacked`, in one MULTI.
    pub(super) async fn append_unacked(&self, tag: &str, raw: &str, exchange: &str, routing_key: &str) -> Result<()> {
        let json = |s: &str| dumps(&s).map_err(|e| Error::Channel(format!("cannot encode {s:?}: {e}")));
        let entry = format!("[{raw}, {}, {}]", json(exchange)?, json(routing_key)?);
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .zadd(UNACKED_INDEX, tag, now_secs())
            .hset(UNACKED, tag, entry)
            .exec_async(&mut conn)
            .await
            .map_err(redis_err)
    }

    /// Forgets a delivery (`QoS._remove_from_indices`): ack, or nack without requeue.
    pub(super) async fn remove_unacked(&self, tag: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .zrem(UNACKED_INDEX, tag)
            .hdel(UNACKED, tag)
            .exec_async(&mut conn)
            .await
            .map_err(redis_err)
    }

    /// kombu's `restore_by_tag`: LPUSH when `leftmost` (nack + requeue), else RPUSH.
    pub(super) async fn restore_by_tag(&self, tag: &str, leftmost: bool) -> Result<()> {
        let script = Script::new(RESTORE);
        for _ in 0..16 {
            let mut conn = self.conn.clone();
            let current: Option<String> = conn.hget(UNACKED, tag).await.map_err(redis_err)?;
            let mut invocation = script.prepare_invoke();
            invocation.key(UNACKED).key(UNACKED_INDEX);
            let mut payload = String::new();
            if let Some(entry) = &current {
                match self.restore_target(entry).await {
                    Ok((lists, p)) => {
                        for list in lists {
                            invocation.key(list);
                        }
                        payload = p;
                    }
                    // kombu logs "Could not restore message" and still drops the entry.
                    Err(e) => warn!(tag, error = %e, "could not restore a message; dropping it"),
                }
            }
            invocation
                .arg(tag)
                .arg(current.as_deref().unwrap_or(""))
                .arg(if leftmost { "LPUSH" } else { "RPUSH" })
                .arg(payload);
            let done: i64 = invocation.invoke_async(&mut conn).await.map_err(redis_err)?;
            if done >= 0 {
                return Ok(());
            }
        }
        Err(Error::Channel(format!(
            "unacked entry {tag} kept changing while restoring it"
        )))
    }

    /// The lists a stored `[message, exchange, routing_key]` goes back to, and the message
    /// marked redelivered (`_do_restore_message`).
    async fn restore_target(&self, entry: &str) -> Result<(Vec<String>, String), String> {
        let parsed: Value = serde_json::from_str(entry).map_err(|e| e.to_string())?;
        let Some([message, Value::String(exchange), Value::String(routing_key)]) = parsed.as_array().map(Vec::as_slice)
        else {
            return Err("not [message, exchange, routing_key]".into());
        };
        let mut message = message.clone();
        envelope::mark_redelivered(&mut message);
        let priority = envelope::priority_of(&message);
        let payload = dumps(&message).map_err(|e| e.to_string())?;
        let queues = self.lookup(exchange, routing_key).await.map_err(|e| e.to_string())?;
        let steps = &self.options.priority_steps;
        let lists = queues.iter().map(|q| queue_for_priority(steps, q, priority)).collect();
        Ok((lists, payload))
    }

    /// kombu's `QoS.restore_visible`: restores what was delivered more than the visibility
    /// timeout ago (at most `unacked_restore_limit` tags), unless another process holds
    /// `unacked_mutex`. Returns how many tags were restored.
    pub(super) async fn restore_visible(&self) -> Result<usize> {
        let mut conn = self.conn.clone();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let expire_ms = u64::try_from(self.options.unacked_mutex_expire.as_millis()).unwrap_or(u64::MAX);
        let acquired: Option<String> = redis::cmd("SET")
            .arg(UNACKED_MUTEX)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(expire_ms.max(1))
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        if acquired.is_none() {
            debug!("unacked_mutex is held elsewhere; skipping restore_visible");
            return Ok(0);
        }
        let result = self.restore_overdue().await;
        let released: redis::RedisResult<i64> = Script::new(RELEASE)
            .key(UNACKED_MUTEX)
            .arg(&token)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = released {
            warn!(error = %e, "cannot release unacked_mutex (it expires by itself)");
        }
        result
    }

    async fn restore_overdue(&self) -> Result<usize> {
        let ceil = now_secs() - self.options.visibility_timeout.as_secs_f64();
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(UNACKED_INDEX).arg(ceil).arg(0).arg("BYSCORE").arg("REV");
        if let Some(limit) = self.options.unacked_restore_limit {
            cmd.arg("LIMIT").arg(0).arg(limit);
        }
        let mut conn = self.conn.clone();
        let tags: Vec<String> = cmd.query_async(&mut conn).await.map_err(redis_err)?;
        for tag in &tags {
            self.restore_by_tag(tag, false).await?;
        }
        if !tags.is_empty() {
            debug!(count = tags.len(), "restored messages past the visibility timeout");
        }
        Ok(tags.len())
    }
}
