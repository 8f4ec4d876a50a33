//! What can go wrong talking to a Myelin server.

use reqwest::StatusCode;
use serde::Deserialize;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host is not an http(s) URL.
    #[error("invalid host `{host}`: {reason}")]
    InvalidHost { host: String, reason: String },
    /// The token cannot be sent in a header (control characters).
    #[error("the API token contains characters that cannot be sent in a header")]
    InvalidToken,
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered an error. `code` is its stable code (`tracker.project_not_found`), or
    /// `http.<status>` when the body was not Myelin's envelope.
    #[error("{message}")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// A local file could not be written (downloads).
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A success answer whose body is not what the endpoint returns.
    #[error("unexpected answer from {url} (status {status}): {message}")]
    Decode { url: String, status: u16, message: String },
}

/// The envelope every Myelin error body has.
#[derive(Deserialize)]
struct Envelope {
    code: String,
    message: String,
    #[serde(default)]
    request_id: Option<String>,
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error code of an [`Error::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Reads an error answer into [`Error::Api`].
    pub(crate) async fn from_response(url: String, response: reqwest::Response) -> Error {
        let status = response.status();
        let header_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(source) => return Error::Transport { url, source },
        };
        match serde_json::from_slice::<Envelope>(&bytes) {
            Ok(envelope) => Error::Api {
                status,
                code: envelope.code,
                message: envelope.message,
                request_id: envelope.request_id.or(header_id),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(&bytes)
                    .trim()
                    .chars()
                    .take(500)
                    .collect::<String>();
                let reason = status.canonical_reason().unwrap_or("error");
                let message = if text.is_empty() {
                    format!("{} {reason}", status.as_u16())
                } else {
                    text
                };
                Error::Api {
                    status,
                    code: format!("http.{}", status.as_u16()),
                    message,
                    request_id: header_id,
                }
            }
        }
    }
}
