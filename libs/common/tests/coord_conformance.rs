#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One conformance suite for the coordination port, run against the in-process adapter and real
//! Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`). Each Redis case gets a unique key prefix
//! and deletes its keys at the end. A missing Redis fails the Redis cases.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use myelin_common::coord::memory::MemoryCoord;
use myelin_common::coord::redis::{RedisCoord, RedisSettings};
use myelin_common::coord::{Coord, SharedCoord, StreamEntry};
use tokio::time::{Instant, timeout};

/// Upper bound for anything a test waits on.
const DEADLINE: Duration = Duration::from_secs(10);

fn b(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// Polls `check` until it returns true or the deadline passes; returns the time it took.
async fn eventually<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

async fn next(stream: &mut BoxStream<'static, Bytes>) -> Bytes {
    timeout(DEADLINE, stream.next())
        .await
        .expect("no message before the deadline")
        .expect("subscription ended")
}

// ---------------------------------------------------------------- cases

async fn kv_get_set_overwrite_delete(coord: SharedCoord) {
    assert_eq!(coord.get("k").await.unwrap(), None);
    coord.set("k", b("one"), None).await.unwrap();
    assert_eq!(coord.get("k").await.unwrap(), Some(b("one")));
    coord.set("k", b("two"), None).await.unwrap();
    assert_eq!(coord.get("k").await.unwrap(), Some(b("two")));
    assert_eq!(coord.ttl("k").await.unwrap(), None, "a key set without TTL has none");
    let binary = Bytes::from_static(&[0, 159, 146, 150, 255]);
    coord.set("bin", binary.clone(), None).await.unwrap();
    assert_eq!(coord.get("bin").await.unwrap(), Some(binary));
    assert!(coord.delete("k").await.unwrap());
    assert!(
        !coord.delete("k").await.unwrap(),
        "deleting twice reports nothing deleted"
    );
    assert_eq!(coord.get("k").await.unwrap(), None);
}

async fn kv_ttl_expiry(coord: SharedCoord) {
    coord
        .set("short", b("v"), Some(Duration::from_millis(200)))
        .await
        .unwrap();
    coord.set("long", b("v"), Some(Duration::from_secs(60))).await.unwrap();
    let ttl = coord.ttl("short").await.unwrap().expect("a TTL was set");
    assert!(ttl <= Duration::from_millis(200), "ttl {ttl:?}");
    assert_eq!(coord.get("short").await.unwrap(), Some(b("v")));
    let took = eventually("the short key expires", || async {
        coord.get("short").await.unwrap().is_none()
    })
    .await;
    assert!(took >= Duration::from_millis(100), "expired too early: {took:?}");
    assert_eq!(coord.ttl("short").await.unwrap(), None);
    assert_eq!(coord.get("long").await.unwrap(), Some(b("v")), "a longer TTL survives");
    // Overwriting without TTL makes the key persistent.
    coord.set("long", b("w"), None).await.unwrap();
    assert_eq!(coord.ttl("long").await.unwrap(), None);
    // An expired key is absent for set_nx too.
    coord
        .set("lease", b("a"), Some(Duration::from_millis(100)))
        .await
        .unwrap();
    eventually("set_nx succeeds once the lease expired", || async {
        coord.set_nx("lease", b("b"), None).await.unwrap()
    })
    .await;
    assert_eq!(coord.get("lease").await.unwrap(), Some(b("b")));
}

async fn set_nx_has_exactly_one_winner(coord: SharedCoord) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let coord = coord.clone();
            tokio::spawn(async move {
                coord
                    .set_nx(
                        "leader",
                        Bytes::from(format!("replica-{i}")),
                        Some(Duration::from_secs(30)),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(timeout(DEADLINE, task).await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);
    let value = coord.get("leader").await.unwrap().unwrap();
    assert!(value.starts_with(b"replica-"));
    assert!(coord.ttl("leader").await.unwrap().is_some());
}

async fn delete_if_eq_only_deletes_own_value(coord: SharedCoord) {
    coord.set("lock", b("me"), None).await.unwrap();
    assert!(!coord.delete_if_eq("lock", b"someone-else").await.unwrap());
    assert_eq!(coord.get("lock").await.unwrap(), Some(b("me")));
    assert!(coord.delete_if_eq("lock", b"me").await.unwrap());
    assert_eq!(coord.get("lock").await.unwrap(), None);
    assert!(
        !coord.delete_if_eq("lock", b"me").await.unwrap(),
        "nothing left to delete"
    );
}

async fn incr_is_atomic(coord: SharedCoord) {
    assert_eq!(coord.incr("n", 0).await.unwrap(), 0, "a missing counter counts as 0");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let coord = coord.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    coord.incr("n", 2).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        timeout(DEADLINE, task).await.unwrap().unwrap();
    }
    assert_eq!(coord.incr("n", -1000).await.unwrap(), 0);
    assert_eq!(coord.incr("n", -5).await.unwrap(), -5);
    assert_eq!(coord.get("n").await.unwrap(), Some(b("-5")));
    coord.set("text", b("not a number"), None).await.unwrap();
    assert!(coord.incr("text", 1).await.is_err());
}

async fn semaphore_limits_releases_and_expires(coord: SharedCoord) {
    let lease = Duration::from_secs(30);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let coord = coord.clone();
            tokio::spawn(async move { coord.try_acquire("slots", &format!("h{i}"), 3, lease).await.unwrap() })
        })
        .collect();
    let mut held = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if timeout(DEADLINE, task).await.unwrap().unwrap() {
            held.push(format!("h{i}"));
        }
    }
    assert_eq!(held.len(), 3, "exactly the limit gets a slot");
    assert_eq!(coord.holders("slots").await.unwrap(), 3);

    // Re-acquiring by a holder is idempotent and refreshes, it takes no second slot.
    assert!(coord.try_acquire("slots", &held[0], 3, lease).await.unwrap());
    assert_eq!(coord.holders("slots").await.unwrap(), 3);
    assert!(!coord.try_acquire("slots", "late", 3, lease).await.unwrap());

    coord.release("slots", &held[0]).await.unwrap();
    assert_eq!(coord.holders("slots").await.unwrap(), 2);
    assert!(coord.try_acquire("slots", "late", 3, lease).await.unwrap());
    assert!(!coord.try_acquire("slots", "later", 3, lease).await.unwrap());
    coord.release("slots", "never-held").await.unwrap();
    assert_eq!(coord.holders("slots").await.unwrap(), 3);

    // A crashed holder's lease runs out and frees its slot.
    let short = Duration::from_millis(300);
    assert!(coord.try_acquire("crash", "dead", 1, short).await.unwrap());
    assert!(!coord.try_acquire("crash", "alive", 1, short).await.unwrap());
    let took = eventually("the expired lease frees the slot", || async {
        coord.try_acquire("crash", "alive", 1, lease).await.unwrap()
    })
    .await;
    assert!(took >= Duration::from_millis(150), "slot freed too early: {took:?}");
    assert_eq!(coord.holders("crash").await.unwrap(), 1);

    // Refreshing keeps a holder alive past its first lease.
    assert!(coord.try_acquire("keep", "me", 1, short).await.unwrap());
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(coord.try_acquire("keep", "me", 1, short).await.unwrap());
    }
    assert!(
        !coord.try_acquire("keep", "other", 1, short).await.unwrap(),
        "refreshed lease still holds"
    );
}

async fn pubsub_delivers_in_order_to_current_subscribers(coord: SharedCoord) {
    let mut first = coord.subscribe("events").await.unwrap();
    let mut second = coord.subscribe("events").await.unwrap();
    let dropped = coord.subscribe("events").await.unwrap();
    drop(dropped);
    let mut other = coord.subscribe("other").await.unwrap();
    for i in 0..20 {
        coord.publish("events", Bytes::from(i.to_string())).await.unwrap();
    }
    for subscriber in [&mut first, &mut second] {
        for i in 0..20 {
            assert_eq!(next(subscriber).await, Bytes::from(i.to_string()));
        }
    }
    // Fire and forget: a late subscriber only sees what is published after it subscribed.
    let mut late = coord.subscribe("events").await.unwrap();
    coord.publish("events", b("after")).await.unwrap();
    assert_eq!(next(&mut late).await, b("after"));
    assert_eq!(next(&mut first).await, b("after"));
    // Other channels see nothing of it.
    coord.publish("other", b("mark")).await.unwrap();
    assert_eq!(next(&mut other).await, b("mark"));

    // A subscriber that does not read never blocks the publisher; it gets the newest messages.
    let mut slow = coord.subscribe("flood").await.unwrap();
    timeout(DEADLINE, async {
        for i in 0..5000u32 {
            coord.publish("flood", Bytes::from(i.to_string())).await.unwrap();
        }
    })
    .await
    .expect("publishing to a slow subscriber must not block");
    let mut last = None;
    while last != Some(4999) {
        let n: u32 = std::str::from_utf8(&next(&mut slow).await).unwrap().parse().unwrap();
        assert!(last.is_none_or(|last| n > last), "out of order: {n} after {last:?}");
        last = Some(n);
    }
}

fn ids(entries: &[StreamEntry]) -> Vec<String> {
    entries.iter().map(|entry| entry.id.clone()).collect()
}

fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').expect("ids look like <ms>-<seq>");
    (ms.parse().unwrap(), seq.parse().unwrap())
}

async fn streams_append_read_block_and_trim(coord: SharedCoord) {
    assert_eq!(coord.xlen("log").await.unwrap(), 0);
    assert!(coord.xread("log", "0", 10, None).await.unwrap().is_empty());
    let mut added = Vec::new();
    for i in 0..50 {
        let fields = vec![
            ("line".to_owned(), Bytes::from(format!("line {i}"))),
            ("fd".to_owned(), b("1")),
        ];
        added.push(coord.xadd("log", fields, None).await.unwrap());
    }
    for pair in added.windows(2) {
        assert!(id_key(&pair[0]) < id_key(&pair[1]), "ids increase: {pair:?}");
    }
    assert_eq!(coord.xlen("log").await.unwrap(), 50);

    let all = coord.xread("log", "0", 100, None).await.unwrap();
    assert_eq!(ids(&all), added);
    assert_eq!(
        all[7].fields,
        vec![("line".to_owned(), b("line 7")), ("fd".to_owned(), b("1"))]
    );
    let page = coord.xread("log", &added[9], 5, None).await.unwrap();
    assert_eq!(ids(&page), added[10..15]);
    assert!(coord.xread("log", &added[49], 5, None).await.unwrap().is_empty());

    // A short block with nothing new returns empty after about the block time.
    let start = Instant::now();
    assert!(
        coord
            .xread("log", &added[49], 5, Some(Duration::from_millis(300)))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "returned after {:?}",
        start.elapsed()
    );

    // A blocked reader wakes when another task appends.
    let writer = {
        let coord = coord.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            coord
                .xadd("log", vec![("line".to_owned(), b("late"))], None)
                .await
                .unwrap()
        })
    };
    let start = Instant::now();
    let woke = coord.xread("log", &added[49], 5, Some(DEADLINE)).await.unwrap();
    assert!(start.elapsed() < DEADLINE / 2, "the append woke the reader");
    let late_id = timeout(DEADLINE, writer).await.unwrap().unwrap();
    assert_eq!(ids(&woke), std::slice::from_ref(&late_id));
    assert_eq!(woke[0].fields, vec![("line".to_owned(), b("late"))]);

    // A reader blocked on a stream that does not exist yet wakes too.
    let writer = {
        let coord = coord.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            coord.xadd("fresh", vec![("k".to_owned(), b("v"))], None).await.unwrap()
        })
    };
    let woke = coord.xread("fresh", "0", 5, Some(DEADLINE)).await.unwrap();
    assert_eq!(ids(&woke), [timeout(DEADLINE, writer).await.unwrap().unwrap()]);

    // Trimming keeps about `max_len` newest entries (Redis trims whole nodes: at least max_len).
    let mut trimmed = Vec::new();
    for i in 0..300 {
        trimmed.push(
            coord
                .xadd("capped", vec![("n".to_owned(), Bytes::from(i.to_string()))], Some(20))
                .await
                .unwrap(),
        );
    }
    let len = coord.xlen("capped").await.unwrap();
    assert!((20..300).contains(&len), "xlen after trimming: {len}");
    let kept = coord.xread("capped", "0", 1000, None).await.unwrap();
    assert_eq!(kept.len() as u64, len);
    assert_eq!(
        ids(&kept),
        trimmed[300 - kept.len()..],
        "the newest entries are the ones kept"
    );
    assert!(id_key(&late_id) > id_key(&added[49]));
}

// ---------------------------------------------------------------- adapters

fn memory_coord() -> SharedCoord {
    Arc::new(MemoryCoord::new())
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis_coord(prefix: &str) -> SharedCoord {
    let settings = RedisSettings {
        key_prefix: prefix.to_owned(),
        ..RedisSettings::default()
    };
    let coord = RedisCoord::connect(&redis_url(), &settings)
        .await
        .unwrap_or_else(|err| panic!("Redis at {} is required for these tests: {err}", redis_url()));
    assert!(coord.is_healthy().await);
    Arc::new(coord)
}

/// Deletes every key under `prefix` (SCAN + DEL), returning how many there were.
async fn delete_prefix(prefix: &str) -> usize {
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor: u64 = 0;
    let mut keys = HashSet::new();
    loop {
        let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    if !keys.is_empty() {
        ::redis::cmd("DEL")
            .arg(keys.iter().collect::<Vec<_>>())
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
    keys.len()
}

/// Runs a case on Redis under a fresh prefix, then deletes its keys even when the case failed.
async fn on_redis<F, Fut>(case: F)
where
    F: FnOnce(SharedCoord) -> Fut,
    Fut: Future<Output = ()>,
{
    let prefix = format!("test:{}:", uuid::Uuid::new_v4());
    let coord = redis_coord(&prefix).await;
    let outcome = std::panic::AssertUnwindSafe(case(coord)).catch_unwind().await;
    delete_prefix(&prefix).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::memory_coord()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::on_redis(super::$case).await;
                }
            )*
        }
    };
}

conformance!(
    kv_get_set_overwrite_delete,
    kv_ttl_expiry,
    set_nx_has_exactly_one_winner,
    delete_if_eq_only_deletes_own_value,
    incr_is_atomic,
    semaphore_limits_releases_and_expires,
    pubsub_delivers_in_order_to_current_subscribers,
    streams_append_read_block_and_trim,
);

/// The prefix isolates adapters sharing one Redis, and the cleanup above really finds the keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_prefixes_isolate_and_cleanup_finds_every_key() {
    let (a, b_prefix) = (
        format!("test:{}:", uuid::Uuid::new_v4()),
        format!("test:{}:", uuid::Uuid::new_v4()),
    );
    let (left, right) = (redis_coord(&a).await, redis_coord(&b_prefix).await);
    left.set("shared", b("left"), None).await.unwrap();
    assert_eq!(right.get("shared").await.unwrap(), None);
    left.xadd("s", vec![("k".to_owned(), b("v"))], None).await.unwrap();
    assert!(left.try_acquire("sem", "h", 1, Duration::from_secs(30)).await.unwrap());
    assert!(
        right
            .try_acquire("sem", "h2", 1, Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert_eq!(delete_prefix(&a).await, 3);
    assert_eq!(delete_prefix(&b_prefix).await, 1);
    assert_eq!(left.get("shared").await.unwrap(), None);
}

/// A MemoryCoord with a prefix behaves like one without (the prefix only namespaces its keys).
#[tokio::test]
async fn memory_prefix_is_transparent() {
    let coord = MemoryCoord::with_prefix("p:");
    coord.set("k", b("v"), None).await.unwrap();
    assert_eq!(coord.get("k").await.unwrap(), Some(b("v")));
    assert_eq!(
        coord.clone().get("k").await.unwrap(),
        Some(b("v")),
        "clones share state"
    );
}
