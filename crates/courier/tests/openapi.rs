//! The OpenAPI document end to end: a running broker serves the document
//! generated from the protocol's types (`GET /v1/openapi.json`, behind a
//! token like every API route), `courier openapi` prints the same one
//! without a broker, and what the broker answers matches the schemas it
//! documents for the agent listing.

mod common;

use common::Broker;
use reqwest::Method;
use serde_json::Value;

#[test]
fn the_broker_serves_the_generated_document_behind_its_token() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);

    let served = broker.get_ok("/v1/openapi.json");
    assert_eq!(served["openapi"], "3.1.0");
    let printed = common::courier_command()
        .arg("openapi")
        .output()
        .expect("run courier openapi");
    assert!(printed.status.success(), "{printed:?}");
    let printed: Value =
        serde_json::from_slice(&printed.stdout).expect("courier openapi prints JSON");
    assert_eq!(
        served, printed,
        "the served and the printed document differ"
    );

    // Every operation of the document is one the broker routes: none of
    // them falls through to the API's 404 `not_found` (a route may refuse
    // the request for other reasons: no body, no such agent).
    let paths = served["paths"].as_object().expect("paths");
    assert!(
        paths.contains_key("/v1/agents/{name}/terminal"),
        "{paths:?}"
    );
    for (path, methods) in paths {
        let concrete = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "nobody"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in methods.as_object().expect("methods").keys() {
            // Stopping the broker, or following the live stream, is not a
            // probe of routing.
            if path == "/v1/shutdown" || path == "/v1/events/stream" {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let (status, body) = broker.call(broker.req(method.clone(), &concrete));
            let route_missing = status == 404 && body["error"]["code"] == "not_found";
            assert!(
                !route_missing,
                "{method} {concrete} is documented but not routed: {body}"
            );
        }
    }

    // Like every API route it needs a credential.
    let anonymous = broker
        .http()
        .get(format!("{}/v1/openapi.json", broker.url))
        .send()
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    broker.stop_and_check();
}
