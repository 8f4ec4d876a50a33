//! Run logs: a page of history (`GET /streams/v1/{ns}/{owner}/{project}/runs/{uuid}/logs`) and
//! the live tail (`.../logs/tail`, Server-Sent Events) as a stream of [`TailEvent`]s.

use myelin_contracts::RunUuid;
use myelin_contracts::logs::{LogLine, Logs, TAIL_EVENT_DONE, TAIL_EVENT_ERROR, TAIL_EVENT_LOG, TailDone, TailError};
use myelin_contracts::status::Statuses;
use reqwest::{Method, RequestBuilder};

use crate::{Client, Error};

/// The namespace segment of stream paths (the polyaxon CLI sends `polyaxon`; any value works).
const NAMESPACE: &str = "polyaxon";

/// What a live tail yields.
#[derive(Debug, Clone, PartialEq)]
pub enum TailEvent {
    Line(LogLine),
    /// The run is done; the tail has ended.
    Done(Statuses),
    /// The server ended the tail on a failure.
    Failed(String),
}

/// A live tail in progress; call [`Tail::next`] until it returns `None`.
pub struct Tail {
    response: reqwest::Response,
    url: String,
    buffer: Vec<u8>,
    finished: bool,
}

impl Client {
    /// `GET .../runs/{uuid}/logs`: lines after `last_time` / chunk files after `last_file`.
    pub async fn get_logs(
        &self,
        owner: &str,
        project: &str,
        uuid: &RunUuid,
        last_file: Option<&str>,
        last_time: Option<&str>,
    ) -> Result<Logs, Error> {
        let mut query = Vec::new();
        if let Some(file) = last_file {
            query.push(("last_file", file));
        }
        if let Some(time) = last_time {
            query.push(("last_time", time));
        }
        let request = self.stream_request(Method::GET, &[owner, project, "runs", &uuid.to_string(), "logs"]);
        self.json(request.query(&query)).await
    }

    /// `GET .../runs/{uuid}/logs/tail`: the history, then new lines, until the run is done.
    pub async fn tail_logs(&self, owner: &str, project: &str, uuid: &RunUuid) -> Result<Tail, Error> {
        let request = self
            .stream_request(
                Method::GET,
                &[owner, project, "runs", &uuid.to_string(), "logs", "tail"],
            )
            .header("accept", "text/event-stream");
        let response = self.send(request).await?;
        let url = response.url().to_string();
        Ok(Tail {
            response,
            url,
            buffer: Vec::new(),
            finished: false,
        })
    }

    /// A request to `/streams/v1/polyaxon/<segments...>`.
    pub(crate) fn stream_request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["streams", "v1", NAMESPACE])
                .extend(segments);
        }
        self.http.request(method, url)
    }
}

impl Tail {
    /// The next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Result<TailEvent, Error>> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(end) = find_event_end(&self.buffer) {
                let raw: Vec<u8> = self.buffer.drain(..end.0 + end.1).collect();
                match parse_event(&raw[..end.0]) {
                    Some(Ok(event)) => {
                        if !matches!(event, TailEvent::Line(_)) {
                            self.finished = true;
                        }
                        return Some(Ok(event));
                    }
                    Some(Err(message)) => {
                        self.finished = true;
                        return Some(Err(Error::Decode {
                            url: self.url.clone(),
                            status: 200,
                            message,
                        }));
                    }
                    None => continue,
                }
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.extend_from_slice(&bytes),
                Ok(None) => {
                    self.finished = true;
                    return None;
                }
                Err(source) => {
                    self.finished = true;
                    return Some(Err(Error::Transport {
                        url: self.url.clone(),
                        source,
                    }));
                }
            }
        }
    }
}

/// Where the first complete event ends: (its length, the separator's length).
fn find_event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    (0..buffer.len()).find_map(|i| {
        if buffer[i..].starts_with(b"\n\n") {
            Some((i, 2))
        } else if buffer[i..].starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else {
            None
        }
    })
}

/// One SSE event; `None` for comments and events we do not know.
fn parse_event(raw: &[u8]) -> Option<Result<TailEvent, String>> {
    let text = String::from_utf8_lossy(raw);
    let mut name = "message";
    let mut data = String::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    let decode = |e: serde_json::Error| format!("bad `{name}` event: {e}");
    match name {
        TAIL_EVENT_LOG => Some(
            serde_json::from_str::<LogLine>(&data)
                .map(TailEvent::Line)
                .map_err(decode),
        ),
        TAIL_EVENT_DONE => Some(
            serde_json::from_str::<TailDone>(&data)
                .map(|d| TailEvent::Done(d.status))
                .map_err(decode),
        ),
        TAIL_EVENT_ERROR => Some(
            serde_json::from_str::<TailError>(&data)
                .map(|e| TailEvent::Failed(e.message))
                .map_err(decode),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_and_decoded() {
        let raw = b": keep-alive\n\nevent: log\nid: 1-0\ndata: {\"timestamp\":\"2026-12-04T20:20:47+00:00\",\"value\":\"hi\"}\n\nevent: done\ndata: {\"status\":\"succeeded\"}\n\n";
        let mut buffer = raw.to_vec();
        let mut events = Vec::new();
        while let Some((len, sep)) = find_event_end(&buffer) {
            let event: Vec<u8> = buffer.drain(..len + sep).collect();
            if let Some(parsed) = parse_event(&event[..len]) {
                events.push(parsed.unwrap());
            }
        }
        assert_eq!(events.len(), 2);
        assert!(matches!(&events[0], TailEvent::Line(line) if line.value == "hi"));
        assert_eq!(events[1], TailEvent::Done(Statuses::Succeeded));
    }
}
