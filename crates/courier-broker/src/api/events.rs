//! The event log: a page after a cursor, and the live stream over
//! Server-Sent Events (resume with `Last-Event-ID`) and WebSocket (resume
//! with `?since=`). Both replay everything after the cursor from the store,
//! then follow the live bus: no gap, no repeat.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use courier_core::Event;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::error::ApiError;
use super::json::ApiQuery;
use crate::broker::Broker;

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
    ApiQuery(q): ApiQuery<Since>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let events = state
        .broker
        .store()
        .events_after(q.since.unwrap_or(0), limit)?;
    let last_seq = state.broker.store().last_seq()?;
    Ok(Json(json!({"events": events, "last_seq": last_seq})))
}

/// Sends every event after `after` to `tx`, then live ones, until the
/// client goes away or the broker stops.
async fn follow(broker: Broker, mut last: u64, tx: mpsc::Sender<Event>) {
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
                    Ok(()) => send(&tx, &mut last, event).await,
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

async fn send(tx: &mpsc::Sender<Event>, last: &mut u64, event: Event) -> Result<(), ()> {
    *last = event.seq;
    tx.send(event).await.map_err(|_| ())
}

/// Reads the store from `last` up to `until` (inclusive).
async fn catch_up(
    broker: &Broker,
    last: &mut u64,
    tx: &mpsc::Sender<Event>,
    until: u64,
) -> Result<(), ()> {
    while *last < until {
        let page = match broker.store().events_after(*last, 500) {
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

fn start_follow(state: &AppState, after: u64) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(follow(state.broker.clone(), after, tx));
    rx
}

/// `GET /v1/events/stream`: SSE; `Last-Event-ID` (or `?since=`) resumes.
pub async fn sse(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<Since>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
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
    let stream = ReceiverStream::new(start_follow(&state, after)).map(|event| {
        let data = serde_json::to_string(&event).unwrap_or_default();
        Ok(SseEvent::default()
            .id(event.seq.to_string())
            .event(event.kind.name())
            .data(data))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// `GET /v1/events/ws?since=SEQ`: the same stream over WebSocket, one JSON
/// event per text message.
pub async fn websocket(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Since>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let after = q.since.unwrap_or(0);
    upgrade
        .on_upgrade(move |socket| ws_session(socket, start_follow(&state, after)))
        .into_response()
}

async fn ws_session(mut socket: WebSocket, mut events: mpsc::Receiver<Event>) {
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else {
                    let _ = socket.send(WsMessage::Close(None)).await;
                    return;
                };
                let text = serde_json::to_string(&event).unwrap_or_default();
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
