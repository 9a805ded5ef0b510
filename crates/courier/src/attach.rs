//! `courier attach NAME`: a person drives an agent's terminal. The local
//! terminal goes into raw mode; keystrokes go to the agent as raw input and
//! its screen is redrawn here when it changes. Ctrl-] detaches.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::cli::Global;
use crate::client::{Client, segment};

const DETACH: u8 = 0x1d; // Ctrl-]

/// Puts stdin in raw mode; restores it on drop.
struct RawMode(libc::termios);

impl RawMode {
    fn enter() -> anyhow::Result<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
            anyhow::bail!("attach needs a terminal on stdin");
        }
        let mut raw = saved;
        unsafe { libc::cfmakeraw(&mut raw) };
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) } != 0 {
            anyhow::bail!("cannot put the terminal in raw mode");
        }
        Ok(RawMode(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.0) };
    }
}

pub async fn run(global: &Global, name: &str) -> anyhow::Result<ExitCode> {
    let client = Client::connect(global)?;
    let screen_path = format!("/v1/agents/{}/screen?format=ansi", segment(name));
    let input_path = format!("/v1/agents/{}/input", segment(name));
    client
        .get(&screen_path)
        .await
        .with_context(|| format!("cannot attach to {name}"))?;
    let raw = RawMode::enter()?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || tx.blocking_send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut last = String::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            bytes = rx.recv() => {
                let Some(bytes) = bytes else { break };
                if let Some(pos) = bytes.iter().position(|b| *b == DETACH) {
                    if pos > 0 {
                        let text = String::from_utf8_lossy(&bytes[..pos]).into_owned();
                        client.post(&input_path, &json!({"text": text})).await?;
                    }
                    break;
                }
                let text = String::from_utf8_lossy(&bytes).into_owned();
                client.post(&input_path, &json!({"text": text})).await?;
            }
            _ = tick.tick() => {
                let screen = client.get(&screen_path).await?;
                let ansi = screen["ansi"].as_str().unwrap_or_default().to_string();
                if ansi != last {
                    let mut out = std::io::stdout().lock();
                    write!(out, "\x1b[H\x1b[2J{ansi}")?;
                    out.flush()?;
                    last = ansi;
                }
            }
        }
    }
    drop(raw);
    println!("\r\ndetached from {name}");
    Ok(ExitCode::SUCCESS)
}
