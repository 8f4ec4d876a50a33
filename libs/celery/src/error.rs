//! The crate's error type.

use myelin_common::bus;

/// What can go wrong encoding, decoding, publishing or consuming Celery messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The broker refused or could not be reached; see the bus error.
    #[error(transparent)]
    Bus(#[from] bus::Error),
    /// A delivery is not a Celery task (or control) message we understand. Permanent: the worker
    /// rejects such messages without requeueing them.
    #[error("malformed Celery message: {0}")]
    Malformed(String),
    /// A value could not be serialized to JSON.
    #[error("cannot encode the message as JSON: {0}")]
    Encode(#[from] serde_json::Error),
    /// The worker was configured in a way it cannot run with.
    #[error("invalid worker configuration: {0}")]
    Config(String),
    /// A queue's consumer stopped delivering (the broker cancelled it or the bus closed).
    #[error("the consumer of queue '{0}' ended")]
    ConsumerEnded(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
