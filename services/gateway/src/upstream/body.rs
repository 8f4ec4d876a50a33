//! A streamed request body that can be sent again if an attempt failed before any response.
//!
//! The incoming body is streamed to the upstream chunk by chunk (never collected first). The chunks
//! an attempt has read are remembered up to [`REPLAY_LIMIT`] bytes, so a retry replays them and
//! then continues with the rest of the incoming body. Past the limit the memory is dropped and the
//! body can no longer be replayed (large uploads are streamed once).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use axum::body::{Body, BodyDataStream, Bytes};
use futures::StreamExt;

/// How many bytes of an in-flight body are kept for a retry.
pub const REPLAY_LIMIT: usize = 256 * 1024;

struct Shared {
    /// The part of the incoming body no attempt has read yet (`None` once it ended).
    source: Option<BodyDataStream>,
    /// The chunks read so far, while they fit in [`REPLAY_LIMIT`].
    sent: Vec<Bytes>,
    sent_len: usize,
    /// More than [`REPLAY_LIMIT`] was read: no replay possible.
    overflowed: bool,
    /// The attempt allowed to read; older attempts get an error if they poll again.
    attempt: u64,
}

/// The request body of one forwarded request.
pub struct ReplayableBody {
    shared: Arc<Mutex<Shared>>,
    empty: bool,
}

impl ReplayableBody {
    /// Wraps `body`; `empty` says the request has no body (sent as an empty body, no stream).
    pub fn new(body: Body, empty: bool) -> Self {
        let shared = Shared {
            source: Some(body.into_data_stream()),
            sent: Vec::new(),
            sent_len: 0,
            overflowed: false,
            attempt: 0,
        };
        Self {
            shared: Arc::new(Mutex::new(shared)),
            empty,
        }
    }

    /// True when another attempt can send the whole body again.
    pub fn replayable(&self) -> bool {
        self.empty || !lock(&self.shared).overflowed
    }

    /// The body of a new attempt (which supersedes earlier ones), or `None` when it cannot be replayed.
    pub fn attempt(&self) -> Option<reqwest::Body> {
        if self.empty {
            return Some(reqwest::Body::from(Bytes::new()));
        }
        let attempt = {
            let mut shared = lock(&self.shared);
            if shared.overflowed {
                return None;
            }
            shared.attempt += 1;
            shared.attempt
        };
        let shared = Arc::clone(&self.shared);
        let mut replayed = 0;
        let stream = futures::stream::poll_fn(move |cx| {
            let mut shared = lock(&shared);
            if shared.attempt != attempt {
                let superseded = std::io::Error::other("superseded by a retry");
                return Poll::Ready(Some(Err(axum::Error::new(superseded))));
            }
            if let Some(chunk) = shared.sent.get(replayed).cloned() {
                replayed += 1;
                return Poll::Ready(Some(Ok(chunk)));
            }
            let Some(source) = shared.source.as_mut() else {
                return Poll::Ready(None);
            };
            let polled = source.poll_next_unpin(cx);
            match &polled {
                Poll::Ready(Some(Ok(chunk))) => {
                    shared.sent_len += chunk.len();
                    if shared.sent_len <= REPLAY_LIMIT {
                        shared.sent.push(chunk.clone());
                        replayed = shared.sent.len();
                    } else if !shared.overflowed {
                        shared.overflowed = true;
                        shared.sent = Vec::new();
                    }
                }
                Poll::Ready(None) => shared.source = None,
                Poll::Ready(Some(Err(_))) | Poll::Pending => {}
            }
            polled
        });
        Some(reqwest::Body::wrap_stream(stream))
    }
}

fn lock(mutex: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn chunked(chunks: Vec<Vec<u8>>) -> Body {
        let items: Vec<Result<Vec<u8>, std::io::Error>> = chunks.into_iter().map(Ok).collect();
        Body::from_stream(futures::stream::iter(items))
    }

    async fn read_some(body: reqwest::Body, chunks: usize) {
        let mut stream = http_body_util::BodyDataStream::new(body);
        for _ in 0..chunks {
            stream.next().await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_retry_replays_what_was_read_then_the_rest() {
        let body = ReplayableBody::new(chunked(vec![b"ab".to_vec(), b"cd".to_vec(), b"ef".to_vec()]), false);
        drop(body.attempt().unwrap()); // never polled: as after a connect error
        read_some(body.attempt().unwrap(), 2).await; // cut after two chunks: as after a reset
        assert!(body.replayable());
        let third = body.attempt().unwrap();
        assert_eq!(&third.collect().await.unwrap().to_bytes()[..], b"abcdef");
    }

    #[tokio::test]
    async fn an_old_attempt_cannot_read_after_a_retry() {
        let body = ReplayableBody::new(chunked(vec![b"ab".to_vec(), b"cd".to_vec()]), false);
        let old = body.attempt().unwrap();
        let new = body.attempt().unwrap();
        assert!(old.collect().await.is_err());
        assert_eq!(&new.collect().await.unwrap().to_bytes()[..], b"abcd");
    }

    #[tokio::test]
    async fn large_bodies_stream_once() {
        let body = ReplayableBody::new(chunked(vec![vec![1; REPLAY_LIMIT], vec![2; 10]]), false);
        let bytes = body.attempt().unwrap().collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), REPLAY_LIMIT + 10);
        assert!(!body.replayable());
        assert!(body.attempt().is_none());
    }
}
