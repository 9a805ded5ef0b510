//! Sessions served by a host (in this test process, as `courier
//! session-host` runs it), reached through `RemoteSession`: delivery works
//! as on a local session, a client can go and come back with the screen
//! intact, and a delivery left in flight is settled from the screen.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use courier_terminal::host::{HostEnd, HostOptions, RemoteSession, serve};
use courier_terminal::resume::{Resumed, framed_as, resume};
use courier_terminal::*;

struct Hosted {
    dir: tempfile::TempDir,
    socket: PathBuf,
    host: tokio::task::JoinHandle<Result<HostEnd, TerminalError>>,
}

impl Hosted {
    fn transcript(&self) -> Vec<String> {
        read_transcript(&self.dir.path().join("transcript.jsonl"))
    }

    async fn connect(&self) -> RemoteSession {
        connect_host(&self.socket, DEFAULT_OUTPUT_CHUNKS, PATIENCE).await
    }

    async fn transcript_until(&self, cond: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let t = self.transcript();
            if cond(&t) || Instant::now() > deadline {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn host_fake(args: &[&str], orphan_timeout: Duration) -> Hosted {
    let dir = tempfile::tempdir().expect("temp dir");
    let transcript = dir.path().join("transcript.jsonl");
    let mut full = vec!["--transcript".to_string(), transcript.display().to_string()];
    full.extend(args.iter().map(|s| s.to_string()));
    let spec = SpawnSpec::new("hosted", fake_agent().display().to_string())
        .args(full)
        .cwd(dir.path())
        .size(24, 80)
        .env("COURIER_TOKEN", "kept-for-reattach");
    let socket = dir.path().join("hosted.sock");
    let opts = HostOptions {
        socket: socket.clone(),
        orphan_timeout,
        adopter: None,
    };
    Hosted {
        host: tokio::spawn(serve(spec, opts)),
        socket,
        dir,
    }
}

fn opts() -> DeliverOptions {
    DeliverOptions {
        echo_window: Duration::from_secs(10),
        submit_window: Duration::from_secs(2),
        ..DeliverOptions::default()
    }
}

async fn ready_remote(s: &RemoteSession) {
    if let Err(why) = wait_ready(s, &ReadinessConfig::default(), Instant::now() + PATIENCE).await {
        panic!("not ready: {why}\n{}", s.snapshot(0).text());
    }
}

/// Types `text` as the broker would (one paste when bracketed), no Enter.
async fn type_text(s: &RemoteSession, text: &str) {
    let inj = inject::build(text, s.snapshot(0).bracketed_paste, inject::DEFAULT_CHUNK);
    for chunk in &inj.chunks {
        s.write(chunk).await.unwrap();
    }
}

async fn wait_screen(s: &RemoteSession, needle: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !s.snapshot(0).text().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "never saw {needle:?}:\n{}",
            s.snapshot(0).text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_session_delivers_and_survives_its_client() {
    let hosted = host_fake(&[], PATIENCE);
    let first = hosted.connect().await;
    assert_eq!(
        first
            .spec()
            .env
            .iter()
            .find(|(k, _)| k == "COURIER_TOKEN")
            .map(|(_, v)| v.as_str()),
        Some("kept-for-reattach"),
        "the spec (the agent's identity) comes with the hello"
    );
    ready_remote(&first).await;
    let text = framed("01HOSTED", "through the host");
    let report = deliver(&first, &opts(), &text).await;
    assert_eq!(report.outcome, DeliveryOutcome::Verified, "{report:?}");
    let (id, pid) = (first.id().to_string(), first.pid());
    // The client goes away (a broker killed); the program does not.
    drop(first);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!gone(pid as i32), "the agent outlives its client");
    let again = hosted.connect().await;
    assert_eq!(
        (again.id(), again.pid()),
        (id.as_str(), pid),
        "the same session"
    );
    assert!(
        again.snapshot(0).text().contains("through the host"),
        "screen kept"
    );
    assert!(
        again.snapshot(0).alternate_screen,
        "the TUI's alternate screen is kept for a client that comes after it switched"
    );
    let text2 = framed("01AGAIN", "after reattaching");
    let report = deliver(&again, &opts(), &text2).await;
    assert_eq!(report.outcome, DeliveryOutcome::Verified, "{report:?}");
    assert_eq!(
        hosted.transcript_until(|t| t.len() >= 2).await,
        [text, text2]
    );
    let exit = again.kill().await;
    assert!(exit.is_some(), "the kill is reported with the exit");
    assert!(matches!(
        hosted.host.await.unwrap().unwrap(),
        HostEnd::Killed(_)
    ));
    assert!(gone(pid as i32));
    assert!(!hosted.socket.exists(), "the socket goes with the host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_left_in_flight_is_settled_from_the_screen_exactly_once() {
    let hosted = host_fake(&[], PATIENCE);
    let s = hosted.connect().await;
    ready_remote(&s).await;
    // Typed, Enter never sent: the broker died between the two.
    let typed = framed("01TYPED", "typed before the crash");
    type_text(&s, &typed).await;
    wait_screen(&s, "typed before the crash").await;
    drop(s);
    let s = hosted.connect().await;
    match resume(&s, &opts(), &typed, false, &NoHook).await {
        Resumed::Done(r) => assert_eq!(r.outcome, DeliveryOutcome::Verified, "{r:?}"),
        other => panic!("{other:?}"),
    }
    // Submitted before the crash (Enter sent), verified by the new broker
    // without a keystroke.
    let sent = framed("01SENT", "submitted before the crash");
    type_text(&s, &sent).await;
    wait_screen(&s, "submitted before the crash").await;
    s.write(b"\r").await.unwrap();
    hosted.transcript_until(|t| t.len() >= 2).await;
    drop(s);
    let s = hosted.connect().await;
    match resume(&s, &opts(), &sent, true, &NoHook).await {
        Resumed::Done(r) => assert_eq!(
            r.outcome,
            DeliveryOutcome::Verified,
            "{r:?}\n{}",
            s.snapshot(0).text()
        ),
        other => panic!("{other:?}"),
    }
    // Never typed at all: typed again by the caller.
    let never = framed("01NEVER", "claimed but never typed");
    assert_eq!(
        resume(&s, &opts(), &never, false, &NoHook).await,
        Resumed::NotTyped
    );
    let report = deliver(&s, &opts(), &never).await;
    assert_eq!(report.outcome, DeliveryOutcome::Verified, "{report:?}");
    assert_eq!(
        hosted.transcript_until(|t| t.len() >= 3).await,
        [typed, sent, never],
        "each exactly once"
    );
    s.kill().await;
    let _ = hosted.host.await;
}

/// The program reading a terminal may change while no broker runs (a REPL
/// exits), so a new framing decision can differ from what was typed: the
/// text to settle is the one whose trace the surviving screen shows, and a
/// message typed under another framing is found, not typed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_to_settle_is_the_framing_the_screen_shows() {
    use courier_core::framing::Framing;
    let hosted = host_fake(&[], PATIENCE);
    let s = hosted.connect().await;
    ready_remote(&s).await;
    let text = framed("01FRAMED", "typed as a shell comment");
    // Decided now: `// ` (node reads the terminal); typed before: `# `.
    let candidates: Vec<String> = [
        Framing::SlashComment,
        Framing::ZshQuoted,
        Framing::HashComment,
    ]
    .iter()
    .map(|f| f.apply(&text))
    .collect();
    assert_eq!(
        framed_as(&s, &opts(), &candidates),
        None,
        "nothing typed yet"
    );
    type_text(&s, &candidates[2]).await;
    wait_screen(&s, "typed as a shell comment").await;
    drop(s);
    let s = hosted.connect().await;
    assert_eq!(framed_as(&s, &opts(), &candidates), Some(2));
    match resume(&s, &opts(), &candidates[2], false, &NoHook).await {
        Resumed::Done(r) => assert_eq!(r.outcome, DeliveryOutcome::Verified, "{r:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        hosted.transcript_until(|t| !t.is_empty()).await,
        [candidates[2].clone()],
        "typed once, under the framing it was typed with"
    );
    s.kill().await;
    let _ = hosted.host.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_nobody_comes_back_to_ends_its_agent() {
    let hosted = host_fake(&[], Duration::from_millis(300));
    let s = hosted.connect().await;
    let pid = s.pid();
    drop(s);
    let end = tokio::time::timeout(PATIENCE, hosted.host)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(end, HostEnd::Orphaned(_)), "{end:?}");
    assert!(gone(pid as i32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_exiting_is_reported_to_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sh.sock");
    let spec = SpawnSpec::new("sh", "sh").args(["-c", "sleep 0.3; exit 7"]);
    let host = tokio::spawn(serve(
        spec,
        HostOptions {
            socket: socket.clone(),
            orphan_timeout: PATIENCE,
            adopter: None,
        },
    ));
    let s = connect_host(&socket, DEFAULT_OUTPUT_CHUNKS, PATIENCE).await;
    let info = tokio::time::timeout(PATIENCE, s.wait_exit()).await.unwrap();
    assert_eq!(info.code, Some(7));
    assert!(matches!(host.await.unwrap().unwrap(), HostEnd::Exited(i) if i.code == Some(7)));
}
