//! `courier attach NAME`: a person drives an agent's terminal, like
//! `tmux attach`, over the broker's terminal stream
//! (`GET /v1/agents/{name}/terminal`, a WebSocket).
//!
//! The local terminal goes into raw mode on its alternate screen; the
//! broker's screen frame paints it, then the agent's output bytes are
//! written as they come (untouched, so UTF-8 split across frames is never
//! garbled), and keystrokes go out as binary frames. The local size is sent
//! at the start and on every SIGWINCH. Ctrl-] detaches; the agent's exit or
//! a lost connection ends it too; the terminal is restored each time, with
//! one line that says why.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use courier_protocol::agents::ExitInfo;
use courier_protocol::error::ErrorBody;
use courier_protocol::frames::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::cli::{AttachArgs, Global};
use crate::client::{Client, segment};
use crate::tty;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Ctrl-].
const DETACH: u8 = 0x1d;

/// How a session ended.
enum End {
    Detached,
    Exited(ExitInfo),
    Closed(String),
}

pub async fn run(global: &Global, args: &AttachArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect(global)?;
    let name = args.name.as_str();
    let mut socket = connect(&client, name, args.read_only).await?;
    let writable = read_hello(&mut socket)
        .await
        .with_context(|| format!("cannot attach to {name}"))?;
    let attached = tty::Attached::enter()?;
    let (end, refused) = drive(socket, writable && !args.read_only).await;
    drop(attached);
    if let Some(message) = refused {
        eprintln!(
            "note: the broker refused some of what you sent: {}",
            crate::output::line(&message)
        );
    }
    match end? {
        End::Detached => {
            println!("detached from {name}");
            Ok(ExitCode::SUCCESS)
        }
        End::Exited(exit) => {
            println!("{name} {}", exit_text(&exit));
            Ok(ExitCode::SUCCESS)
        }
        End::Closed(why) => Err(anyhow!("lost {name}'s terminal: {why}")),
    }
}

/// Opens the stream with the bearer token; an API error comes back with
/// its message (unknown agent, not your terminal, …).
async fn connect(client: &Client, name: &str, read_only: bool) -> anyhow::Result<Socket> {
    let query = if read_only { "?read_only=1" } else { "" };
    let url = client.ws_url(&format!("/v1/agents/{}/terminal{query}", segment(name)))?;
    let mut request = url
        .as_str()
        .into_client_request()
        .with_context(|| format!("bad terminal URL {url}"))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", client.token()))
        .context("the token cannot be sent in a header")?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let status = response.status();
            let body = response.body().as_deref().unwrap_or_default();
            let detail = serde_json::from_slice::<ErrorBody>(body)
                .map(|ErrorBody { error }| {
                    format!(
                        "{} ({}, HTTP {})",
                        error.message,
                        error.code,
                        status.as_u16()
                    )
                })
                .unwrap_or_else(|_| format!("HTTP {status}"));
            Err(anyhow!("cannot attach to {name}: {detail}"))
        }
        Err(e) => Err(anyhow!(
            "cannot reach the broker at {} (is `courier up` running?): {e}",
            client.base
        )),
    }
}

/// The first frame, [`ServerFrame::Hello`]: whether this client may type.
async fn read_hello(socket: &mut Socket) -> anyhow::Result<bool> {
    match socket.next().await {
        Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
            Ok(ServerFrame::Hello { writable, .. }) => Ok(writable),
            _ => Err(anyhow!("expected a hello from the broker, got {text}")),
        },
        Some(Ok(Message::Close(frame))) => Err(anyhow!("the broker closed the stream: {frame:?}")),
        Some(Ok(other)) => Err(anyhow!("expected a hello from the broker, got {other:?}")),
        Some(Err(e)) => Err(anyhow!("the terminal stream broke: {e}")),
        None => Err(anyhow!("the broker closed the stream before its hello")),
    }
}

/// Reads stdin on a thread of its own (a blocking read cannot be
/// cancelled; the thread ends with the process).
fn keystrokes() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Output to the terminal, keys to the agent, sizes on SIGWINCH, until one
/// side ends. Also returns the last refusal the broker sent, if any.
async fn drive(mut socket: Socket, writable: bool) -> (anyhow::Result<End>, Option<String>) {
    let mut refused = None;
    let end = drive_inner(&mut socket, writable, &mut refused).await;
    if matches!(end, Ok(End::Detached)) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), socket.close(None)).await;
    }
    (end, refused)
}

async fn drive_inner(
    socket: &mut Socket,
    writable: bool,
    refused: &mut Option<String>,
) -> anyhow::Result<End> {
    let mut stdout = tokio::io::stdout();
    let mut keys = keystrokes();
    let mut winch = signal(SignalKind::window_change()).context("cannot watch window resizes")?;
    if writable {
        send_size(socket).await?;
    }
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    stdout.write_all(&bytes).await?;
                    stdout.flush().await?;
                }
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str(text.as_str()) {
                        Ok(ServerFrame::Exit { code, signal }) => {
                            return Ok(End::Exited(ExitInfo { code, signal }));
                        }
                        Ok(ServerFrame::Error { message, .. }) => *refused = Some(message),
                        // resync: the screen frame that follows repaints;
                        // a frame of a newer broker is not this client's.
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame
                        .map(|f| f.reason.to_string())
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "the broker closed the stream".into());
                    return Ok(End::Closed(why));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ok(End::Closed(e.to_string())),
                None => return Ok(End::Closed("the connection closed".into())),
            },
            typed = keys.recv() => {
                // End of stdin: nothing more can be typed.
                let Some(typed) = typed else { return Ok(End::Detached) };
                let (send, detach) = match typed.iter().position(|b| *b == DETACH) {
                    Some(at) => (&typed[..at], true),
                    None => (&typed[..], false),
                };
                if writable && !send.is_empty() {
                    socket.send(Message::binary(send.to_vec())).await?;
                }
                if detach {
                    return Ok(End::Detached);
                }
            }
            _ = winch.recv() => {
                if writable {
                    send_size(socket).await?;
                }
            }
        }
    }
}

/// Tells the broker this terminal's size (the agent takes it).
async fn send_size(socket: &mut Socket) -> anyhow::Result<()> {
    if let Some((rows, cols)) = tty::size() {
        let frame = ClientFrame::Resize {
            rows: u32::from(rows.min(500)),
            cols: u32::from(cols.min(1000)),
        };
        let text = serde_json::to_string(&frame).context("a resize frame is JSON")?;
        socket.send(Message::text(text)).await?;
    }
    Ok(())
}

/// "exited with code 0", "was killed by signal 9".
fn exit_text(exit: &ExitInfo) -> String {
    match (exit.code, exit.signal) {
        (_, Some(signal)) => format!("was killed by signal {signal}"),
        (Some(code), None) => format!("exited with code {code}"),
        (None, None) => "exited".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines_say_how_the_agent_ended() {
        let exit = |text: &str| match serde_json::from_str(text).unwrap() {
            ServerFrame::Exit { code, signal } => ExitInfo { code, signal },
            other => panic!("not an exit frame: {other:?}"),
        };
        assert_eq!(
            exit_text(&exit(r#"{"type":"exit","code":0,"signal":null}"#)),
            "exited with code 0"
        );
        assert_eq!(
            exit_text(&exit(r#"{"type":"exit","code":null,"signal":9}"#)),
            "was killed by signal 9"
        );
        assert_eq!(exit_text(&exit(r#"{"type":"exit"}"#)), "exited");
    }
}
