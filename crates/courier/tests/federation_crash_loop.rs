//! Federation in a crash loop (issue 22, item 6): host h1 streams
//! acknowledged sends to two agents of host h2 through one nats-server
//! while, again and again, one of the three is killed at a random moment
//! and started again — h1's broker or h2's broker with `kill -9` (their
//! agents live on in session hosts), or the nats-server (`kill -9` too:
//! JetStream keeps what it synced). At the end every send h1 acknowledged
//! is typed exactly once into its agent on h2, committed once by h2, and
//! ends `verified` at h1: the outcome came back across every fault.
//!
//! `COURIER_FED_CRASH_LOOP_KILLS` (default 10) sets the number of kills,
//! `COURIER_FED_CRASH_LOOP_PAUSE_MS` (100) the pause between two sends,
//! `COURIER_FED_CRASH_LOOP_SEED` replays a run (the seed is printed). With
//! `COURIER_BENCH_JSON` set (as `scripts/benchmarks.sh` does) the figures
//! are recorded there, bench `federation_crash_loop`.
//!
//! Needs a nats-server: scripts/test.sh provides it (COURIER_NATS_SERVER).

mod common;

use std::time::{Duration, Instant};

use common::federation::{Federation, assert_exactly_once_and_verified};
use common::stream::{Acked, Rng, SendStream};
use common::wait_for_within;
use serde_json::json;

const RECEIVERS: [&str; 2] = ["bob", "carl"];

/// Between two sends (`COURIER_FED_CRASH_LOOP_PAUSE_MS`, default 100): ~10
/// a second, about what the two agents on h2 type between restarts (each
/// waits to be seen idle again after a line, and its pacing starts over at
/// each restart). Faster sends build a backlog that the end drains at
/// that rate: 20 ms over 1,000 kills left ~15 minutes of draining.
fn pause() -> Duration {
    let ms = std::env::var("COURIER_FED_CRASH_LOOP_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    Duration::from_millis(ms)
}

fn kills() -> usize {
    std::env::var("COURIER_FED_CRASH_LOOP_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// What is killed in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Victim {
    Sender,
    Receiver,
    Nats,
}

impl Victim {
    /// Brokers 9 kills in 10 (half each), the nats-server 1 in 10.
    fn pick(rng: &mut Rng) -> Victim {
        match rng.between(0, 9) {
            0 => Victim::Nats,
            1..=4 => Victim::Sender,
            _ => Victim::Receiver,
        }
    }
}

#[test]
fn a_federated_crash_loop_types_every_acknowledged_send_once_and_reports_it_back() {
    let kills = kills();
    let (mut rng, seed) = Rng::from_env("COURIER_FED_CRASH_LOOP_SEED");
    eprintln!(
        "federated crash loop: {kills} kills, seed {seed} (COURIER_FED_CRASH_LOOP_SEED={seed} replays it)"
    );
    let begin = Instant::now();
    // A queue cap high enough that nothing is dropped: h2 down or slow to
    // type (its pacing starts over after each restart), the backlog grows
    // past the default 256 per agent, and an evicted delivery is an
    // outcome (`dropped`), not the exactly-once this checks.
    let mut fed = Federation::start_with(&["h1", "h2"], &["--queue-cap", "1000000"]);
    let agents: Vec<_> = RECEIVERS
        .iter()
        .map(|name| fed.host("h2").spawn_fake(name, &["--mode", "line"], &[]))
        .collect();
    for agent in &agents {
        fed.host("h2").wait_ready(&agent.name);
        fed.host("h1")
            .wait_remote_agent(&agent.name, "h2", "active");
    }
    let targets: Vec<String> = RECEIVERS.iter().map(|s| s.to_string()).collect();
    let pause = pause();

    let mut acked: Vec<Acked> = Vec::new();
    let mut killed = [0usize; 3];
    for _ in 0..kills {
        let h1 = fed.host("h1");
        let stream = SendStream::start(&h1.url, &h1.token, targets.clone(), pause, usize::MAX);
        std::thread::sleep(Duration::from_millis(rng.between(100, 400)));
        let victim = Victim::pick(&mut rng);
        match victim {
            Victim::Sender => {
                fed.host_mut("h1").crash();
                // The stream ends at its first refused send: it holds what
                // h1 acknowledged before it died.
                acked.extend(stream.stop());
                fed.host_mut("h1").restart();
            }
            Victim::Receiver => {
                fed.host_mut("h2").crash();
                // h1 goes on acknowledging while h2 is down.
                std::thread::sleep(Duration::from_millis(rng.between(0, 300)));
                acked.extend(stream.stop());
                fed.host_mut("h2").restart();
            }
            Victim::Nats => {
                fed.nats.kill9();
                std::thread::sleep(Duration::from_millis(rng.between(0, 300)));
                acked.extend(stream.stop());
                fed.nats.restart();
            }
        }
        killed[victim as usize] += 1;
    }
    let kill_phase = begin.elapsed();

    // Everything left crosses over, is typed, and its outcome comes back.
    let drain = Duration::from_secs(90) + Duration::from_millis(150) * acked.len() as u32;
    wait_for_within(drain, "h1 to have nothing left to forward", || {
        (fed.host("h1").federation()["pending_forwards"] == json!(0)).then_some(())
    });
    wait_for_within(drain, "h2 to have nothing pending", || {
        (fed.host("h2").get_ok("/v1/status")["pending"] == json!(0)).then_some(())
    });
    let agent_refs: Vec<_> = agents.iter().collect();
    assert_exactly_once_and_verified(fed.host("h1"), fed.host("h2"), &agent_refs, &acked);
    let total = begin.elapsed();

    let [sender_kills, receiver_kills, nats_kills] = killed;
    eprintln!(
        "federated crash-loop report: kills={kills} h1_kills={sender_kills} \
         h2_kills={receiver_kills} nats_kills={nats_kills} pause_ms={} acked={} lost=0 doubled=0 \
         verified_at_sender={} \
         kill_phase_s={:.1} total_s={:.1} seed={seed}",
        pause.as_millis(),
        acked.len(),
        acked.len(),
        kill_phase.as_secs_f64(),
        total.as_secs_f64(),
    );
    let figures = courier_bench::Recorder::new("federation_crash_loop");
    let count = |n: usize| n as f64;
    figures.neither("kills", count(kills), "count").record();
    for (what, n) in [
        ("kill -9 of the sending broker (h1)", sender_kills),
        ("kill -9 of the receiving broker (h2)", receiver_kills),
        ("kill -9 of the nats-server, then restarted", nats_kills),
    ] {
        figures.neither(what, count(n), "count").record();
    }
    // Counts and times that grow with the kills and the pauses describe the
    // run; what is judged is that every acknowledged send arrived once.
    figures
        .neither(
            "acknowledged sends (h1, HTTP 201)",
            count(acked.len()),
            "count",
        )
        .record();
    figures
        .neither(
            "typed exactly once on h2 and verified back at h1",
            count(acked.len()),
            "count",
        )
        .target("all", Some(true))
        .record();
    figures
        .neither("time: kill phase", kill_phase.as_secs_f64(), "s")
        .record();
    figures
        .neither("time: total with drain", total.as_secs_f64(), "s")
        .record();
}
