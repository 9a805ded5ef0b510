//! Test helper for `tests/crash.rs`: sends messages from several threads and
//! prints `ACK <key> <message_id> <duplicate>` once each send is acknowledged,
//! until the parent kills it with SIGKILL.
//!
//! Usage: `courier-store-crash-child <db-file> <round>`.
//!
//! Keys are `r<round>-t<thread>-<i>`; the key alone decides sender and target
//! (see [`plan`]), so the parent can compute the expected fan-out. Every
//! fifth send re-sends a key of the previous round, to exercise duplicate
//! detection across crashes.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use courier_core::{NewMessage, Recipient};
use courier_store::{AgentRecord, Store, StoreOptions};

const AGENTS: [&str; 4] = ["a0", "a1", "a2", "a3"];
const THREADS: u64 = 8;

/// Sender and target of the send with key `r<round>-t<t>-<i>`.
fn plan(t: u64, i: u64) -> (&'static str, Recipient) {
    let from = AGENTS[(t % 4) as usize];
    let to = match (t + i) % 3 {
        0 => Recipient::Agent(AGENTS[((t + 1) % 4) as usize].to_string()),
        1 => Recipient::Channel("ops".into()),
        _ => Recipient::Broadcast,
    };
    (from, to)
}

fn send(store: &Store, round: u64, t: u64, i: u64) -> Result<(), String> {
    let key = format!("r{round}-t{t}-{i}");
    let (from, to) = plan(t, i);
    let mut message = NewMessage::new(from, to, format!("message {key}"));
    message.idempotency_key = Some(key.clone());
    let receipt = store.send(message).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "ACK {key} {} {}",
        receipt.message.id, receipt.duplicate
    )
    .and_then(|()| out.flush())
    .map_err(|e| e.to_string())
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: courier-store-crash-child <db> <round>")?;
    let round: u64 = args
        .next()
        .and_then(|r| r.parse().ok())
        .ok_or("usage: courier-store-crash-child <db> <round>")?;
    let store = Arc::new(Store::open(&path, StoreOptions::default()).map_err(|e| e.to_string())?);
    for name in AGENTS {
        store
            .upsert_agent(AgentRecord::new(name, serde_json::json!({"cmd": "sh"})))
            .map_err(|e| e.to_string())?;
    }
    for name in &AGENTS[..3] {
        store.join("#ops", name).map_err(|e| e.to_string())?;
    }
    println!("READY");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<(), String> {
                for i in 0..1_000_000 {
                    if i % 5 == 4 && round > 0 {
                        send(&store, round - 1, t, i / 5)?;
                    }
                    send(&store, round, t, i)?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| "sender thread panicked".to_string())??;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courier-store-crash-child: {e}");
            ExitCode::FAILURE
        }
    }
}
