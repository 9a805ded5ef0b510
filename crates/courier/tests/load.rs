//! A compressed load run for the test suite (the full one is
//! `cargo bench -p courier --bench load`): 10 agents × 200 messages over
//! HTTP from several senders. Every delivery ends, every acknowledged
//! message reaches its recipient's transcript exactly once or ends
//! unverified with a reason, and nothing is silently missing. No timing is
//! asserted.

mod common;

use std::collections::BTreeMap;

use common::stream::SendStream;
use common::{Broker, message_id_of, transcript, wait_for_within};
use serde_json::json;

const AGENTS: usize = 10;
const PER_AGENT: usize = 200;

#[test]
fn ten_agents_two_thousand_messages_every_delivery_ends_and_none_is_missing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--queue-cap", "10000"]);
    let names: Vec<String> = (0..AGENTS).map(|i| format!("l{i}")).collect();
    for name in &names {
        broker.spawn_fake(name, &["--mode", "line"], &[]);
    }
    for name in &names {
        broker.wait_ready(name);
    }
    // Four senders, each round robin over every agent.
    let total = AGENTS * PER_AGENT;
    let streams: Vec<SendStream> = (0..4)
        .map(|_| {
            SendStream::start(
                &broker.url,
                &broker.token,
                names.clone(),
                std::time::Duration::ZERO,
                total / 4,
            )
        })
        .collect();
    let mut acked = Vec::new();
    for s in streams {
        wait_for_within(std::time::Duration::from_secs(300), "the senders", || {
            s.finished().then_some(())
        });
        acked.extend(s.stop());
    }
    assert_eq!(acked.len(), total, "every send acknowledged");
    wait_for_within(
        std::time::Duration::from_secs(600),
        "every delivery to end",
        || (broker.get_ok("/v1/status")["pending"] == json!(0)).then_some(()),
    );

    let mut typed: BTreeMap<(String, String), usize> = BTreeMap::new();
    for name in &names {
        for text in transcript(&broker.transcript_path(name)) {
            if let Some(id) = message_id_of(&text) {
                *typed.entry((id, name.clone())).or_default() += 1;
            }
        }
    }
    let (mut verified, mut unverified) = (0, 0);
    for a in &acked {
        let n = typed
            .get(&(a.id.clone(), a.to.clone()))
            .copied()
            .unwrap_or(0);
        let ds = broker.deliveries(&a.id);
        assert_eq!(ds.len(), 1, "{}: {ds:?}", a.id);
        match ds[0]["state"].as_str().unwrap_or_default() {
            "verified" => {
                assert_eq!(n, 1, "verified {} typed {n} times", a.id);
                verified += 1;
            }
            "unverified" => {
                assert!(n <= 1, "{} typed {n} times", a.id);
                assert!(ds[0]["reason"].is_string(), "{}", ds[0]);
                unverified += 1;
            }
            other => panic!("{} to {} ended {other}: {}", a.id, a.to, ds[0]),
        }
    }
    eprintln!("load test: {total} acked, {verified} verified, {unverified} unverified");
    assert_eq!(verified + unverified, total);
    broker.stop_and_check();
}
