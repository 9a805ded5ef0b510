//! Following the broker's event log from a cursor, for the commands that
//! wait on events (`courier ask`, `courier transcript --follow`, `courier
//! events --follow`): the SSE
//! stream `GET /v1/events/stream?since=SEQ`, read one event at a time.
//!
//! A stream that breaks (the connection drops, the broker restarts, nothing
//! arrives for [`IDLE`] although the broker sends a keep-alive every 15 s)
//! is opened again from the last seq seen, so the broker replays what
//! happened in between (a broker that restarted on a new port is found
//! again through the connection file the client was found by); the caller is told it reconnected, for a check of
//! its own in case something was pruned meanwhile. A broker that refuses
//! the stream (a revoked token, a bad cursor) ends the wait with its error.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, anyhow};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::client::Client;

/// How long the stream may stay silent before it counts as broken: three
/// of the broker's 15 s keep-alives missed.
const IDLE: Duration = Duration::from_secs(45);

/// The first pause before trying a broken stream again; it doubles up to
/// [`RETRY_MAX`] while the broker stays unreachable.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// What [`EventStream::next`] read.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// An event, as the broker sent it (`{"seq",…,"type",…}`).
    Event(Value),
    /// Events after `after` were pruned before this stream read them
    /// (`{"type":"gap","after","next_seq","missed"}`).
    Gap(Value),
    /// The stream broke and is open again from the last seq seen: the
    /// broker replays what happened meanwhile, and the caller may look
    /// once at whatever it waits for.
    Reconnected,
}

/// The event stream from a cursor, reconnecting when it breaks.
pub struct EventStream<'a> {
    client: &'a Client,
    /// The broker found again on another URL (it restarted on a new
    /// port); used instead of `client` from then on.
    moved: Option<Client>,
    /// The seq of the last event read (the cursor to resume from).
    last: u64,
    response: Option<reqwest::Response>,
    /// Bytes read but not yet a whole SSE frame.
    buffer: Vec<u8>,
    pending: VecDeque<Next>,
    /// Whether a stream was ever open (the next opening is a reconnect).
    opened: bool,
}

impl<'a> EventStream<'a> {
    /// Events after `since`; nothing is requested until [`Self::next`].
    pub fn new(client: &'a Client, since: u64) -> EventStream<'a> {
        EventStream {
            client,
            moved: None,
            last: since,
            response: None,
            buffer: Vec::new(),
            pending: VecDeque::new(),
            opened: false,
        }
    }

    /// The client that reaches the broker now: the caller's, or the one
    /// that found it again after it restarted on a new port.
    pub fn client(&self) -> &Client {
        self.moved.as_ref().unwrap_or(self.client)
    }

    /// The next event, gap or reconnection; waits as long as it takes (the
    /// caller bounds the wait). An error only when the broker refuses the
    /// stream.
    pub async fn next(&mut self) -> anyhow::Result<Next> {
        let mut pause = RETRY_FIRST;
        loop {
            if let Some(next) = self.pending.pop_front() {
                return Ok(next);
            }
            let Some(response) = self.response.as_mut() else {
                match self.open().await {
                    Ok(response) => {
                        self.response = Some(response);
                        self.buffer.clear();
                        pause = RETRY_FIRST;
                        if std::mem::replace(&mut self.opened, true) {
                            tracing::info!(since = self.last, "event stream open again");
                            return Ok(Next::Reconnected);
                        }
                    }
                    Err(Open::Refused(e)) => return Err(e),
                    Err(Open::Unreachable(e)) => {
                        if let Some(found) = self.client().rediscover() {
                            tracing::info!(url = %found.base, "the broker moved; following it there");
                            self.moved = Some(found);
                            continue;
                        }
                        tracing::debug!(error = %e, ?pause, "event stream: trying again");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(RETRY_MAX);
                    }
                }
                continue;
            };
            match tokio::time::timeout(IDLE, response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    self.buffer.extend_from_slice(&chunk);
                    for frame in take_frames(&mut self.buffer) {
                        if let Some(item) = item_of(&frame, &mut self.last) {
                            self.pending.push_back(item);
                        }
                    }
                }
                ended => {
                    let why = match ended {
                        Ok(Ok(_)) => "the broker ended it".to_string(),
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => format!("nothing for {}s", IDLE.as_secs()),
                    };
                    tracing::warn!(
                        since = self.last,
                        "the broker's event stream broke ({why}); reconnecting"
                    );
                    self.response = None;
                }
            }
        }
    }

    async fn open(&self) -> Result<reqwest::Response, Open> {
        let path = format!("/v1/events/stream?since={}", self.last);
        let client = self.client();
        let response = client
            .request(Method::GET, &path)
            .send()
            .await
            .with_context(|| format!("cannot reach the broker at {}", client.base))
            .map_err(Open::Unreachable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let e = anyhow!("the broker refused the event stream: HTTP {status}: {text}");
        // A broker starting or stopping answers 5xx for a moment; anything
        // else (an ended token, a bad cursor) will not change by waiting.
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(Open::Unreachable(e))
        } else {
            Err(Open::Refused(e))
        }
    }
}

/// What `frame` carries: an event after `last` (which it advances), or
/// a gap. An event at or before `last` was read already (a replay that
/// overlaps what came before); a frame that is not JSON is no item.
fn item_of(frame: &Frame, last: &mut u64) -> Option<Next> {
    let value: Value = serde_json::from_str(&frame.data).ok()?;
    if frame.event.as_deref() == Some("gap") || value["type"] == "gap" {
        return Some(Next::Gap(value));
    }
    let seq = value["seq"].as_u64()?;
    if seq <= *last {
        return None;
    }
    *last = seq;
    Some(Next::Event(value))
}

enum Open {
    Unreachable(anyhow::Error),
    Refused(anyhow::Error),
}

/// One Server-Sent Event: its `event:` name and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    event: Option<String>,
    data: String,
}

/// The whole frames at the front of `buffer` (each ends with a blank
/// line), removed from it; a partial frame stays for the next chunk.
/// Frames without data (keep-alive comments) are skipped.
fn take_frames(buffer: &mut Vec<u8>) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(end) = frame_end(buffer) {
        let raw: Vec<u8> = buffer.drain(..end).collect();
        let text = String::from_utf8_lossy(&raw);
        let mut event = None;
        let mut data: Vec<&str> = Vec::new();
        for line in text.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event = Some(value.to_string()),
                "data" => data.push(value),
                _ => {}
            }
        }
        if !data.is_empty() {
            frames.push(Frame {
                event,
                data: data.join("\n"),
            });
        }
    }
    frames
}

/// Where the first frame of `buffer` ends, past its blank line (`\n\n` or
/// `\r\n\r\n`).
fn frame_end(buffer: &[u8]) -> Option<usize> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_at_blank_lines_and_a_partial_one_waits() {
        let mut buffer =
            b": keep-alive\n\nid: 3\nevent: agent_idle\ndata: {\"seq\":3}\n\ndata: {\"se".to_vec();
        let frames = take_frames(&mut buffer);
        assert_eq!(
            frames,
            vec![Frame {
                event: Some("agent_idle".into()),
                data: "{\"seq\":3}".into()
            }]
        );
        assert_eq!(buffer, b"data: {\"se");
        buffer.extend_from_slice(b"q\":4}\r\n\r\n");
        let frames = take_frames(&mut buffer);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, "{\"seq\":4}");
        assert!(buffer.is_empty());
    }

    #[test]
    fn events_advance_the_cursor_once_and_gaps_pass_through() {
        let frame = |event: &str, data: &str| Frame {
            event: Some(event.into()),
            data: data.into(),
        };
        let mut last = 5;
        let old = frame("agent_idle", r#"{"seq":5,"type":"agent_idle"}"#);
        assert_eq!(item_of(&old, &mut last), None);
        let new = frame("agent_idle", r#"{"seq":9,"type":"agent_idle"}"#);
        assert!(matches!(item_of(&new, &mut last), Some(Next::Event(_))));
        assert_eq!(last, 9);
        assert_eq!(item_of(&new, &mut last), None);
        let gap = frame(
            "gap",
            r#"{"type":"gap","after":9,"next_seq":20,"missed":10}"#,
        );
        assert!(matches!(item_of(&gap, &mut last), Some(Next::Gap(_))));
        assert_eq!(last, 9);
        assert_eq!(item_of(&frame("x", "not json"), &mut last), None);
    }

    #[test]
    fn a_character_split_across_chunks_is_read_whole() {
        let text = "data: {\"text\":\"é\"}\n\n".as_bytes();
        let cut = text
            .iter()
            .position(|b| *b >= 0x80)
            .expect("a multibyte char")
            + 1;
        let mut buffer = text[..cut].to_vec();
        assert!(take_frames(&mut buffer).is_empty());
        buffer.extend_from_slice(&text[cut..]);
        assert_eq!(take_frames(&mut buffer)[0].data, "{\"text\":\"é\"}");
    }
}
