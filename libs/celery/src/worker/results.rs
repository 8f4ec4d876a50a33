//! After a task ran, beyond settling its message: its state goes to the result backend (when
//! the worker has one and the message does not say `ignore_result`) and its canvas goes on —
//! the next chain step and the callbacks on success, the errbacks on failure, the chord body
//! when this task completed its chord's header. As Celery's tracer (`celery/app/trace.py`) and
//! `Backend.mark_as_failure` do it:
//! - a failed chain step marks every remaining step `FAILURE` with the same exception;
//! - a chord header part reports to the backend whatever its state; the part that completes the
//!   header publishes the body, or marks it `FAILURE` with a `ChordError` if a part failed.
//!
//! Nothing here fails the task's message: a backend or broker error is logged (the state is lost
//! for the client, as with Celery when its backend is down), the message is still settled.

use serde_json::{Value, json};
use tracing::{error, warn};

use super::Shared;
use crate::backend::{ChordProgress, ExceptionInfo, ExtendedMeta, ReplyTarget, TaskMeta};
use crate::canvas::{self, Routed};
use crate::protocol::{Signature, TaskMessage};

/// How a task ended, as the backend records it.
#[derive(Debug, Clone)]
pub(super) enum Finished {
    Success(Value),
    Failure { exc: ExceptionInfo, traceback: String },
    Retry { exc: ExceptionInfo },
    Revoked { reason: &'static str },
}

/// Python's built-in exceptions a Rust task may name (their module is `builtins`).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "Exception",
    "IndexError",
    "KeyError",
    "LookupError",
    "MemoryError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "RuntimeError",
    "TimeoutError",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
];
/// Celery's own exceptions (module `celery.exceptions`).
const CELERY: &[&str] = &[
    "NotRegistered",
    "Retry",
    "SoftTimeLimitExceeded",
    "TaskRevokedError",
    "TimeLimitExceeded",
    "WorkerLostError",
    "Reject",
    "Ignore",
    "MaxRetriesExceededError",
];

/// The exception a failure named `exc_type` becomes for Python: builtins and Celery's own are
/// rebuilt as those classes; any other name becomes a class of that name (module `myelin`, which
/// Python does not load, so `exception_to_python` creates it).
pub(super) fn exception(exc_type: &str, message: &str) -> ExceptionInfo {
    let module = if BUILTINS.contains(&exc_type) {
        "builtins"
    } else if CELERY.contains(&exc_type) {
        "celery.exceptions"
    } else {
        "myelin"
    };
    ExceptionInfo::new(module, exc_type, vec![Value::String(message.to_owned())])
}

/// A Python-looking traceback naming the task and the exception (clients print it).
pub(super) fn traceback(msg: &TaskMessage, exc: &ExceptionInfo) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"<myelin worker>\", in {}\n{}\n",
        msg.task,
        exc.repr()
    )
}

impl Finished {
    fn meta(&self, id: &str) -> TaskMeta {
        match self {
            Finished::Success(v) => TaskMeta::success(id, v.clone()),
            Finished::Failure { exc, traceback } => TaskMeta::failure(id, exc, Some(traceback.clone())),
            Finished::Retry { exc } => TaskMeta::retry(id, Some(exc), None),
            Finished::Revoked { reason } => TaskMeta::revoked(id, reason),
        }
    }
}

/// Records `finished` for `msg` (delivered on `queue`) and continues its canvas.
pub(super) async fn finish(shared: &Shared, msg: &TaskMessage, queue: &str, finished: &Finished) {
    // The meta (with copies of the arguments) is only built for a backend to keep: a worker
    // without one skips it on every task.
    let meta = shared.backend.as_ref().map(|_| {
        finished
            .meta(&msg.id)
            .with_ids(msg.options.group_id.clone(), msg.options.parent_id.clone())
            .with_extended(ExtendedMeta {
                name: Some(msg.task.clone()),
                args: Some(Value::Array(msg.args.clone())),
                kwargs: Some(Value::Object(msg.kwargs.clone())),
                worker: Some(shared.hostname.clone()),
                retries: Some(msg.options.retries),
                queue: Some(queue.to_owned()),
            })
    });
    if let Some(meta) = &meta
        && !msg.options.ignore_result
    {
        store(shared, msg, meta).await;
    }
    let follow_ups = match finished {
        Finished::Success(result) => canvas::on_success(msg, result),
        Finished::Failure { exc, traceback } => {
            fail_chain(shared, msg, exc, traceback).await;
            canvas::on_failure(msg, &exc.to_value())
        }
        Finished::Retry { .. } => return,
        Finished::Revoked { .. } => Ok(Vec::new()),
    };
    match follow_ups {
        Ok(follow_ups) => publish(shared, msg, follow_ups).await,
        Err(e) => error!(task = msg.task, id = msg.id, error = %e, "cannot build the task's follow-ups"),
    }
    if let Some(meta) = &meta {
        chord_part(shared, msg, meta).await;
    }
}

async fn store(shared: &Shared, msg: &TaskMessage, meta: &TaskMeta) {
    let Some(backend) = &shared.backend else { return };
    let reply = msg
        .options
        .reply_to
        .as_ref()
        .filter(|r| !r.is_empty())
        .map(|r| ReplyTarget {
            reply_to: r.clone(),
            correlation_id: msg.id.clone(),
        });
    if let Err(e) = backend.store(meta, reply.as_ref()).await {
        error!(task = msg.task, id = msg.id, state = meta.status.as_str(), error = %e, "cannot store the task's result");
    }
}

/// Publishes follow-up messages to their queues (on the default exchange, as Celery routes
/// direct queues).
async fn publish(shared: &Shared, msg: &TaskMessage, follow_ups: Vec<Routed>) {
    for (queue, next) in follow_ups {
        let sent = match next.to_message() {
            Ok(out) => shared.bus.publish("", &queue, out).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = sent {
            error!(task = msg.task, id = msg.id, next = next.task, queue, error = %e, "cannot publish a follow-up task");
        }
    }
}

/// `mark_as_failure` with a chain: every remaining step (frozen with its `task_id`) fails too.
async fn fail_chain(shared: &Shared, msg: &TaskMessage, exc: &ExceptionInfo, traceback: &str) {
    let Some(chain) = &msg.options.chain else { return };
    for step in chain.iter().rev() {
        if let Some(id) = step.task_id() {
            let meta = TaskMeta::failure(id, exc, Some(traceback.to_owned()));
            let step_msg = step_message(step, msg, id);
            store(shared, &step_msg, &meta).await;
        }
    }
}

/// Enough of a chain step's message to store its state (ids and reply address).
fn step_message(step: &Signature, msg: &TaskMessage, id: &str) -> TaskMessage {
    let mut m = TaskMessage::new(step.task.clone(), Vec::new(), Default::default()).with_id(id);
    m.options.reply_to = msg.options.reply_to.clone();
    m
}

/// A chord header part reports its final state; the part completing the header sends the body.
async fn chord_part(shared: &Shared, msg: &TaskMessage, meta: &TaskMeta) {
    let (Some(body), Some(group_id), Some(backend)) = (&msg.options.chord, &msg.options.group_id, &shared.backend)
    else {
        return;
    };
    let index = msg.options.group_index.map(|i| i as usize);
    match backend.chord_part_return(group_id, index, meta).await {
        Ok(ChordProgress::Waiting) => {}
        Ok(ChordProgress::Complete { results, claim }) => {
            match canvas::chord_body(msg, results) {
                Ok(Some(routed)) => publish(shared, msg, vec![routed]).await,
                Ok(None) => {}
                Err(e) => error!(group_id, error = %e, "cannot build the chord body"),
            }
            if let Err(e) = backend.chord_done(&claim).await {
                warn!(group_id, error = %e, "cannot clean up the completed chord");
            }
        }
        Ok(ChordProgress::Failed {
            task_id,
            error,
            message,
        }) => {
            warn!(group_id, failed = task_id, "a chord header part failed; the body fails");
            let Some(body_id) = body.task_id() else { return };
            let exc = ExceptionInfo::chord_error(message);
            let tb = format!("{}\n(caused by {})", exc.repr(), error.repr());
            let body_msg = step_message(body, msg, body_id);
            store(shared, &body_msg, &TaskMeta::failure(body_id, &exc, Some(tb))).await;
        }
        Err(e) => error!(group_id, error = %e, "cannot report a chord part to the result backend"),
    }
}

/// The `Retry` exception Celery stores while a task waits for its retry.
pub(super) fn retry_exception(countdown_secs: u64) -> ExceptionInfo {
    ExceptionInfo::new(
        "celery.exceptions",
        "Retry",
        vec![json!(format!("Retry in {countdown_secs}s"))],
    )
}
