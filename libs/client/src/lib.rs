//! myelin-client: a typed async client of Myelin's public REST API (Polyaxon API v1 paths).
//!
//! ```no_run
//! # async fn demo() -> Result<(), myelin_client::Error> {
//! let client = myelin_client::Client::new("http://127.0.0.1:8000", None)?;
//! let project = client.create_project("default", &myelin_contracts::CreateProject {
//!     name: "demo".into(), ..Default::default()
//! }).await?;
//! let runs = client.list_runs("default", &project.name, &Default::default()).await?;
//! # Ok(()) }
//! ```
//!
//! - [`Client`] — one method per endpoint (projects, runs, run actions, statuses, installation,
//!   and auth: login, tokens, orgs, members, teams, service accounts, audit log — see [`auth`]);
//! - [`Tracker`] — batching, non-blocking metric logging for one run;
//! - [`error`] — [`Error`], which carries the server's `{code, message, request_id}` and status.

pub mod auth;
pub mod error;
mod logs;
mod projects;
mod runs;
pub mod tracker;
mod tracking;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;

pub use error::Error;
pub use logs::{Tail, TailEvent};
use myelin_contracts::installation::Installation;
pub use runs::RunAction;
pub use tracker::{TrackError, Tracker, TrackerOptions};
pub use tracking::{ArtifactTree, EventsQuery};

/// A client of one Myelin server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
}

impl Client {
    /// A client of the server at `host` (`http://127.0.0.1:8000`), sending `token` (if any) as
    /// `Authorization: token <token>`, as Polyaxon clients do.
    pub fn new(host: &str, token: Option<String>) -> Result<Client, Error> {
        let invalid = |reason: &str| Error::InvalidHost {
            host: host.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(host.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("expected an http:// or https:// URL"));
        }
        let mut headers = HeaderMap::new();
        let agent = concat!("myelin-client/", env!("CARGO_PKG_VERSION"));
        headers.insert(USER_AGENT, HeaderValue::from_static(agent));
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("token {token}")).map_err(|_| Error::InvalidToken)?;
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .map_err(|e| invalid(&e.to_string()))?;
        Ok(Client { http, base })
    }

    /// The server's base URL.
    pub fn host(&self) -> &Url {
        &self.base
    }

    /// `GET /api/v1/installation`: the server's key, version, dist and mode.
    pub async fn installation(&self) -> Result<Installation, Error> {
        self.json(self.request(Method::GET, &["installation"])).await
    }

    /// A request to `/api/v1/<segments...>` (each segment percent-encoded).
    pub(crate) fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        self.http.request(method, url)
    }

    /// Sends `request` and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = self.send(request).await?;
        let url = response.url().to_string();
        let status = response.status();
        let bytes = response.bytes().await.map_err(|source| Error::Transport {
            url: url.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            url,
            status: status.as_u16(),
            message: e.to_string(),
        })
    }

    /// Sends `request` and ignores the body of a successful answer.
    pub(crate) async fn empty(&self, request: RequestBuilder) -> Result<(), Error> {
        self.send(request).await.map(drop)
    }

    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response, Error> {
        let request = request.build().map_err(|source| Error::Transport {
            url: String::new(),
            source,
        })?;
        let url = request.url().to_string();
        let response = self.http.execute(request).await.map_err(|source| Error::Transport {
            url: url.clone(),
            source,
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(Error::from_response(url, response).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_and_encoded() {
        let client = Client::new("http://127.0.0.1:8000/", None).unwrap();
        let request = client
            .request(Method::GET, &["default", "my project", "runs"])
            .build()
            .unwrap();
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:8000/api/v1/default/my%20project/runs"
        );
        let client = Client::new("https://example.com/prefix", Some("t0k".into())).unwrap();
        let request = client.request(Method::GET, &["installation"]).build().unwrap();
        assert_eq!(request.url().as_str(), "https://example.com/prefix/api/v1/installation");
        assert!(matches!(Client::new("not a url", None), Err(Error::InvalidHost { .. })));
        assert!(matches!(Client::new("ftp://x", None), Err(Error::InvalidHost { .. })));
    }
}
