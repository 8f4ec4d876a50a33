//! Concurrency slots handed out strictly in the order tasks asked for them, so tasks start in
//! the order the broker delivered them (priority queues deliver the urgent ones first; a
//! semaphore raced by one tokio task per message would not keep that order).
//!
//! A task takes a [`Ticket`] when it is accepted (in delivery order; tasks held for an ETA or a
//! rate limit take theirs when due), waits on it for a [`Slot`], and frees the slot by dropping
//! it, which hands it to the oldest ticket still waiting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// The worker's concurrency slots.
pub(super) struct Slots {
    inner: Mutex<Inner>,
}

struct Inner {
    free: usize,
    waiting: VecDeque<oneshot::Sender<()>>,
}

/// A place in the queue for a slot.
pub(super) struct Ticket {
    slots: Arc<Slots>,
    rx: Option<oneshot::Receiver<()>>,
}

/// One running task's slot; dropping it frees the slot.
pub(super) struct Slot {
    slots: Arc<Slots>,
}

impl Slots {
    pub(super) fn new(count: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                free: count,
                waiting: VecDeque::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues for a slot, behind every earlier ticket.
    pub(super) fn ticket(self: &Arc<Self>) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        if inner.free > 0 && inner.waiting.is_empty() {
            inner.free -= 1;
            // The receiver is alive right here: the send cannot fail.
            let _ = tx.send(());
        } else {
            inner.waiting.push_back(tx);
        }
        Ticket {
            slots: self.clone(),
            rx: Some(rx),
        }
    }

    /// A freed slot goes to the oldest live waiter, else back to the pool.
    fn release(&self) {
        let mut inner = self.lock();
        while let Some(tx) = inner.waiting.pop_front() {
            if tx.send(()).is_ok() {
                return;
            }
        }
        inner.free += 1;
    }
}

impl Ticket {
    /// Waits for this ticket's turn.
    pub(super) async fn wait(mut self) -> Option<Slot> {
        let rx = self.rx.take()?;
        rx.await.ok()?;
        Some(Slot {
            slots: self.slots.clone(),
        })
    }
}

impl Drop for Ticket {
    /// A ticket given up after its slot was handed to it passes the slot on.
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.slots.release();
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_go_in_ticket_order_and_abandoned_tickets_pass_them_on() {
        let slots = Slots::new(1);
        let first = slots.ticket().wait().await.unwrap();
        let tickets: Vec<Ticket> = (0..4).map(|_| slots.ticket()).collect();
        let mut tickets = tickets.into_iter();
        let (a, b, c, d) = (
            tickets.next().unwrap(),
            tickets.next().unwrap(),
            tickets.next().unwrap(),
            tickets.next().unwrap(),
        );
        // `d` waits first (polled first), yet `a` was queued first.
        let d = tokio::spawn(d.wait());
        let a = tokio::spawn(a.wait());
        drop(b); // given up while waiting
        drop(first);
        let a = a.await.unwrap().expect("a gets the slot");
        assert!(!d.is_finished());
        let c_wait = c.wait();
        drop(a);
        let c = c_wait.await.expect("c is next: b gave up");
        drop(c);
        assert!(d.await.unwrap().is_some());
        // All free again.
        assert_eq!(slots.lock().free, 1);
    }
}
