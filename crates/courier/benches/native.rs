//! `cargo bench -p courier --bench native`: what delivering over an agent
//! CLI's own protocol costs, beside typing into its terminal (issue 21).
//! Starts the real `courier up` binary and, over real HTTP on 127.0.0.1,
//! sends one message at a time to an idle agent and measures:
//! - for each protocol of [`PROTOCOLS`], a headless agent (the fake agent's
//!   protocol server on pipes, answering at once: `--think-ms 0`): HTTP
//!   send → the delivery `verified` by the protocol's acknowledgement
//!   reaching the broker (verification `protocol`);
//! - for comparison, the keystrokes channel: bash in a PTY, HTTP send →
//!   the text on its screen, and → `verified` (echo, then Enter).
//!
//! Prints a markdown table with the core count, each figure beside its
//! target, and records each figure to `$COURIER_BENCH_JSON` (bench
//! `native`).

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use common::daemon::{COURIER, Daemon, Timed, one_at_a_time};
use common::{cores, in_ms, ms, pct};
use courier_bench::Recorder;
use serde_json::{Value, json};

const FIGURES: Recorder = Recorder::new("native");

/// Messages per channel, sent one at a time.
const MESSAGES: usize = 100;
/// Unmeasured messages sent first to each agent. The broker paces the
/// injections into one agent, native ones too: the delay starts at 100 ms
/// and halves every 3 verified down to 25 ms, shorter than the pause
/// between two sends here. Without these the 2nd and 3rd message would
/// wait ~65 ms for the pacer, not for the channel.
const WARM_UP: usize = 6;

/// The headless protocols measured, as `--protocol` of both the broker's
/// spawn and the fake agent, with the fake's further arguments: one line
/// each.
const PROTOCOLS: &[(&str, &[&str])] = &[
    ("acp", &[]),
    // Claude Code's one acknowledgement is its replay of the user message,
    // which the claude preset asks for.
    ("claude-stream-json", &["--replay-user-messages"]),
    ("codex-app-server", &[]),
];

/// p50 targets: the fakes answer at once, so this is Courier's overhead.
const NATIVE_P50_MS: f64 = 5.0;
/// The daemon bench's keystrokes targets, for the same path.
const SCREEN_P50_MS: f64 = 10.0;
const KEYS_VERIFIED_P50_MS: f64 = 100.0;

/// A headless agent named after its protocol: the fake agent's server.
fn native_agent(protocol: &str, args: &[&str]) -> Value {
    let mut command = vec![
        COURIER,
        "fake-agent",
        "--protocol",
        protocol,
        "--think-ms",
        "0",
    ];
    command.extend_from_slice(args);
    json!({"name": protocol, "headless": true, "protocol": protocol, "command": command})
}

/// Plain bash in a PTY (no rc files, no history written): what Courier
/// types there is framed as a comment, so bash runs nothing.
fn bash_agent() -> Value {
    json!({"name": "bash", "command": ["bash", "--norc", "--noprofile", "-i"],
        "env": {"PS1": "$ ", "HISTFILE": ""}})
}

/// One line of the table, and its two figures.
struct Row {
    channel: String,
    measure: &'static str,
    sorted: Vec<Duration>,
    p50_at_most: f64,
    note: String,
}

impl Row {
    fn p50(&self) -> f64 {
        in_ms(pct(&self.sorted, 0.5))
    }

    fn record(&self) {
        let name = format!("{}: HTTP send → {}", self.channel, self.measure);
        let p99 = in_ms(pct(&self.sorted, 0.99));
        FIGURES.latency(&name, self.p50(), p99, Some(self.p50_at_most));
    }

    fn print(&self) {
        let met = if self.p50() <= self.p50_at_most {
            "yes"
        } else {
            "NO"
        };
        println!(
            "| {} | HTTP send → {} | {} | {} | ≤ {} ms p50 | {met} | {} |",
            self.channel,
            self.measure,
            ms(pct(&self.sorted, 0.5)),
            ms(pct(&self.sorted, 0.99)),
            self.p50_at_most,
            self.note
        );
    }
}

/// The warm-up, then [`MESSAGES`] timed messages to agent `to`.
async fn timed(daemon: &Daemon, to: &str, watch_screen: bool) -> Timed {
    one_at_a_time(daemon, to, 0..WARM_UP, watch_screen).await;
    one_at_a_time(daemon, to, WARM_UP..WARM_UP + MESSAGES, watch_screen).await
}

/// `100/100 verified by protocol; POST answered 1.20 ms p50`: how the
/// deliveries were verified, and how much of the time the send took.
fn verified_by(timed: &Timed) -> String {
    let by =
        |(how, n): (&String, &usize)| format!("{n}/{} verified by {how}", timed.verified.len());
    let kinds: Vec<String> = timed.verifications.iter().map(by).collect();
    let acked = ms(pct(&timed.acked, 0.5));
    format!("{}; POST answered {acked} p50", kinds.join(", "))
}

async fn measure_native(daemon: &Daemon, protocol: &str) -> Row {
    let timed = timed(daemon, protocol, false).await;
    Row {
        channel: format!("native {protocol}"),
        measure: "verified",
        note: verified_by(&timed),
        sorted: timed.verified,
        p50_at_most: NATIVE_P50_MS,
    }
}

async fn measure_keystrokes(daemon: &Daemon) -> [Row; 2] {
    let timed = timed(daemon, "bash", true).await;
    let note = verified_by(&timed);
    let row = |measure, sorted, p50_at_most, note| Row {
        channel: "keystrokes bash".to_string(),
        measure,
        sorted,
        p50_at_most,
        note,
    };
    [
        row("text on screen", timed.screen, SCREEN_P50_MS, String::new()),
        row("verified", timed.verified, KEYS_VERIFIED_P50_MS, note),
    ]
}

/// Every channel's rows, from one broker with every agent started first.
async fn measure() -> Vec<Row> {
    let (daemon, _) = Daemon::start(&[]).await;
    for (protocol, args) in PROTOCOLS {
        daemon.spawn(native_agent(protocol, args)).await;
    }
    daemon.spawn(bash_agent()).await;
    let mut rows = Vec::new();
    for (protocol, _) in PROTOCOLS {
        rows.push(measure_native(&daemon, protocol).await);
    }
    rows.extend(measure_keystrokes(&daemon).await);
    rows
}

/// ` (claude-stream-json with `--replay-user-messages`)`: the fake's
/// further arguments per protocol, if any.
fn further_arguments() -> String {
    let with: Vec<String> = PROTOCOLS
        .iter()
        .filter(|(_, args)| !args.is_empty())
        .map(|(p, args)| format!("{p} with `{}`", args.join(" ")))
        .collect();
    if with.is_empty() {
        return String::new();
    }
    format!(" ({})", with.join(", "))
}

fn print_table(rows: &[Row]) {
    println!(
        "## native delivery (headless agents over their protocols, beside keystrokes; {} cores, `courier up` over HTTP on 127.0.0.1, {MESSAGES} messages per channel one at a time)\n",
        cores()
    );
    println!("| channel | measure | p50 | p99 | target | met | note |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        row.print();
    }
    println!(
        "\nEach message is sent (`POST /v1/messages`) once the agent is idle again (and 30 ms more) \
         and timed until its delivery is `verified` (and, for keystrokes, until its text is on the \
         agent's screen, polling the screen every 0.3 ms); `verified` is the time its \
         `delivery_verified` event arrives on the event stream, which costs the broker nothing \
         (polling for it every 0.3 ms, as until 2026-12-07, loaded the path it timed: 6.6-6.8 ms \
         p50 then); {WARM_UP} unmeasured messages go first to \
         each agent, so that the broker's pacing of one agent's injections (100 ms at first, 25 ms \
         after 6 verified) does not delay the measured ones. \
         **native**: a headless agent (`{{\"headless\": true, \"protocol\": …}}`) running \
         `courier fake-agent --protocol P --think-ms 0`{}, which answers \
         each turn at once, so the figure is Courier's own path: store, the native session writing \
         the protocol's message, the fake's acknowledgement read back and the delivery verified \
         (`protocol`). **keystrokes**: `bash --norc --noprofile -i` in a PTY; the text is typed \
         (framed as a comment, so bash runs nothing), seen on the rendered screen, submitted and \
         verified there, as in the daemon bench.",
        further_arguments()
    );
}

#[tokio::main]
async fn main() {
    let rows = measure().await;
    for row in &rows {
        row.record();
    }
    FIGURES
        .neither("messages per channel", MESSAGES as f64, "count")
        .record();
    print_table(&rows);
}
