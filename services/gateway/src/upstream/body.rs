//! A streamed request body that can be taken back if the upstream never read any of it.
//!
//! The body is handed to reqwest as a stream that takes the real body out of a shared slot on its
//! first poll. If connecting to a replica fails, reqwest never polled it, so the untouched body is
//! still in the slot and the request can go to another replica. Nothing is buffered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use axum::body::{Body, BodyDataStream};
use futures::StreamExt;

/// The request body of one forwarded request.
pub struct ReplayableBody {
    slot: Arc<Mutex<Option<Body>>>,
    touched: Arc<AtomicBool>,
    empty: bool,
}

impl ReplayableBody {
    /// Wraps `body`; `empty` says the request declared no body (sent as an empty body, no stream).
    pub fn new(body: Body, empty: bool) -> Self {
        Self { slot: Arc::new(Mutex::new(Some(body))), touched: Arc::new(AtomicBool::new(false)), empty }
    }

    /// A reqwest body reading from the slot, or `None` when the body was already read.
    pub fn take_for_send(&self) -> Option<reqwest::Body> {
        if self.empty {
            return Some(reqwest::Body::from(Vec::new()));
        }
        if self.touched.load(Ordering::SeqCst) || lock(&self.slot).is_none() {
            return None;
        }
        let slot = Arc::clone(&self.slot);
        let touched = Arc::clone(&self.touched);
        let mut stream: Option<BodyDataStream> = None;
        let polled = futures::stream::poll_fn(move |cx| {
            if stream.is_none() {
                touched.store(true, Ordering::SeqCst);
                stream = lock(&slot).take().map(Body::into_data_stream);
            }
            match stream.as_mut() {
                Some(stream) => stream.poll_next_unpin(cx),
                None => Poll::Ready(None),
            }
        });
        Some(reqwest::Body::wrap_stream(polled))
    }

    /// True while no byte of the body was read (so another attempt is safe).
    pub fn untouched(&self) -> bool {
        self.empty || !self.touched.load(Ordering::SeqCst)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn body_is_reusable_until_read() {
        let body = ReplayableBody::new(Body::from("hello"), false);
        let first = body.take_for_send().unwrap();
        drop(first); // never polled: as after a connect error
        assert!(body.untouched());
        let second = body.take_for_send().unwrap();
        let bytes = second.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert!(!body.untouched());
        assert!(body.take_for_send().is_none());
    }
}
