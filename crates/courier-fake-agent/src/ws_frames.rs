//! Writing frames to a nonblocking WebSocket on a Unix socket, as both the
//! listening app server (`protocol/listen.rs`) and the joined TUI
//! (`remote.rs`) do: a write the socket cannot take now stays in
//! tungstenite's buffer (`blocked`) and goes out at the next flush.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;

use tungstenite::{Message, WebSocket};

/// Sends one text frame; false when the connection is gone.
pub fn send(ws: &mut WebSocket<UnixStream>, text: String, blocked: &mut bool) -> bool {
    match ws.write(Message::text(text)) {
        Ok(()) => flush(ws, blocked),
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
            *blocked = true; // the frame waits in the write buffer
            true
        }
        Err(_) => false,
    }
}

/// Writes out what is buffered; false when the connection is gone.
pub fn flush(ws: &mut WebSocket<UnixStream>, blocked: &mut bool) -> bool {
    match ws.flush() {
        Ok(()) => {
            *blocked = false;
            true
        }
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
            *blocked = true;
            true
        }
        Err(_) => false,
    }
}
