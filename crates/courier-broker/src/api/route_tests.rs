//! The route table against the OpenAPI document: every route the router
//! serves is documented, and every documented operation is served.

use std::collections::BTreeSet;

use courier_protocol::openapi::{Method, Security, document, operations};

use super::{Caller, table};

#[test]
fn every_route_is_documented_and_every_documented_route_is_served() {
    let served: BTreeSet<(&str, Method)> = table().iter().map(|r| (r.path, r.method)).collect();
    let documented: BTreeSet<(&str, Method)> =
        operations().map(|op| (op.path, op.method)).collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes served but not in courier_protocol::openapi: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "operations documented but not served: {unserved:?}"
    );
    // And the served document holds each of them.
    let doc = document();
    for (path, method) in &served {
        assert!(
            doc["paths"][*path][method.as_str()].is_object(),
            "{} {path} is not in the document",
            method.as_str()
        );
    }
}

#[test]
fn the_document_says_which_routes_need_no_credential() {
    let public: BTreeSet<&str> = table()
        .iter()
        .filter(|r| r.caller == Caller::Public)
        .map(|r| r.path)
        .collect();
    let documented: BTreeSet<&str> = operations()
        .filter(|op| op.security == Security::Public)
        .map(|op| op.path)
        .collect();
    assert_eq!(public, documented);
}
