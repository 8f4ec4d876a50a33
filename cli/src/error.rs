//! CLI errors: printed as `error: <message> (<code>)`, exit code 1. A 401 says how to log in.

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered an error, or could not be reached.
    #[error("{}", client_message(.0))]
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

/// What the CLI says about a 401 (other than a wrong password at login).
pub const NOT_LOGGED_IN: &str = "not logged in, or the token expired/revoked: run `myelin login`";

/// The server's message; a 401 (no, bad, expired or revoked token) also says how to get a token.
fn client_message(error: &myelin_client::Error) -> String {
    match error {
        myelin_client::Error::Api {
            status, code, message, ..
        } if status.as_u16() == 401 && code != "auth.invalid_credentials" => {
            format!("{NOT_LOGGED_IN} (server: {message})")
        }
        other => other.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, message: &str) -> Error {
        Error::Client(myelin_client::Error::Api {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            code: code.into(),
            message: message.into(),
            request_id: None,
        })
    }

    #[test]
    fn a_401_says_how_to_log_in_but_a_wrong_password_does_not() {
        let revoked = api(401, "auth.token_revoked", "the token was revoked");
        assert_eq!(
            revoked.to_string(),
            format!("{NOT_LOGGED_IN} (server: the token was revoked)")
        );
        assert_eq!(
            (revoked.code().as_str(), revoked.exit_code()),
            ("auth.token_revoked", 1)
        );
        let wrong = api(401, "auth.invalid_credentials", "invalid username or password");
        assert_eq!(wrong.to_string(), "invalid username or password");
        let forbidden = api(403, "auth.forbidden", "viewers cannot add members");
        assert_eq!(
            (forbidden.to_string().as_str(), forbidden.code().as_str()),
            ("viewers cannot add members", "auth.forbidden")
        );
    }
}
