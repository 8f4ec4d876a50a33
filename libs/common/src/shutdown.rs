//! Graceful shutdown: [`signal`] gives the token every `run_until_stopped` takes, cancelled on the first
//! SIGINT/SIGTERM; a second signal exits the process at once (exit code 130). [`drain`] bounds how long
//! in-flight work may take once shutdown has begun.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Exit code used when a second signal interrupts the drain.
pub const FORCED_EXIT_CODE: i32 = 130;

/// A token cancelled on the first SIGINT or SIGTERM (Ctrl-C elsewhere); a second one exits the process.
/// Call inside a tokio runtime. Tests should pass a token of their own instead.
pub fn signal() -> CancellationToken {
    let token = CancellationToken::new();
    let (tx, rx) = mpsc::unbounded_channel();
    forward_signals(&tx);
    tokio::spawn(watch(token.clone(), rx, || std::process::exit(FORCED_EXIT_CODE)));
    token
}

/// Cancels `token` on the first signal received, then calls `exit` on the second.
async fn watch(token: CancellationToken, mut signals: mpsc::UnboundedReceiver<&'static str>, exit: impl FnOnce()) {
    let Some(name) = signals.recv().await else { return };
    tracing::info!(
        signal = name,
        "shutdown requested; draining (signal again to exit at once)"
    );
    token.cancel();
    let Some(name) = signals.recv().await else { return };
    tracing::warn!(signal = name, "second shutdown signal; exiting now");
    exit();
}

/// Registers the signal handlers now (so no early signal is missed) and forwards each signal to `tx`.
#[cfg(unix)]
fn forward_signals(tx: &mpsc::UnboundedSender<&'static str>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
    ] {
        match signal(kind) {
            Ok(mut stream) => {
                let tx = tx.clone();
                tokio::spawn(async move { while stream.recv().await.is_some() && tx.send(name).is_ok() {} });
            }
            Err(err) => tracing::error!(error = %err, "cannot listen for {name}"),
        }
    }
}

#[cfg(not(unix))]
fn forward_signals(tx: &mpsc::UnboundedSender<&'static str>) {
    let tx = tx.clone();
    tokio::spawn(async move { while tokio::signal::ctrl_c().await.is_ok() && tx.send("ctrl-c").is_ok() {} });
}

/// Runs `work` to completion; once `token` is cancelled, gives it at most `grace` more.
/// Returns `None` when the grace period ran out (the work is dropped).
pub async fn drain<F: Future>(token: &CancellationToken, work: F, grace: Duration) -> Option<F::Output> {
    tokio::pin!(work);
    tokio::select! {
        output = &mut work => return Some(output),
        () = token.cancelled() => {}
    }
    match tokio::time::timeout(grace, work).await {
        Ok(output) => Some(output),
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "in-flight work did not finish within the grace period"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn first_signal_cancels_second_exits() {
        let (tx, rx) = mpsc::unbounded_channel();
        let token = CancellationToken::new();
        let exited = Arc::new(AtomicBool::new(false));
        let exit = {
            let exited = exited.clone();
            move || exited.store(true, Ordering::SeqCst)
        };
        let watcher = tokio::spawn(watch(token.clone(), rx, exit));

        tx.send("SIGTERM").unwrap();
        tokio::time::timeout(Duration::from_secs(5), token.cancelled())
            .await
            .unwrap();
        assert!(!exited.load(Ordering::SeqCst), "one signal only drains");

        tx.send("SIGINT").unwrap();
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .unwrap()
            .unwrap();
        assert!(exited.load(Ordering::SeqCst), "a second signal exits");
    }

    #[tokio::test]
    async fn no_signal_source_never_cancels() {
        let (tx, rx) = mpsc::unbounded_channel::<&'static str>();
        drop(tx);
        let token = CancellationToken::new();
        watch(token.clone(), rx, || panic!("must not exit")).await;
        assert!(!token.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_work_up_to_the_grace_period() {
        let token = CancellationToken::new();
        // Work that finishes on its own.
        assert_eq!(drain(&token, async { 7 }, Duration::from_secs(1)).await, Some(7));

        token.cancel();
        // Cancelled: work that finishes within the grace period still completes...
        let quick = tokio::time::sleep(Duration::from_secs(2));
        assert_eq!(drain(&token, quick, Duration::from_secs(5)).await, Some(()));
        // ...work that would outlive it is cut off after exactly the grace period.
        let started = tokio::time::Instant::now();
        let slow = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(drain(&token, slow, Duration::from_secs(5)).await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
