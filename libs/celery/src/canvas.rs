//! Celery's canvas (`celery/canvas.py`, `celery/app/trace.py`), as pure functions building
//! [`TaskMessage`]s, each paired with the queue it goes to.
//!
//! Client side ([`Freeze`], or [`chain`]/[`group`]/[`chord`] with the defaults):
//! - chain: every task is frozen (`options.task_id`, `options.reply_to`) and the first message
//!   carries the others in `chain`, **reversed** (the next task is the last element);
//! - group: a group id, and per task the `group`/`group_index` headers;
//! - chord: a group whose members carry the frozen body (`task_id`, `reply_to`, `group_id` =
//!   the group) in `chord`; the caller stores the chord size first (Redis: `<prefix><gid>.s`).
//!
//! Worker side, after a task finished (what `build_tracer` publishes):
//! - [`on_success`]: each callback with the result prepended (one callback alone; several as a
//!   group), then the next chain step with the rest of the chain;
//! - [`on_failure`]: the errbacks as a group, applied with the failed task's id (Celery's
//!   "old-style" errbacks, which is what a Python worker sends when the errback task is not
//!   registered locally; new-style `(request, exc, traceback)` errbacks run inside the Python
//!   worker process and cannot cross languages);
//! - [`chord_body`]: the body with the list of header results, once the backend says the
//!   header completed.
//!
//! Only plain task signatures are built (a `subtask_type` of chain/group/chord inside a canvas
//! is refused with [`Error::Malformed`]).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::protocol::{Signature, TaskMessage};

/// A message and the queue it is published to.
pub type Routed = (String, TaskMessage);

/// This process's reply address, standing for Celery's `app.thread_oid` (a UUID made once).
pub fn process_oid() -> &'static str {
    static OID: OnceLock<String> = OnceLock::new();
    OID.get_or_init(|| uuid::Uuid::new_v4().to_string())
}

/// A chain ready to send: publish `first`; the others follow on the workers.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainMessages {
    pub first: Routed,
    /// The task ids in chain order (the first is `first`'s id, the last is the chain's result).
    pub ids: Vec<String>,
}

/// A chord ready to send: store `chord_size` for `group_id` in the backend, then publish `header`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChordMessages {
    pub group_id: String,
    pub header: Vec<Routed>,
    /// The body's task id (the chord's result).
    pub body_id: String,
    /// How many header results complete the chord.
    pub chord_size: usize,
}

/// How signatures are frozen: the `reply_to` written into their options (Celery writes the
/// sending thread's oid there).
#[derive(Debug, Clone)]
pub struct Freeze {
    pub reply_to: String,
}

impl Default for Freeze {
    fn default() -> Self {
        Self {
            reply_to: process_oid().to_owned(),
        }
    }
}

fn plain(sig: &Signature) -> Result<()> {
    match &sig.subtask_type {
        None => Ok(()),
        Some(t) => Err(Error::Malformed(format!(
            "canvas of '{t}' signatures inside a canvas is not supported (task {})",
            sig.task
        ))),
    }
}

/// The message `sig` sends and its queue; `reply_to` defaults to [`process_oid`], as
/// `send_task`'s `reply_to or app.thread_oid`.
fn routed(sig: &Signature, parent: Option<&TaskMessage>) -> Result<Routed> {
    let mut msg = sig.to_message(parent)?;
    msg.options.reply_to.get_or_insert_with(|| process_oid().to_owned());
    Ok((sig.queue().to_owned(), msg))
}

impl Freeze {
    /// `Signature.freeze()`: a task id (kept when set) and the options Celery adds, in its order.
    pub fn freeze(&self, sig: &mut Signature, group: Option<(&str, u32)>, chord: Option<&Signature>) -> String {
        let id = sig
            .task_id()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        sig.options.set_default("task_id", Value::String(id.clone()));
        sig.options
            .set_default("reply_to", Value::String(self.reply_to.clone()));
        if let Some((gid, _)) = group {
            sig.options.set_default("group_id", Value::String(gid.to_owned()));
        }
        if let Some(body) = chord {
            sig.options.set("chord", body.to_value());
        }
        if let Some((_, index)) = group {
            sig.options.set("group_index", Value::from(index));
        }
        id
    }

    /// `chain(*sigs).apply_async()`.
    pub fn chain(&self, sigs: Vec<Signature>) -> Result<ChainMessages> {
        let mut sigs = sigs;
        if sigs.is_empty() {
            return Err(Error::Malformed("a chain needs at least one task".into()));
        }
        let mut ids = Vec::with_capacity(sigs.len());
        for sig in &mut sigs {
            plain(sig)?;
        }
        // Celery freezes from the last task to the first.
        for sig in sigs.iter_mut().rev() {
            ids.push(self.freeze(sig, None, None));
        }
        ids.reverse();
        let mut rest = sigs.split_off(1);
        rest.reverse();
        let first = sigs.remove(0);
        let (queue, mut msg) = routed(&first, None)?;
        msg.options.chain = Some(rest);
        Ok(ChainMessages {
            first: (queue, msg),
            ids,
        })
    }

    /// `group(*sigs).apply_async()`: a fresh group id.
    pub fn group(&self, sigs: Vec<Signature>) -> Result<(String, Vec<Routed>)> {
        let gid = uuid::Uuid::new_v4().to_string();
        Ok((gid.clone(), self.group_with_id(&gid, sigs, None)?))
    }

    /// `group(*sigs).apply_async(task_id=group_id)`, members applied inside `parent` if given.
    pub fn group_with_id(
        &self,
        group_id: &str,
        sigs: Vec<Signature>,
        parent: Option<&TaskMessage>,
    ) -> Result<Vec<Routed>> {
        sigs.into_iter()
            .enumerate()
            .map(|(i, mut sig)| {
                plain(&sig)?;
                let index = u32::try_from(i).map_err(|_| Error::Malformed("group too large".into()))?;
                self.freeze(&mut sig, Some((group_id, index)), None);
                routed(&sig, parent)
            })
            .collect()
    }

    /// `chord(header, body).apply_async()` on the Redis backend: a fresh group id.
    pub fn chord(&self, header: Vec<Signature>, body: Signature) -> Result<ChordMessages> {
        self.chord_with_id(&uuid::Uuid::new_v4().to_string(), header, body)
    }

    /// `chord(header, body, task_id=group_id).apply_async()`.
    pub fn chord_with_id(&self, group_id: &str, header: Vec<Signature>, body: Signature) -> Result<ChordMessages> {
        plain(&body)?;
        let mut body = body;
        let body_id = self.freeze(&mut body, Some((group_id, 0)), None);
        body.options.remove("group_index"); // the body is frozen with group_id only
        let chord_size = header.len();
        let header = header
            .into_iter()
            .enumerate()
            .map(|(i, mut sig)| {
                plain(&sig)?;
                let index = u32::try_from(i).map_err(|_| Error::Malformed("chord header too large".into()))?;
                self.freeze(&mut sig, Some((group_id, index)), None);
                let (queue, mut msg) = routed(&sig, None)?;
                msg.options.chord = Some(Box::new(body.clone()));
                Ok((queue, msg))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ChordMessages {
            group_id: group_id.to_owned(),
            header,
            body_id,
            chord_size,
        })
    }
}

/// [`Freeze::chain`] with this process's reply address.
pub fn chain(sigs: Vec<Signature>) -> Result<ChainMessages> {
    Freeze::default().chain(sigs)
}

/// [`Freeze::group`] with this process's reply address.
pub fn group(sigs: Vec<Signature>) -> Result<(String, Vec<Routed>)> {
    Freeze::default().group(sigs)
}

/// [`Freeze::chord`] with this process's reply address.
pub fn chord(header: Vec<Signature>, body: Signature) -> Result<ChordMessages> {
    Freeze::default().chord(header, body)
}

/// `sig.apply_async(args, parent_id=msg.id, root_id=root)`, as the tracer applies a follow-up.
fn follow_up(sig: &Signature, msg: &TaskMessage, args: Vec<Value>) -> Result<Routed> {
    let mut sig = sig.partial(args, Map::new());
    let root = msg.options.root_id.clone().unwrap_or_else(|| msg.id.clone());
    sig.options.set("parent_id", Value::String(msg.id.clone()));
    sig.options.set("root_id", Value::String(root));
    routed(&sig, Some(msg))
}

/// What a worker publishes after `msg` succeeded with `result`: its callbacks (one alone, or
/// several as a group with a fresh group id), then the next step of its chain carrying the rest.
pub fn on_success(msg: &TaskMessage, result: &Value) -> Result<Vec<Routed>> {
    let mut out = Vec::new();
    let callbacks = msg.options.callbacks.as_deref().unwrap_or_default();
    match callbacks {
        [] => {}
        [one] => {
            plain(one)?;
            out.push(follow_up(one, msg, vec![result.clone()])?);
        }
        many => out.extend(applied_group(msg, many, result.clone())?),
    }
    if let Some(chain) = &msg.options.chain
        && let Some((next, rest)) = chain.split_last()
    {
        plain(next)?;
        let (queue, mut next_msg) = follow_up(next, msg, vec![result.clone()])?;
        next_msg.options.chain = Some(rest.to_vec());
        out.push((queue, next_msg));
    }
    Ok(out)
}

/// `group(sigs).apply_async((arg,), parent_id=msg.id, root_id=root)` from inside `msg`.
fn applied_group(msg: &TaskMessage, sigs: &[Signature], arg: Value) -> Result<Vec<Routed>> {
    let root = msg.options.root_id.clone().unwrap_or_else(|| msg.id.clone());
    let sigs = sigs
        .iter()
        .map(|s| {
            let mut s = s.partial(vec![arg.clone()], Map::new());
            s.options.set_default("root_id", Value::String(root.clone()));
            s.options.set("parent_id", Value::String(msg.id.clone()));
            s
        })
        .collect::<Vec<_>>();
    let gid = uuid::Uuid::new_v4().to_string();
    Freeze::default().group_with_id(&gid, sigs, Some(msg))
}

/// What a worker publishes after `msg` failed: its errbacks as one group, each applied with the
/// failed task's id (`exc` is not sent: Celery's task-id errbacks do not receive it).
pub fn on_failure(msg: &TaskMessage, _exc: &Value) -> Result<Vec<Routed>> {
    match msg.options.errbacks.as_deref() {
        None | Some([]) => Ok(Vec::new()),
        Some(errbacks) => applied_group(msg, errbacks, Value::String(msg.id.clone())),
    }
}

/// The chord body to publish once the header of `msg`'s chord completed with `results` (in
/// header order), sent from inside `msg` (the header task that completed it), as
/// `callback.delay(results)` does. `None` when `msg` is not part of a chord.
pub fn chord_body(msg: &TaskMessage, results: Vec<Value>) -> Result<Option<Routed>> {
    let Some(body) = &msg.options.chord else {
        return Ok(None);
    };
    plain(body)?;
    let body = body.partial(vec![Value::Array(results)], Map::new());
    routed(&body, Some(msg)).map(Some)
}
