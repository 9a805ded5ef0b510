//! The event log: a page after a cursor, and the live stream over
//! Server-Sent Events (resume with `Last-Event-ID`) and WebSocket (resume
//! with `?since=`). Both replay everything after the cursor from the store,
//! then follow the live bus: no gap, no repeat.
//!
//! Except one the log itself has: events older than the retention are
//! pruned. A client resuming from a cursor older than the oldest retained
//! event is told so, never left to miss events silently: a `gap` item
//! (`{"type":"gap","after":A,"next_seq":N,"missed":M}`: events A+1..N-1 are
//! gone) before the replay (an SSE event named `gap`, a WebSocket text
//! message, a `gap` field of a page) and the response header
//! `Courier-Event-Gap: A-N`. The same item is sent mid-stream should a slow
//! client fall behind pruning.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use courier_core::Event;
use courier_protocol::events::{EventsPage, Gap};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::error::ApiError;
use super::event_view::for_reader;
use super::identity::Identity;
use super::json::ApiQuery;
use super::lease::Lease;
use super::state::AppState;
use crate::broker::Broker;

/// Events `after`+1 .. `next_seq`-1 were pruned before the client read them.
/// The gap between a cursor and the first event found after it.
fn gap_between(after: u64, next_seq: u64) -> Option<Gap> {
    // `since` may be anything up to u64::MAX, past the last event: no gap
    // then, and nothing computed that could overflow (`then`, not the
    // eager `then_some`).
    (next_seq > after.saturating_add(1)).then(|| Gap {
        after,
        next_seq,
        missed: next_seq - after - 1,
    })
}

/// `Courier-Event-Gap: A-N`.
fn gap_header(gap: &Gap) -> (HeaderName, HeaderValue) {
    let value = format!("{}-{}", gap.after, gap.next_seq);
    (
        HeaderName::from_static(GAP_HEADER),
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("unknown")),
    )
}

/// A gap as a stream item: `{"type":"gap",…}`.
fn gap_text(gap: &Gap) -> String {
    serde_json::to_string(gap).unwrap_or_default()
}

const GAP_HEADER: &str = "courier-event-gap";

/// What a stream sends: an event, or word that some were pruned.
#[derive(Debug)]
enum Item {
    Event(Event),
    Gap(Gap),
}

/// The gap a client resuming after `after` would meet now, if any: the
/// first retained event after it is not the next one, or none is left
/// although later ones were written.
async fn gap_after(broker: &Broker, after: u64) -> Result<Option<Gap>, ApiError> {
    let store = broker.store();
    let next = match store.events_after_async(after, 1).await?.first() {
        Some(first) => first.seq,
        None => store.last_seq_async().await?.saturating_add(1),
    };
    Ok(gap_between(after, next))
}

#[derive(Debug, Deserialize)]
pub struct Since {
    #[serde(default)]
    pub since: Option<u64>,
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /v1/events?since=SEQ&limit=N`: one page of the log.
pub async fn list(
    State(state): State<AppState>,
    Extension(reader): Extension<Identity>,
    ApiQuery(q): ApiQuery<Since>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let after = q.since.unwrap_or(0);
    let events: Vec<Event> = state
        .broker
        .store()
        .events_after_async(after, limit)
        .await?
        .into_iter()
        .map(|event| for_reader(event, &reader))
        .collect();
    let last_seq = state.broker.store().last_seq_async().await?;
    let next = events.first().map_or(last_seq.saturating_add(1), |e| e.seq);
    let gap = gap_between(after, next);
    let mut headers = HeaderMap::new();
    if let Some(gap) = &gap {
        let (name, value) = gap_header(gap);
        headers.insert(name, value);
    }
    let page = EventsPage {
        events,
        gap,
        last_seq,
    };
    Ok((headers, Json(page)).into_response())
}

/// Sends every event after `after` to `tx`, then live ones, until the
/// client goes away, the broker stops or the stream's credential ends
/// (dropping `tx` ends the SSE response and closes the WebSocket).
async fn follow(state: AppState, lease: Lease, last: u64, tx: mpsc::Sender<Item>) {
    let ended = lease.ended(state.clone());
    tokio::select! {
        _ = ended => {}
        _ = follow_log(state.broker, last, tx) => {}
    }
}

async fn follow_log(broker: Broker, mut last: u64, tx: mpsc::Sender<Item>) {
    let mut live = broker.bus().subscribe();
    if catch_up(&broker, &mut last, &tx, u64::MAX).await.is_err() {
        return;
    }
    let shutdown = broker.shutdown_signal().clone();
    loop {
        let received = tokio::select! {
            r = live.recv() => r,
            _ = shutdown.wait() => return,
        };
        let ok = match received {
            Ok(event) if event.seq <= last => Ok(()),
            Ok(event) => {
                let before = event.seq - 1;
                match catch_up(&broker, &mut last, &tx, before).await {
                    Ok(()) => send(&tx, &mut last, Arc::unwrap_or_clone(event)).await,
                    Err(()) => Err(()),
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                catch_up(&broker, &mut last, &tx, u64::MAX).await
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if ok.is_err() {
            return;
        }
    }
}

async fn send(tx: &mpsc::Sender<Item>, last: &mut u64, event: Event) -> Result<(), ()> {
    if let Some(gap) = gap_between(*last, event.seq) {
        tx.send(Item::Gap(gap)).await.map_err(|_| ())?;
    }
    *last = event.seq;
    tx.send(Item::Event(event)).await.map_err(|_| ())
}

/// Reads the store from `last` up to `until` (inclusive).
async fn catch_up(
    broker: &Broker,
    last: &mut u64,
    tx: &mpsc::Sender<Item>,
    until: u64,
) -> Result<(), ()> {
    while *last < until {
        let page = match broker.store().events_after_async(*last, 500).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "event stream cannot read the store");
                return Err(());
            }
        };
        if page.is_empty() {
            return Ok(());
        }
        for event in page {
            if event.seq > until {
                return Ok(());
            }
            send(tx, last, event).await?;
        }
    }
    Ok(())
}

fn start_follow(state: &AppState, lease: Lease, after: u64) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(follow(state.clone(), lease, after, tx));
    rx
}

/// `GET /v1/events/stream`: SSE; `Last-Event-ID` (or `?since=`) resumes.
pub async fn sse(
    State(state): State<AppState>,
    Extension(lease): Extension<Lease>,
    Extension(reader): Extension<Identity>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<Since>,
) -> Result<Response, ApiError> {
    let from_header = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be an event seq"))?,
        ),
        None => None,
    };
    let after = from_header.or(q.since).unwrap_or(0);
    let mut headers = HeaderMap::new();
    if let Some(gap) = gap_after(&state.broker, after).await? {
        let (name, value) = gap_header(&gap);
        headers.insert(name, value);
    }
    let stream = ReceiverStream::new(start_follow(&state, lease, after)).map(move |item| {
        Ok::<_, Infallible>(match item {
            Item::Event(event) => {
                let event = for_reader(event, &reader);
                let data = serde_json::to_string(&event).unwrap_or_default();
                SseEvent::default()
                    .id(event.seq.to_string())
                    .event(event.kind.name())
                    .data(data)
            }
            Item::Gap(gap) => SseEvent::default().event("gap").data(gap_text(&gap)),
        })
    });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok((headers, sse).into_response())
}

/// `GET /v1/events/ws?since=SEQ`: the same stream over WebSocket, one JSON
/// event per text message.
pub async fn websocket(
    State(state): State<AppState>,
    Extension(lease): Extension<Lease>,
    Extension(reader): Extension<Identity>,
    ApiQuery(q): ApiQuery<Since>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let after = q.since.unwrap_or(0);
    // As for SSE: a store that cannot say whether events were pruned
    // refuses the stream rather than hide a gap.
    let gap = match gap_after(&state.broker, after).await {
        Ok(gap) => gap,
        Err(e) => return e.into_response(),
    };
    let mut response = upgrade
        .on_upgrade(move |socket| ws_session(socket, reader, start_follow(&state, lease, after)))
        .into_response();
    if let Some(gap) = gap {
        let (name, value) = gap_header(&gap);
        response.headers_mut().insert(name, value);
    }
    response
}

async fn ws_session(mut socket: WebSocket, reader: Identity, mut events: mpsc::Receiver<Item>) {
    loop {
        tokio::select! {
            item = events.recv() => {
                let Some(item) = item else {
                    let _ = socket.send(WsMessage::Close(None)).await;
                    return;
                };
                let text = match item {
                    Item::Event(event) => {
                        serde_json::to_string(&for_reader(event, &reader)).unwrap_or_default()
                    }
                    Item::Gap(gap) => gap_text(&gap),
                };
                if socket.send(WsMessage::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Gap, gap_between};

    #[test]
    fn a_gap_is_only_a_jump_past_the_next_seq_and_never_overflows() {
        assert_eq!(gap_between(4, 5), None);
        assert_eq!(gap_between(0, 1), None);
        assert_eq!(
            gap_between(1, 10),
            Some(Gap {
                after: 1,
                next_seq: 10,
                missed: 8
            })
        );
        assert_eq!(gap_between(u64::MAX, u64::MAX), None);
        assert_eq!(gap_between(u64::MAX, 3), None);
        assert_eq!(gap_between(5, 4), None);
        assert_eq!(gap_between(u64::MAX, 1), None);
    }
}
