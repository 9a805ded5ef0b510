//! The federation tests' harness itself: a real nats-server that comes back
//! on the same port, and a proxy that passes bytes, cuts and heals. If these
//! fail, a federation test's failure says nothing about the broker.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::nats::{CutProxy, NatsServer, accepts};
use common::wait_for;

/// The first line a NATS server sends a new client: `INFO {...}`.
fn info_line(port: u16) -> std::io::Result<String> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line)
}

#[test]
fn nats_server_starts_serves_jetstream_and_restarts_on_the_same_port() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut nats = NatsServer::start(tmp.path());
    assert!(
        nats.url().starts_with("nats://127.0.0.1:"),
        "{}",
        nats.url()
    );
    let info = info_line(nats.port).expect("connect to nats-server");
    assert!(info.starts_with("INFO "), "{info}");
    let varz = nats.monitor("varz");
    assert_eq!(varz["port"], nats.port, "{varz}");
    assert_eq!(varz["jetstream"]["config"]["sync_always"], true, "{varz}");
    assert!(
        tmp.path().join("nats-js").is_dir(),
        "the JetStream store is under the test's root"
    );

    nats.kill9();
    assert!(!accepts(nats.port), "a killed server still accepts");
    let port = nats.port;
    nats.restart();
    assert_eq!(nats.port, port);
    assert!(
        info_line(nats.port)
            .expect("reconnect")
            .starts_with("INFO ")
    );

    // A graceful stop and start again, as the fault tests do.
    nats.restart();
    assert!(nats.running());
    nats.stop();
    assert!(!nats.running());
}

#[test]
fn the_proxy_passes_bytes_cuts_every_connection_and_heals() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start(tmp.path());
    let proxy = CutProxy::start(nats.port);

    // Through the proxy a client speaks NATS: INFO, then PING → PONG.
    let mut client = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect via proxy");
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("INFO via proxy");
    assert!(line.starts_with("INFO "), "{line}");
    client
        .write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .expect("write");
    line.clear();
    reader.read_line(&mut line).expect("PONG via proxy");
    assert_eq!(line, "PONG\r\n");
    wait_for("the proxy to count its connection", || {
        (proxy.connections() == 1).then_some(())
    });

    proxy.cut();
    // The open connection ends (EOF or reset), and so does any new one.
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(
        !String::from_utf8_lossy(&rest).contains("PONG"),
        "nothing more after the cut"
    );
    let mut fresh = TcpStream::connect(("127.0.0.1", proxy.port)).expect("accept while cut");
    fresh
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut got = Vec::new();
    let _ = fresh.read_to_end(&mut got);
    assert!(got.is_empty(), "a connection made while cut got bytes");
    assert_eq!(proxy.connections(), 0);

    proxy.heal();
    let info = info_line(proxy.port).expect("connect after heal");
    assert!(info.starts_with("INFO "), "{info}");
}
