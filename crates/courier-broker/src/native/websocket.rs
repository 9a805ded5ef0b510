//! A protocol served as WebSocket text frames on a Unix socket (`codex
//! app-server --listen unix://PATH`, which its TUI joins with `--remote`),
//! bridged to the JSON lines every client here reads and writes: one
//! frame is one line. The socket lives in a directory only this user can
//! enter, so whoever connects is the user.

use std::path::Path;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::UnixStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};

use super::jsonrpc::{AgentInput, AgentOutput, MAX_LINE};

/// Bytes in flight between the bridge and the client, each way.
const BRIDGE_BUFFER: usize = 256 * 1024;

/// Connects to the WebSocket server on `socket`: what it sends, as lines,
/// and what takes lines to send it. The bridge ends (and the output with
/// it) when the server closes the connection or goes away.
pub async fn connect(socket: &Path) -> Result<(AgentOutput, AgentInput), String> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    let (ws, _) = client_async("ws://localhost/", stream).await.map_err(|e| {
        format!(
            "the WebSocket handshake on {} failed: {e}",
            socket.display()
        )
    })?;
    let (ours, bridge) = tokio::io::duplex(BRIDGE_BUFFER);
    tokio::spawn(run_bridge(ws, bridge));
    let (read, write) = tokio::io::split(ours);
    Ok((Box::new(read), Box::new(write)))
}

/// Frames in → lines out; lines in → frames out; until either side ends
/// (then both halves go, and the client reads the end of its output).
async fn run_bridge(ws: WebSocketStream<UnixStream>, lines: DuplexStream) {
    let (mut frames_out, mut frames_in) = ws.split();
    let (read, mut write) = tokio::io::split(lines);
    let inbound = async move {
        while let Some(Ok(frame)) = frames_in.next().await {
            match frame {
                Message::Text(text) => {
                    // A frame is one JSON value; a raw newline can only sit
                    // between its tokens, where a space means the same.
                    let mut text = text.as_str().replace('\n', " ");
                    text.push('\n');
                    if write.write_all(text.as_bytes()).await.is_err() {
                        return;
                    }
                }
                Message::Close(_) => return,
                Message::Binary(_) => tracing::debug!("a binary frame; ignored"),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    };
    let outbound = async move {
        let mut read = BufReader::new(read);
        let mut line = Vec::new();
        loop {
            line.clear();
            match read.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) if line.len() > MAX_LINE => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            if frames_out.send(Message::text(text)).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
}
