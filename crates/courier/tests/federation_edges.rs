//! Federation's edges against a real nats-server (`COURIER_NATS_SERVER`):
//! a spawn right after `courier up --nats` waits for the join instead of
//! failing with 503 `federation_unavailable`, and two brokers of one
//! machine without `--host-id` get distinct default host ids (the host
//! name and a hash of the state directory), stable across a restart.

mod common;

use common::Broker;
use common::nats::NatsServer;
use serde_json::json;

fn up_nats(root: &std::path::Path, nats: &NatsServer) -> Broker {
    std::fs::create_dir_all(root).expect("broker root");
    Broker::start(
        root,
        &["--nats", &nats.url(), "--workspace", "edges", "--ephemeral"],
    )
}

#[test]
fn a_spawn_right_after_the_start_waits_for_the_join() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nats = NatsServer::start(&tmp.path().join("nats"));
    let broker = up_nats(&tmp.path().join("a"), &nats);
    // No wait for `joined`: the first request comes as soon as the API
    // answers, as a script's would.
    let (status, v) = broker.post("/v1/agents", &json!({"name": "early", "command": ["sh"]}));
    assert_eq!(status, 201, "{v}");
    assert_eq!(broker.get_ok("/v1/federation")["joined"], true);
}

#[test]
fn brokers_of_one_machine_get_distinct_stable_host_ids() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nats = NatsServer::start(&tmp.path().join("nats"));
    let a = up_nats(&tmp.path().join("a"), &nats);
    let b = up_nats(&tmp.path().join("b"), &nats);
    let host_a = a.get_ok("/v1/federation")["host"].clone();
    let host_b = b.get_ok("/v1/federation")["host"].clone();
    assert!(
        host_a.is_string() && host_b.is_string(),
        "{host_a} {host_b}"
    );
    assert_ne!(host_a, host_b, "two brokers share a host id");
    a.stop_and_check();
    let again = up_nats(&tmp.path().join("a"), &nats);
    assert_eq!(again.get_ok("/v1/federation")["host"], host_a);
}
