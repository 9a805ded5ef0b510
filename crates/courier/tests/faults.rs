//! Faults through the real daemon: a full disk under the store, an agent
//! that crashes mid-delivery, one that never echoes, a slow agent whose
//! queue overflows, and SIGTERM with a thousand deliveries pending.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::stream::SendStream;
use common::{Broker, wait_for, wait_for_within};
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A tmpfs mounted on a directory for the life of the value (needs root).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount {size}: {status}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn send_status(broker: &Broker, to: &str, body: &str) -> (u16, Value) {
    broker.post(
        "/v1/messages",
        &json!({"from": "human", "to": to, "body": body}),
    )
}

#[test]
fn a_full_disk_refuses_sends_loses_nothing_acknowledged_and_recovers() {
    let tmp = tempdir();
    // The state directory is a 2 MiB tmpfs; logs and transcripts are not.
    let Some(fs) = Tmpfs::mount(&tmp.path().join("state"), "2M") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs (not root?); the full-disk path is covered at the \
             store level by crates/courier-store/tests/failures.rs (set_max_page_count)"
        );
        return;
    };
    let mut broker = Broker::start(tmp.path(), &["--queue-cap", "100000"]);
    broker.spawn_fake("bob", &["--trust-dialog"], &[]);
    let body = "x".repeat(8 * 1024);
    let mut acked = Vec::new();
    let refusal = loop {
        let (status, v) = send_status(&broker, "bob", &body);
        if status != 201 {
            break (status, v);
        }
        acked.push(v["message_id"].as_str().expect("id").to_string());
        assert!(acked.len() < 2000, "a 2 MiB disk never filled up");
    };
    assert_eq!(refusal.0, 503, "{}", refusal.1);
    assert_eq!(
        refusal.1["error"]["code"], "store_unavailable",
        "{}",
        refusal.1
    );
    let message = refusal.1["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{}", refusal.1);
    // Still full: still refused, and the broker still answers reads.
    let (status, v) = send_status(&broker, "bob", &body);
    assert_eq!(status, 503, "{v}");
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");

    fs.resize("64M");
    let after = wait_for("a send to succeed once space returned", || {
        let (status, v) = send_status(&broker, "bob", "space is back");
        (status == 201).then_some(v)
    });
    acked.push(after["message_id"].as_str().expect("id").to_string());
    eprintln!(
        "full disk: {} sends acked before and after, refused with {}",
        acked.len(),
        refusal.1
    );

    // Nothing acknowledged is lost, across a restart too.
    let status = broker.terminate();
    assert!(status.success(), "{status}\n{}", broker.stderr());
    drop(broker);
    let broker = Broker::start(tmp.path(), &["--queue-cap", "100000"]);
    assert_eq!(
        broker.get_ok("/v1/status")["pending"],
        json!(acked.len()),
        "every acknowledged send is pending"
    );
    for id in &acked {
        let ds = broker.deliveries(id);
        assert_eq!(ds.len(), 1, "{id}: {ds:?}");
        assert_eq!(ds[0]["state"], "queued", "{id}: {ds:?}");
    }
    broker.stop_and_check();
}

#[test]
fn an_agent_that_crashes_mid_delivery_ends_it_unverified_and_others_go_on() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let crasher = broker.spawn_fake("crasher", &["--mode", "line", "--crash-after", "2"], &[]);
    let steady = broker.spawn_fake("steady", &["--mode", "line"], &[]);
    broker.wait_ready("crasher");
    broker.wait_ready("steady");
    let first = broker.send("human", "crasher", "one");
    broker.wait_verified(first["message_id"].as_str().expect("id"));
    let second = broker.send("human", "crasher", "two");
    let second = second["message_id"].as_str().expect("id").to_string();
    let third = broker.send("human", "crasher", "three");
    let third = third["message_id"].as_str().expect("id").to_string();
    let steady_ids: Vec<String> = (0..3)
        .map(|i| {
            broker.send("human", "steady", &format!("steady {i}"))["message_id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();

    let crashed = broker.wait_event("crasher's crash", |e| {
        e["type"] == "agent_crashed" && e["name"] == "crasher"
    });
    assert_eq!(crashed["code"], 101, "{crashed}");
    // In flight at the crash: it may have reached the process, so it ends
    // unverified (agent_exited) and is never typed again.
    let ended = broker.wait_event("the crashed delivery to end", |e| {
        e["message_id"] == json!(second) && e["type"] == "delivery_verified"
    });
    let reason = ended["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("agent_exited") && reason.contains("101"),
        "the reason names the agent's exit: {ended}"
    );
    assert_eq!(broker.deliveries(&second)[0]["state"], "unverified");
    assert_eq!(common::count_in_transcript(&crasher.transcript, &second), 0);
    // Queued behind it: never failed because its agent crashed; it waits
    // (no restart policy: until a person spawns the agent again).
    let waiting = &broker.deliveries(&third)[0];
    assert_eq!(waiting["state"], "queued", "{waiting}");
    assert_eq!(waiting["attempt"], 0, "never tried: {waiting}");
    for id in &steady_ids {
        broker.wait_verified(id);
        assert_eq!(common::count_in_transcript(&steady.transcript, id), 1);
    }
    broker.stop_and_check();
}

#[test]
fn a_black_hole_agent_gets_unverified_outcomes_and_pacing_never_speeds_up() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    broker.spawn_fake("hole", &["--mode", "line", "--black-hole"], &[]);
    broker.wait_ready("hole");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            broker.send("human", "hole", &format!("into the void {i}"))["message_id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    let mut delays = Vec::new();
    let last = wait_for_within(
        std::time::Duration::from_secs(120),
        "every delivery to the black hole to end",
        || {
            let a = broker.get_ok("/v1/agents/hole");
            delays.push(a["status"]["delay_ms"].as_u64().expect("delay_ms"));
            let ds: Vec<Value> = ids
                .iter()
                .map(|id| broker.deliveries(id)[0].clone())
                .collect();
            ds.iter()
                .all(|d| {
                    d["state"] != "queued" && d["state"] != "injecting" && d["state"] != "injected"
                })
                .then_some(ds)
        },
    );
    for d in &last {
        assert_eq!(d["state"], "unverified", "{d}");
        assert!(
            d["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "an unverified delivery says why: {d}"
        );
    }
    let min = delays.iter().copied().min().unwrap_or(0);
    assert!(min >= 100, "the delay dropped to {min} ms: {delays:?}");
    broker.stop_and_check();
}

#[test]
fn queue_overflow_makes_every_eviction_an_event_and_a_dead_letter() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--queue-cap", "5"]);
    broker.spawn_fake("slow", &["--trust-dialog"], &[]);
    let ids: Vec<String> = (0..23)
        .map(|i| {
            broker.send("human", "slow", &format!("overflow {i}"))["message_id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    let dropped: Vec<Value> = broker
        .events()
        .into_iter()
        .filter(|e| e["type"] == "delivery_dropped")
        .collect();
    let evicted: u64 = dropped
        .iter()
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(evicted, 18, "{dropped:?}");
    for e in &dropped {
        assert_eq!(e["name"], "slow", "{e}");
        assert_eq!(e["reason"], "queue_full", "{e}");
    }
    let dlq = broker.get_ok("/v1/dlq");
    let entries = dlq["dead_letters"]
        .as_array()
        .or_else(|| dlq["deliveries"].as_array())
        .or_else(|| dlq["entries"].as_array())
        .cloned()
        .unwrap_or_else(|| panic!("no dead-letter list in {dlq}"));
    assert_eq!(entries.len(), 18, "{dlq}");
    // The oldest were evicted: the dead letters are exactly the first 18.
    for id in &ids[..18] {
        assert_eq!(broker.deliveries(id)[0]["state"], "dropped", "{id}");
    }
    for id in &ids[18..] {
        assert_eq!(broker.deliveries(id)[0]["state"], "queued", "{id}");
    }
    broker.accept_trust_dialog("slow");
    for id in &ids[18..] {
        broker.wait_verified(id);
    }
    broker.stop_and_check();
}

#[test]
fn sigterm_with_a_thousand_pending_keeps_every_one_for_the_next_start() {
    let tmp = tempdir();
    let args = ["--queue-cap", "2000"];
    let mut broker = Broker::start(tmp.path(), &args);
    broker.spawn_fake("later", &["--trust-dialog"], &[]);
    let streams: Vec<SendStream> = (0..4)
        .map(|_| {
            SendStream::start(
                &broker.url,
                &broker.token,
                vec!["later".into()],
                std::time::Duration::ZERO,
                250,
            )
        })
        .collect();
    let mut acked = Vec::new();
    for s in streams {
        wait_for_within(std::time::Duration::from_secs(120), "250 sends", || {
            s.finished().then_some(())
        });
        acked.extend(s.stop());
    }
    assert_eq!(acked.len(), 1000);
    assert_eq!(broker.get_ok("/v1/status")["pending"], json!(1000));
    let status = broker.terminate();
    assert!(status.success(), "exit {status}\n{}", broker.stderr());
    common::wait_pids_gone(&broker.seen_agent_pids());
    drop(broker);

    let broker = Broker::start(tmp.path(), &args);
    assert_eq!(broker.get_ok("/v1/status")["pending"], json!(1000));
    for a in &acked {
        let ds = broker.deliveries(&a.id);
        assert_eq!(ds.len(), 1, "{ds:?}");
        assert_eq!(ds[0]["state"], "queued", "{ds:?}");
    }
    broker.stop_and_check();
}
