//! The host protocol's frames over a Unix stream socket: one byte of kind,
//! four bytes of big-endian length, then the payload. Screen output and
//! input travel as raw bytes; everything else is a small JSON object.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::pty::SpawnSpec;
use crate::terminal::ExitInfo;

/// Larger frames are refused: a peer that sends one is not speaking this
/// protocol (a paste is written in chunks far below this).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// What a host says first to each client that connects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub session_id: String,
    pub pid: u32,
    /// How the program was started (its environment included), so a broker
    /// that reattaches after a restart knows the agent's identity.
    pub spec: SpawnSpec,
    pub rows: u16,
    pub cols: u16,
    /// Escape sequences that redraw the screen as it is now (contents,
    /// cursor, input modes such as bracketed paste).
    pub screen: String,
    /// Milliseconds since the program started.
    pub uptime_ms: u64,
    /// The host's pid when it adopts the orphans of the program's session
    /// ([`super::adopter`]); absent from a host that does not (or an older
    /// one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopter: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum Frame {
    /// host → client: the session as it is now; output follows.
    Hello(Box<Hello>),
    /// host → client: bytes the program wrote.
    Output(Vec<u8>),
    /// host → client: the program ended.
    Exit(ExitInfo),
    /// host → client: the input with this id was written (or why not).
    Written { id: u64, error: Option<String> },
    /// client → host: bytes for the program's input.
    Input { id: u64, bytes: Vec<u8> },
    /// client → host: a new terminal size.
    Resize { rows: u16, cols: u16 },
    /// client → host: end the program and everything it started.
    Kill,
}

#[derive(Serialize, Deserialize)]
struct WrittenBody {
    id: u64,
    error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Size {
    rows: u16,
    cols: u16,
}

const HELLO: u8 = 1;
const OUTPUT: u8 = 2;
const EXIT: u8 = 3;
const WRITTEN: u8 = 4;
const INPUT: u8 = 10;
const RESIZE: u8 = 11;
const KILL: u8 = 12;

fn invalid(what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

fn json<T: Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(invalid)
}

fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> std::io::Result<T> {
    serde_json::from_slice(payload).map_err(invalid)
}

impl Frame {
    fn encode(&self) -> std::io::Result<(u8, Vec<u8>)> {
        Ok(match self {
            Frame::Hello(hello) => (HELLO, json(hello)?),
            Frame::Output(bytes) => (OUTPUT, bytes.clone()),
            Frame::Exit(info) => (EXIT, json(info)?),
            Frame::Written { id, error } => (
                WRITTEN,
                json(&WrittenBody {
                    id: *id,
                    error: error.clone(),
                })?,
            ),
            Frame::Input { id, bytes } => {
                let mut payload = id.to_be_bytes().to_vec();
                payload.extend_from_slice(bytes);
                (INPUT, payload)
            }
            Frame::Resize { rows, cols } => (
                RESIZE,
                json(&Size {
                    rows: *rows,
                    cols: *cols,
                })?,
            ),
            Frame::Kill => (KILL, Vec::new()),
        })
    }

    fn decode(kind: u8, payload: Vec<u8>) -> std::io::Result<Frame> {
        Ok(match kind {
            HELLO => Frame::Hello(Box::new(parse(&payload)?)),
            OUTPUT => Frame::Output(payload),
            EXIT => Frame::Exit(parse(&payload)?),
            WRITTEN => {
                let body: WrittenBody = parse(&payload)?;
                Frame::Written {
                    id: body.id,
                    error: body.error,
                }
            }
            INPUT => {
                let (id, bytes) = payload
                    .split_first_chunk::<8>()
                    .ok_or_else(|| invalid("input frame without its id"))?;
                Frame::Input {
                    id: u64::from_be_bytes(*id),
                    bytes: bytes.to_vec(),
                }
            }
            RESIZE => {
                let size: Size = parse(&payload)?;
                Frame::Resize {
                    rows: size.rows,
                    cols: size.cols,
                }
            }
            KILL => Frame::Kill,
            other => return Err(invalid(format!("unknown frame kind {other}"))),
        })
    }
}

/// Writes one frame (and flushes it).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> std::io::Result<()> {
    let (kind, payload) = frame.encode()?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|n| (*n as usize) <= MAX_FRAME)
        .ok_or_else(|| invalid(format!("frame of {} bytes is too large", payload.len())))?;
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&len.to_be_bytes());
    w.write_all(&head).await?;
    w.write_all(&payload).await?;
    w.flush().await
}

/// Reads one frame; `None` when the peer closed the stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Frame>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&head[1..]);
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(invalid(format!("frame of {len} bytes is too large")));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Frame::decode(head[0], payload).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(frame: Frame) -> Frame {
        let mut buf = Vec::new();
        write_frame(&mut buf, &frame).await.unwrap();
        let mut slice = buf.as_slice();
        let back = read_frame(&mut slice).await.unwrap().unwrap();
        assert!(read_frame(&mut slice).await.unwrap().is_none(), "one frame");
        back
    }

    #[tokio::test]
    async fn frames_survive_the_wire() {
        match round_trip(Frame::Input {
            id: 7,
            bytes: b"\x1b[200~hi\x1b[201~".to_vec(),
        })
        .await
        {
            Frame::Input { id, bytes } => {
                assert_eq!((id, bytes.as_slice()), (7, &b"\x1b[200~hi\x1b[201~"[..]))
            }
            other => panic!("{other:?}"),
        }
        match round_trip(Frame::Written {
            id: 3,
            error: Some("gone".into()),
        })
        .await
        {
            Frame::Written { id, error } => assert_eq!((id, error.as_deref()), (3, Some("gone"))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(round_trip(Frame::Kill).await, Frame::Kill));
        match round_trip(Frame::Resize {
            rows: 40,
            cols: 120,
        })
        .await
        {
            Frame::Resize { rows, cols } => assert_eq!((rows, cols), (40, 120)),
            other => panic!("{other:?}"),
        }
        let exit = ExitInfo {
            code: Some(3),
            signal: None,
        };
        assert!(matches!(round_trip(Frame::Exit(exit)).await, Frame::Exit(e) if e == exit));
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let mut unknown: &[u8] = &[99, 0, 0, 0, 0];
        assert!(read_frame(&mut unknown).await.is_err());
        let mut huge: &[u8] = &[OUTPUT, 0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut huge).await.is_err());
        let mut cut: &[u8] = &[OUTPUT, 0, 0, 0, 9, 1, 2];
        assert!(read_frame(&mut cut).await.is_err());
        let mut short_input: &[u8] = &[INPUT, 0, 0, 0, 2, 1, 2];
        assert!(read_frame(&mut short_input).await.is_err());
    }
}
