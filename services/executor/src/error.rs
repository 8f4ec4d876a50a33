//! Why the executor could not start.

use std::path::PathBuf;

/// Errors of [`crate::App::build`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The artifacts root cannot be created.
    #[error("cannot create the artifacts root {}: {source}", path.display())]
    ArtifactsRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Exchanges or queues could not be declared.
    #[error("cannot declare the executor's exchange and queues: {0}")]
    Declare(String),
    /// No queue to consume.
    #[error("no run queue configured (setting `queues`)")]
    NoQueues,
}
