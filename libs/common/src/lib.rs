//! Shared plumbing for every Myelin service.
//!
//! - [`settings`]: layered configuration (defaults → TOML → `MYELIN_<SVC>__KEY` env), `--dump-config`.
//! - [`telemetry`]: tracing subscriber (pretty or JSON) with an optional OTLP exporter.
//! - [`shutdown`]: the shutdown signal every `run_until_stopped` takes.
//! - [`error`]: the public error vocabulary and the `{code, message, request_id}` envelope.
//! - [`http`]: request ids and the middleware every router shares.
//! - [`db`]: sea-orm connections on SQLite or PostgreSQL.
//! - [`bus`]: the message bus port, with RabbitMQ and in-process adapters.
//! - [`coord`]: the coordination port (kv, counters, semaphores, pub/sub, streams), Redis and in-process.
//! - [`blob`]: the blob store port (streamed objects), a local directory and S3.
//! - [`plx`]: traceml's `.plx` event files, read into collected series.
//! - [`run_token`]: the tokens runs call the API with, signed by the executor, checked by the gateway.

pub mod blob;
pub mod bus;
pub mod coord;
pub mod db;
pub mod error;
pub mod http;
pub mod plx;
pub mod run_token;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use error::{ApiError, ErrorCode};

/// Installs aws-lc-rs as the process-wide rustls provider. Call at the start of `main` and of tests;
/// calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
