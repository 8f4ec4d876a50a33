#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The failed-login limiter on both coordination adapters: in-process and Redis (`REDIS_URL`,
//! default `redis://127.0.0.1:6379`; unreachable = failure), each with a unique key prefix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use myelin_auth::error::Error;
use myelin_auth::limits::{LoginLimiter, LoginLimits};
use myelin_common::coord::SharedCoord;
use myelin_common::coord::memory::MemoryCoord;
use myelin_common::coord::redis::{RedisCoord, RedisSettings};

fn prefix() -> String {
    format!("myelin-test-{}:", uuid::Uuid::now_v7())
}

async fn redis() -> SharedCoord {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let settings = RedisSettings {
        key_prefix: prefix(),
        ..RedisSettings::default()
    };
    let coord = RedisCoord::connect(&url, &settings)
        .await
        .unwrap_or_else(|e| panic!("Redis is required for this test (REDIS_URL={url}): {e}"));
    Arc::new(coord)
}

#[tokio::test]
async fn limiter_in_process() {
    limiter(Arc::new(MemoryCoord::with_prefix(prefix()))).await;
}

#[tokio::test]
async fn limiter_on_redis() {
    limiter(redis().await).await;
}

async fn limiter(coord: SharedCoord) {
    let limits = LoginLimits {
        max_failures: 3,
        // Long enough that a stalled test machine does not see the window end between two calls.
        window_secs: 3,
    };
    let limiter = LoginLimiter::new(coord, limits);
    limiter.check("alice").await.unwrap();
    for _ in 0..3 {
        limiter.failed("Alice").await;
    }
    let err = limiter.check("alice").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyAttempts {
                retry_after_secs: 1..=3
            }
        ),
        "{err:?}"
    );
    limiter.check("bob").await.unwrap();
    limiter.succeeded("alice").await;
    limiter.check("alice").await.unwrap();

    // The window ends by itself.
    for _ in 0..3 {
        limiter.failed("carol").await;
    }
    assert!(limiter.check("carol").await.is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while limiter.check("carol").await.is_err() {
        assert!(Instant::now() < deadline, "the window never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
