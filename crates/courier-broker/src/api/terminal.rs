//! `GET /v1/agents/{name}/terminal`: an agent's terminal over WebSocket,
//! for a person to watch and drive it (`courier attach`, the dashboard).
//! The frames are in [`super::terminal_frames`].
//!
//! Who may: the owner, read and write (unless `read_only=1`); an agent's
//! own token, read-only, and only its own terminal (another's: 403
//! `not_your_terminal` before the upgrade). Input goes the way of
//! `POST /v1/agents/{name}/input` ([`PersonInput`]: as typed, and it holds
//! deliveries while the person types).
//!
//! Output and input run apart, so neither waits for the other: a task
//! sends the screen then the agent's output from the session's bounded
//! broadcast (a client that falls behind gets a resync and a fresh screen;
//! the agent never waits for it), while this connection's reader writes
//! keystrokes and resizes.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use courier_terminal::Terminal;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::identity::Identity;
use super::json::{ApiPath, ApiQuery};
use super::lease::Lease;
use super::state::AppState;
use super::terminal_frames::{self as frames, ClientFrame, Refused};
use crate::agents::person::PersonInput;
use crate::shutdown::Shutdown;
use crate::terminals::AgentTerminal;

/// Output already waiting is sent together, up to this many bytes a frame.
const MAX_BATCH: usize = 256 * 1024;

#[derive(Debug, Deserialize)]
pub struct TerminalQuery {
    /// `1` (or `true`): watch only, even with the owner's token.
    #[serde(default)]
    pub read_only: Option<String>,
}

fn read_only_flag(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("read_only must be 1 or 0, got {other:?}"),
        )),
    }
}

/// Checks who may watch (and drive) the terminal, then upgrades.
pub async fn terminal(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Extension(lease): Extension<Lease>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<TerminalQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    identity.act_on(&name, "not_your_terminal", "watch the terminal")?;
    let read_only = read_only_flag(q.read_only.as_deref())?;
    let input = state.broker.person_input(&name).await?;
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        // Not a WebSocket request: 4xx, made JSON by the error layer.
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let writable = matches!(identity, Identity::Owner) && !read_only;
    let shutdown = state.broker.shutdown_signal().clone();
    let revoked = lease.ended(state);
    Ok(upgrade
        .on_upgrade(move |socket| serve(socket, name, input, writable, shutdown, revoked))
        .into_response())
}

async fn serve(
    socket: WebSocket,
    agent: String,
    input: PersonInput,
    writable: bool,
    shutdown: Shutdown,
    revoked: impl Future<Output = ()> + Send + 'static,
) {
    tracing::info!(%agent, writable, "terminal viewer attached");
    let (sink, stream) = socket.split();
    let (replies_tx, replies) = mpsc::channel::<String>(16);
    let out = Outgoing {
        sink,
        terminal: input.terminal().clone(),
    };
    let mut sender = tokio::spawn(out.run(agent.clone(), writable, replies, shutdown, revoked));
    tokio::select! {
        _ = &mut sender => {}
        _ = read_client(stream, &agent, &input, writable, &replies_tx) => sender.abort(),
    }
    tracing::info!(%agent, "terminal viewer detached");
}

/// Keystrokes and resizes from the client, in order; refusals go back
/// through `replies`. Returns when the client closes.
async fn read_client(
    mut stream: SplitStream<WebSocket>,
    agent: &str,
    input: &PersonInput,
    writable: bool,
    replies: &mpsc::Sender<String>,
) {
    while let Some(Ok(message)) = stream.next().await {
        let frame = match message {
            Message::Binary(bytes) if bytes.is_empty() => continue,
            Message::Binary(bytes) => Ok(ClientFrame::Input(bytes.to_vec())),
            Message::Text(text) => frames::parse_text(text.as_str()),
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let refused = match frame {
            Err(refused) => Some(refused),
            Ok(_) if !writable => Some(frames::read_only(agent)),
            Ok(ClientFrame::Input(bytes)) => input
                .write(&bytes)
                .await
                .err()
                .map(|e| Refused::new("write_failed", e.to_string())),
            Ok(ClientFrame::Resize { rows, cols }) => input
                .terminal()
                .resize(rows, cols)
                .err()
                .map(|e| Refused::new("resize_failed", e.to_string())),
        };
        if let Some(refused) = refused
            && replies.send(refused.frame()).await.is_err()
        {
            return;
        }
    }
}

/// The sending half: screen, live output, refusals, the exit.
struct Outgoing {
    sink: SplitSink<WebSocket, Message>,
    terminal: Arc<AgentTerminal>,
}

type Sent = Result<(), axum::Error>;

impl Outgoing {
    async fn run(
        mut self,
        agent: String,
        writable: bool,
        mut replies: mpsc::Receiver<String>,
        shutdown: Shutdown,
        revoked: impl Future<Output = ()>,
    ) {
        let watch = self.terminal.watch_output();
        let hello = frames::hello(&agent, watch.rows, watch.cols, writable);
        if self.text(hello).await.is_err() || self.binary(watch.screen.into()).await.is_err() {
            return;
        }
        let mut output = watch.output;
        let terminal = self.terminal.clone();
        let exit = terminal.wait_exit();
        let stopping = shutdown.wait();
        tokio::pin!(exit, stopping, revoked);
        loop {
            let sent = tokio::select! {
                biased;
                _ = &mut stopping => {
                    let _ = self.close(close_code::AWAY, "the broker is stopping").await;
                    return;
                }
                _ = &mut revoked => {
                    let _ = self
                        .close(close_code::POLICY, "the credential was revoked or has expired")
                        .await;
                    return;
                }
                received = output.recv() => match received {
                    Ok(chunk) => self.forward(chunk, &mut output).await,
                    Err(RecvError::Lagged(_)) => self.resync(&mut output).await,
                    // The session is gone with its sender: as good as ended.
                    Err(RecvError::Closed) => Ok(()),
                },
                Some(reply) = replies.recv() => self.text(reply).await,
                info = &mut exit => {
                    let _ = self.finish(info, &mut output).await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    }

    async fn text(&mut self, text: String) -> Sent {
        self.sink.send(Message::Text(text.into())).await
    }

    async fn binary(&mut self, bytes: Bytes) -> Sent {
        self.sink.send(Message::Binary(bytes)).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) -> Sent {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        self.sink.send(Message::Close(Some(frame))).await
    }

    /// Sends `first` with whatever output already waits behind it; resyncs
    /// if the client lost its place meanwhile.
    async fn forward(&mut self, first: Bytes, output: &mut Receiver<Bytes>) -> Sent {
        let (batch, lagged) = gather(first, output);
        self.binary(batch).await?;
        if lagged {
            self.resync(output).await?;
        }
        Ok(())
    }

    /// The client fell behind the bound: a fresh screen, then live again.
    async fn resync(&mut self, output: &mut Receiver<Bytes>) -> Sent {
        self.text(frames::resync()).await?;
        let watch = self.terminal.watch_output();
        *output = watch.output;
        self.binary(watch.screen.into()).await
    }

    /// The last output, the exit frame, and a normal close. A session
    /// publishes its exit only after the program's last bytes, so whatever
    /// is left is already waiting here.
    async fn finish(
        &mut self,
        info: courier_terminal::ExitInfo,
        output: &mut Receiver<Bytes>,
    ) -> Sent {
        loop {
            match output.try_recv() {
                Ok(chunk) => self.forward(chunk, output).await?,
                Err(TryRecvError::Lagged(_)) => self.resync(output).await?,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        self.text(frames::exit(info)).await?;
        self.close(close_code::NORMAL, "the program ended").await
    }
}

/// `first` plus the chunks already waiting (up to [`MAX_BATCH`] bytes), so
/// a client that is behind gets fewer, larger frames; and whether the
/// receiver lagged after them.
fn gather(first: Bytes, output: &mut Receiver<Bytes>) -> (Bytes, bool) {
    if output.is_empty() {
        return (first, false);
    }
    let mut batch = BytesMut::from(&first[..]);
    while batch.len() < MAX_BATCH {
        match output.try_recv() {
            Ok(chunk) => batch.extend_from_slice(&chunk),
            Err(TryRecvError::Lagged(_)) => return (batch.freeze(), true),
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        }
    }
    (batch.freeze(), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast;

    #[test]
    fn read_only_is_one_or_zero() {
        assert!(!read_only_flag(None).unwrap());
        assert!(!read_only_flag(Some("0")).unwrap());
        assert!(read_only_flag(Some("1")).unwrap());
        assert!(read_only_flag(Some("true")).unwrap());
        assert_eq!(read_only_flag(Some("yes")).unwrap_err().code, "bad_query");
    }

    #[test]
    fn waiting_output_goes_in_one_frame_and_a_lag_is_reported_after_it() {
        let (tx, mut rx) = broadcast::channel(2);
        assert_eq!(
            gather(Bytes::from_static(b"a"), &mut rx),
            (Bytes::from_static(b"a"), false)
        );
        tx.send(Bytes::from_static(b"b")).unwrap();
        tx.send(Bytes::from_static(b"c")).unwrap();
        assert_eq!(
            gather(Bytes::from_static(b"a"), &mut rx),
            (Bytes::from_static(b"abc"), false)
        );
        for c in [&b"d"[..], b"e", b"f"] {
            tx.send(Bytes::copy_from_slice(c)).unwrap();
        }
        let (batch, lagged) = gather(Bytes::from_static(b"x"), &mut rx);
        assert_eq!((batch, lagged), (Bytes::from_static(b"x"), true));
    }
}
