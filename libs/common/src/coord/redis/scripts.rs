//! The Lua scripts of the Redis adapter, each run atomically by the server (EVALSHA, loaded on
//! first use). Semaphore scripts read the server clock (`TIME`) so replicas agree on expiry even
//! when their own clocks drift; Redis 5+ replicates the effects of such scripts, not the script.

use std::sync::LazyLock;

use redis::Script;

/// Deletes KEYS[1] when its value is ARGV[1]; 1 when deleted.
pub(super) static DELETE_IF_EQ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
         return 0",
    )
});

/// Semaphore KEYS[1] (zset holder -> lease expiry ms): takes a slot for ARGV[1] with limit ARGV[2]
/// and lease ARGV[3] ms; refreshes the lease of a current holder. 1 when held afterwards.
pub(super) static TRY_ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local t = redis.call('TIME')
         local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
         local lease = tonumber(ARGV[3])
         redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
         if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
           return 0
         end
         redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
         if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
         return 1",
    )
});

/// Live holders of semaphore KEYS[1] (expired ones removed first).
pub(super) static HOLDERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local t = redis.call('TIME')
         local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
         redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
         return redis.call('ZCARD', KEYS[1])",
    )
});
