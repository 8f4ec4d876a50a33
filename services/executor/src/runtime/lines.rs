//! Splits a byte stream into timestamped [`LogLine`]s: `\n` (or `\r\n`) ends a line, invalid UTF-8 is
//! replaced (lossy), a line longer than the limit is cut into pieces of at most that many bytes (at a
//! character boundary when possible), and a last line without terminator is still delivered.

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use super::{LogLine, Stream};

/// The longest line delivered in one piece, in bytes.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Reads `reader` to its end and sends each line on `tx`. Keeps reading (and drops lines) once
/// the receiver is gone, so the writer never blocks on a full pipe. A read error ends the stream.
pub async fn forward<R: AsyncRead + Unpin>(reader: R, stream: Stream, max: usize, tx: mpsc::Sender<LogLine>) {
    let max = max.max(4);
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    // The previous piece was cut at the limit: a newline right after it ends no extra (empty) line.
    let mut just_cut = false;
    let mut open = true;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let newline = chunk.iter().position(|b| *b == b'\n');
        let body = newline.unwrap_or(chunk.len());
        let take = body.min(max - line.len());
        line.extend_from_slice(&chunk[..take]);
        let ends_line = newline.is_some() && take == body;
        reader.consume(if ends_line { take + 1 } else { take });
        if ends_line {
            if !(just_cut && line.is_empty()) {
                open = send(&tx, stream, take_line(&mut line, true), open).await;
            }
            just_cut = false;
        } else if line.len() >= max {
            let rest = split_at_char_boundary(&mut line);
            open = send(&tx, stream, take_line(&mut line, false), open).await;
            line = rest;
            just_cut = true;
        } else if take > 0 {
            just_cut = false;
        }
    }
    if !line.is_empty() {
        send(&tx, stream, take_line(&mut line, true), open).await;
    }
}

/// Empties `line` into a `String` (lossy), without a trailing `\r` when it ended a line.
fn take_line(line: &mut Vec<u8>, terminated: bool) -> String {
    if terminated && line.last() == Some(&b'\r') {
        line.pop();
    }
    let text = String::from_utf8_lossy(line).into_owned();
    line.clear();
    text
}

/// Keeps in `line` everything up to the last complete UTF-8 character and returns the incomplete
/// tail (at most 3 bytes), so a cut never splits a character.
fn split_at_char_boundary(line: &mut Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(line) {
        Err(err) if err.error_len().is_none() && err.valid_up_to() > 0 => line.split_off(err.valid_up_to()),
        _ => Vec::new(),
    }
}

/// Sends one line while the receiver is there; returns whether it still is.
async fn send(tx: &mpsc::Sender<LogLine>, stream: Stream, line: String, open: bool) -> bool {
    if !open {
        return false;
    }
    let line = LogLine {
        ts: Utc::now(),
        stream,
        line,
    };
    tx.send(line).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(input: &[u8], max: usize) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(1024);
        forward(input, Stream::Stdout, max, tx).await;
        let mut out = Vec::new();
        while let Some(line) = rx.recv().await {
            assert_eq!(line.stream, Stream::Stdout);
            out.push(line.line);
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_and_keeps_the_unterminated_tail() {
        assert_eq!(lines_of(b"a\nbb\r\n\nccc", 64).await, vec!["a", "bb", "", "ccc"]);
        assert_eq!(lines_of(b"", 64).await, Vec::<String>::new());
        assert_eq!(lines_of(b"\n", 64).await, vec![""]);
    }

    #[tokio::test]
    async fn long_lines_are_cut_without_empty_leftovers() {
        assert_eq!(lines_of(b"abcdefghij\nxy\n", 4).await, vec!["abcd", "efgh", "ij", "xy"]);
        // A line of exactly the limit: no empty piece for its newline.
        assert_eq!(lines_of(b"abcd\nef\n", 4).await, vec!["abcd", "ef"]);
        assert_eq!(lines_of(b"abcdefgh\n", 4).await, vec!["abcd", "efgh"]);
    }

    #[tokio::test]
    async fn cuts_respect_characters_and_bad_bytes_are_replaced() {
        // "aé" is 3 bytes; with a limit of 4, "aéé" (5 bytes) is cut after "aé", not inside the second é.
        assert_eq!(lines_of("aéé\n".as_bytes(), 4).await, vec!["aé", "é"]);
        assert_eq!(lines_of(b"ok\xff\xfe\n", 64).await, vec!["ok\u{fffd}\u{fffd}"]);
    }

    #[tokio::test]
    async fn keeps_draining_when_nobody_listens() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let big = "line\n".repeat(10_000);
        // Must return (not block) although every send fails.
        forward(big.as_bytes(), Stream::Stderr, 64, tx).await;
    }
}
