//! CLI errors: printed as `error: <message> (<code>)`, exit code 1.

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered an error, or could not be reached.
    #[error(transparent)]
    Client(#[from] myelin_client::Error),
    /// A flag is missing or wrong in a way clap cannot see (`-p` absent, a bad uuid).
    #[error("{0}")]
    Usage(String),
    /// Stop/delete without `--yes` while stdin is not a terminal.
    #[error("{0}")]
    ConfirmationRequired(String),
    /// The user answered no.
    #[error("aborted")]
    Aborted,
    /// Reading or writing `cli.toml`.
    #[error("{0}")]
    Config(String),
    /// `myelin server` could not start or failed.
    #[error("{0:#}")]
    Server(anyhow::Error),
    /// `myelin check` found errors (already printed).
    #[error("{0}")]
    Invalid(String),
    /// A watched run did not succeed.
    #[error("{0}")]
    RunFailed(String),
    /// Writing to the terminal failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The stable code printed after the message.
    pub fn code(&self) -> String {
        match self {
            Error::Client(myelin_client::Error::Api { code, .. }) => code.clone(),
            Error::Client(myelin_client::Error::Transport { .. }) => "cli.unreachable".into(),
            Error::Client(myelin_client::Error::Decode { .. }) => "cli.bad_answer".into(),
            Error::Client(_) => "cli.invalid_host".into(),
            Error::Usage(_) => "cli.usage".into(),
            Error::ConfirmationRequired(_) => "cli.confirmation_required".into(),
            Error::Aborted => "cli.aborted".into(),
            Error::Config(_) => "cli.config".into(),
            Error::Server(_) => "cli.server".into(),
            Error::Invalid(_) => "spec.invalid".into(),
            Error::RunFailed(_) => "run.not_succeeded".into(),
            Error::Io(_) => "cli.io".into(),
        }
    }

    /// The process exit code: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}
