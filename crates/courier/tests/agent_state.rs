//! One state per agent, computed by the broker: the API (`GET /v1/agents`
//! and `GET /v1/agents/{name}`), the CLI's `courier agents --json` and
//! MCP's `list_agents` show the same word for agents that are idle, busy,
//! held (a draft in the input), starting (a dialog), stuck (a message
//! waiting past the bound behind that dialog), and for crashing fake agents
//! exited (restart never), restarting (a long backoff) and dead (a policy
//! that gives up at once).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::*;
use serde_json::{Value, json};

/// Name → `state` of every entry of a listing.
fn states_of(list: &Value) -> BTreeMap<String, String> {
    list["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["state"].as_str().unwrap_or("<none>").to_string(),
            )
        })
        .collect()
}

fn api_states(broker: &Broker) -> BTreeMap<String, String> {
    states_of(&broker.get_ok("/v1/agents"))
}

fn cli_states(broker: &Broker) -> BTreeMap<String, String> {
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &broker.token, "--json"])
        .arg("agents")
        .output()
        .expect("run courier agents");
    assert!(out.status.success(), "{out:?}");
    states_of(&serde_json::from_slice(&out.stdout).expect("agents --json is JSON"))
}

/// `courier mcp` as an MCP client would run it (JSON-RPC lines on stdio),
/// asked `list_agents`; its text, one `- name: state …` line per agent.
fn mcp_list_agents(broker: &Broker, me: &str) -> String {
    let mut child = courier_command()
        .arg("mcp")
        .env("COURIER_URL", &broker.url)
        .env("COURIER_TOKEN", &broker.token)
        .env("COURIER_AGENT", me)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start courier mcp");
    let mut stdin = child.stdin.take().expect("mcp stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("mcp stdout")).lines();
    // A request with an id waits for its answer; a notification does not.
    let mut rpc = |message: Value| -> Value {
        writeln!(stdin, "{message}").expect("write to mcp");
        stdin.flush().expect("flush mcp");
        let id = message["id"].clone();
        while !id.is_null() {
            let line = lines.next().expect("an answer").expect("read mcp");
            let v: Value = serde_json::from_str(&line).expect("a JSON-RPC line");
            if v["id"] == id {
                return v;
            }
        }
        Value::Null
    };
    let init = rpc(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "agent-state-test", "version": "0"}}}),
    );
    assert!(init["result"].is_object(), "{init}");
    rpc(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let listed = rpc(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "list_agents", "arguments": {}}}));
    drop(stdin);
    let _ = child.wait();
    listed["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("list_agents text: {listed}"))
        .to_string()
}

/// Name → the state word of each `- name: state …` line.
fn mcp_states(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split_once(": "))
        .map(|(name, rest)| {
            let name = name.trim_end_matches(" (you)").to_string();
            let word = rest
                .split([' ', ',', ';', '('])
                .next()
                .unwrap_or_default()
                .to_string();
            (name, word)
        })
        .collect()
}

#[test]
fn the_cli_the_api_and_mcp_show_the_brokers_one_state() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--stuck-after-ms", "500"]);
    broker.spawn_fake("calm", &[], &[]);
    broker.spawn_fake("shy", &["--trust-dialog"], &[]);
    broker.spawn_fake("waiting", &["--trust-dialog"], &[]);
    broker.spawn_fake("worker", &["--busy-forever"], &[]);
    broker.spawn_fake("drafty", &[], &[]);
    broker.spawn_fake("gone", &["--crash-after", "1"], &[]);
    let doomed = broker.transcript_path("doomed");
    broker.spawn_request(
        &json!({"name": "doomed",
            "command": [EXE, "fake-agent", "--transcript", doomed.display().to_string(),
                        "--crash-after", "1"],
            "restart": {"policy": "on-failure", "max_restarts": 0, "window_s": 600}}),
        doomed,
    );
    let later = broker.transcript_path("later");
    broker.spawn_request(
        &json!({"name": "later",
            "command": [EXE, "fake-agent", "--transcript", later.display().to_string(),
                        "--crash-after", "1"],
            "restart": {"policy": "always", "backoff_ms": [600_000]}}),
        later,
    );
    for name in ["calm", "worker", "drafty", "gone", "doomed", "later"] {
        broker.wait_ready(name);
    }
    // worker starts a turn that never ends; gone and doomed crash on their
    // first message; drafty gets a draft a person typed and left.
    broker.send("human", "worker", "start working");
    broker.send("human", "gone", "crash now");
    broker.send("human", "doomed", "crash now");
    broker.send("human", "later", "crash now");
    broker.send("human", "waiting", "behind a dialog");
    let (status, v) = broker.post(
        "/v1/agents/drafty/input",
        &json!({"text": "half a thought"}),
    );
    assert_eq!(status, 204, "{v}");

    let expected: BTreeMap<String, String> = [
        ("calm", "idle"),
        ("worker", "busy"),
        ("drafty", "held"),
        ("gone", "exited"),
        ("doomed", "dead"),
        ("later", "restarting"),
        ("shy", "starting"),
        ("waiting", "stuck"),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s.to_string()))
    .collect();
    wait_for("every agent in its expected state", || {
        (api_states(&broker) == expected).then_some(())
    });

    for (name, state) in &expected {
        let one = broker.get_ok(&format!("/v1/agents/{name}"));
        assert_eq!(&one["state"], state, "GET /v1/agents/{name}: {one}");
    }
    assert_eq!(cli_states(&broker), expected, "courier agents --json");
    let text = mcp_list_agents(&broker, "calm");
    assert_eq!(mcp_states(&text), expected, "list_agents:\n{text}");
    // The held agent's line says why, the dead one's too.
    assert!(text.contains("- drafty: held ("), "{text}");
    assert!(text.contains("- doomed: dead ("), "{text}");

    // The CLI's table shows the same words.
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &broker.token, "agents"])
        .output()
        .expect("run courier agents");
    let table = String::from_utf8_lossy(&out.stdout);
    for (name, state) in &expected {
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"));
        assert!(
            row.split_whitespace()
                .any(|w| w.trim_end_matches(':') == state),
            "{name} is {state}: {row}"
        );
    }
    broker.stop_and_check();
}
