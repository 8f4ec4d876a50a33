//! `celery-send`: sends Celery tasks and canvases built in Rust, for interop tests against
//! Python workers (`tests/celery/`) and by hand.
//!
//! ```text
//! celery-send [--broker URL] [--backend URL] --queue Q --name TASK --args JSON [--kwargs JSON]
//!     [--countdown S] [--expires S] [--priority N] [--sent-events]
//!     [--chain JSON]          # then these [name, args] steps run after TASK, each given the last result
//!     [--group N]             # N copies of TASK as one group
//!     [--chord-body TASK]     # ... and TASK called with the list of their results
//! ```
//! Prints one JSON line: `{"id", "ids", "group_id", "body_id"}` — `id` is the task whose result
//! answers the whole request (the last chain step, the chord body), `ids` every task id sent.

use anyhow::{Context, bail};
use clap::Parser;
use myelin_celery::canvas::{self, Routed};
use myelin_celery::protocol::Signature;
use myelin_celery::{EventDispatcher, Producer, connect};
use serde_json::{Map, Value, json};

#[derive(Debug, Parser)]
#[command(name = "celery-send", version, about)]
struct Args {
    /// Broker URL: `amqp://...` or `redis://...`.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    broker: String,
    /// Result backend URL (a chord stores its size there first): `redis://...` or `disabled`.
    #[arg(long, default_value = "redis://127.0.0.1:6379/0")]
    backend: String,
    #[arg(long, short = 'Q', default_value = "celery")]
    queue: String,
    /// The task name.
    #[arg(long)]
    name: String,
    /// Positional arguments, a JSON list.
    #[arg(long, default_value = "[]")]
    args: String,
    /// Keyword arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    kwargs: String,
    /// Seconds to wait before running.
    #[arg(long)]
    countdown: Option<f64>,
    /// Seconds after which the task is discarded (REVOKED) instead of run.
    #[arg(long)]
    expires: Option<f64>,
    #[arg(long)]
    priority: Option<u8>,
    /// Steps after TASK, a JSON list of `[name, args]` pairs.
    #[arg(long, conflicts_with = "group")]
    chain: Option<String>,
    /// Send N copies of TASK as a group.
    #[arg(long)]
    group: Option<usize>,
    /// With `--group`: a chord whose body TASK gets the list of the group's results.
    #[arg(long, requires = "group")]
    chord_body: Option<String>,
    /// Send a `task-sent` event per task (Celery's `task_send_sent_event`).
    #[arg(long)]
    sent_events: bool,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).with_context(|| format!("--{what} is not valid JSON of the right shape: {text}"))
}

impl Args {
    /// TASK's signature with the per-task options.
    fn signature(&self) -> anyhow::Result<Signature> {
        let args: Vec<Value> = parse("args", &self.args)?;
        let kwargs: Map<String, Value> = parse("kwargs", &self.kwargs)?;
        let mut sig = Signature::new(&self.name, args, kwargs).set_queue(&self.queue);
        if let Some(c) = self.countdown {
            sig = sig.set("countdown", json!(c));
        }
        if let Some(e) = self.expires {
            sig = sig.set("expires", json!(e));
        }
        if let Some(p) = self.priority {
            sig = sig.set("priority", json!(p));
        }
        Ok(sig)
    }
}

/// What was sent, as printed.
struct Sent {
    messages: Vec<Routed>,
    id: String,
    ids: Vec<String>,
    group_id: Option<String>,
    body_id: Option<String>,
}

async fn build(args: &Args) -> anyhow::Result<(Sent, Option<(String, usize)>)> {
    let sig = args.signature()?;
    if let Some(chain) = &args.chain {
        let steps: Vec<(String, Vec<Value>)> = parse("chain", chain)?;
        let mut sigs = vec![sig];
        sigs.extend(
            steps
                .into_iter()
                .map(|(name, a)| Signature::new(name, a, Map::new()).set_queue(&args.queue)),
        );
        let chain = canvas::chain(sigs)?;
        let id = chain.ids.last().cloned().unwrap_or_default();
        return Ok((
            Sent {
                messages: vec![chain.first],
                id,
                ids: chain.ids,
                group_id: None,
                body_id: None,
            },
            None,
        ));
    }
    match (args.group, &args.chord_body) {
        (Some(n), Some(body)) => {
            let body = Signature::new(body, vec![], Map::new()).set_queue(&args.queue);
            let chord = canvas::chord(vec![sig; n], body)?;
            let ids = ids_of(&chord.header);
            Ok((
                Sent {
                    messages: chord.header,
                    id: chord.body_id.clone(),
                    ids,
                    group_id: Some(chord.group_id.clone()),
                    body_id: Some(chord.body_id),
                },
                Some((chord.group_id, chord.chord_size)),
            ))
        }
        (Some(n), None) => {
            let (group_id, messages) = canvas::group(vec![sig; n])?;
            let ids = ids_of(&messages);
            Ok((
                Sent {
                    messages,
                    id: group_id.clone(),
                    ids,
                    group_id: Some(group_id),
                    body_id: None,
                },
                None,
            ))
        }
        (None, _) => {
            let msg = sig.to_message(None)?;
            let id = msg.id.clone();
            Ok((
                Sent {
                    messages: vec![(args.queue.clone(), msg)],
                    id: id.clone(),
                    ids: vec![id],
                    group_id: None,
                    body_id: None,
                },
                None,
            ))
        }
    }
}

fn ids_of(messages: &[Routed]) -> Vec<String> {
    messages.iter().map(|(_, m)| m.id.clone()).collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    myelin_common::install_crypto_provider();
    let args = Args::parse();
    if args.group == Some(0) {
        bail!("--group needs at least one task");
    }
    let (sent, chord) = build(&args).await?;
    let bus = connect::broker(&args.broker)
        .await
        .with_context(|| format!("cannot connect to the broker {}", args.broker))?;
    if let Some((group_id, size)) = chord {
        let Some(backend) = connect::backend(&args.backend, bus.clone()).await? else {
            bail!("a chord needs a result backend (--backend redis://...)");
        };
        backend
            .set_chord_size(&group_id, size)
            .await
            .context("cannot store the chord size in the result backend")?;
    }
    let mut producer = Producer::new(bus.clone());
    if args.sent_events {
        EventDispatcher::declare(&bus).await?;
        let hostname = format!("celery-send@{}", myelin_celery::protocol::hostname());
        producer = producer.with_sent_events(EventDispatcher::new(bus.clone(), hostname, true));
    }
    let mut declared = Vec::new();
    for (queue, msg) in &sent.messages {
        if !declared.contains(queue) {
            producer.declare_queue(queue).await?;
            declared.push(queue.clone());
        }
        producer.send(queue, msg).await?;
    }
    producer.flush_events().await;
    println!(
        "{}",
        json!({"id": sent.id, "ids": sent.ids, "group_id": sent.group_id, "body_id": sent.body_id})
    );
    Ok(())
}
