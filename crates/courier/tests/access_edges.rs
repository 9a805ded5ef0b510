//! The edges of access against a real broker on 127.0.0.1: the session
//! cookie bound to the broker's port, the `Host` allow-list (421) and the
//! login URL built from the bound address, streams that end with their
//! credential (revocation, expiry, logout), idle and half-sent connections
//! timed out and bounded, and `GET /` sending a browser to the dashboard.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::viewer;
use common::{Broker, DEADLINE, error_code, wait_for};
use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::{HOST, LOCATION, SET_COOKIE};
use serde_json::json;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn port_of(broker: &Broker) -> u16 {
    broker
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// Spends a fresh login code; returns the `Set-Cookie` pair (name, value).
fn log_in(broker: &Broker, http: &Client) -> (String, String) {
    let (status, code) = broker.post("/v1/login-codes", &json!({}));
    assert_eq!(status, 201, "{code}");
    let r = http
        .get(format!(
            "{}{}",
            broker.url,
            code["path"].as_str().expect("path")
        ))
        .send()
        .expect("login");
    assert_eq!(r.status(), 303);
    let cookie = r.headers()[SET_COOKIE].to_str().expect("ascii").to_string();
    let (name, value) = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .expect("name=value");
    (name.to_string(), value.to_string())
}

/// A browser's cookie jar for 127.0.0.1: keyed by name only, since cookies
/// are not isolated by port.
fn cookie_header(jar: &HashMap<String, String>) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_session_cookie_is_bound_to_its_brokers_port() {
    let dir_a = tempfile::tempdir().expect("tempdir");
    let dir_b = tempfile::tempdir().expect("tempdir");
    let a = Broker::start(dir_a.path(), &["--ephemeral"]);
    let b = Broker::start(dir_b.path(), &["--ephemeral"]);
    let http = no_redirects();
    let mut jar = HashMap::new();
    let (name_a, session_a) = log_in(&a, &http);
    assert_eq!(name_a, format!("courier_session_{}", port_of(&a)));
    jar.insert(name_a, session_a.clone());
    // Logging in to a second broker on the same machine must not replace
    // the first one's cookie in the browser.
    let (name_b, session_b) = log_in(&b, &http);
    jar.insert(name_b, session_b);
    for broker in [&a, &b] {
        let r = http
            .get(format!("{}/v1/status", broker.url))
            .header("Cookie", cookie_header(&jar))
            .send()
            .expect("status");
        assert_eq!(r.status(), 200, "the jar logs in to {}", broker.url);
    }
    // A's valid session id under any name but A's own is not a login.
    for name in [
        "courier_session".to_string(),
        format!("courier_session_{}", port_of(&b)),
    ] {
        let r = http
            .get(format!("{}/v1/status", a.url))
            .header("Cookie", format!("{name}={session_a}"))
            .send()
            .expect("status");
        assert_eq!(r.status(), 401, "cookie {name} is not A's");
    }
}

#[test]
fn only_allowed_host_names_are_answered_and_the_login_url_ignores_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The environment's spelling of `--allow-host` (comma separated).
    let broker = Broker::start_with_env(
        dir.path(),
        &["--ephemeral"],
        &[("COURIER_ALLOW_HOST", "Box.Lan,other.lan")],
    );
    let port = port_of(&broker);
    let http = no_redirects();
    let with_host = |method: Method, path: &str, host: &str| {
        http.request(method, format!("{}{path}", broker.url))
            .bearer_auth(&broker.token)
            .header(HOST, host)
    };
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
    ] {
        for path in ["/healthz", "/v1/status", "/ui/", "/v1/openapi.json"] {
            let (status, v) = broker.call(with_host(Method::GET, path, &host));
            assert_eq!(
                (status, error_code(&v)),
                (421, "misdirected_host"),
                "{path} with Host {host}: {v}"
            );
        }
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("box.lan:{port}"),
        "BOX.LAN".to_string(),
    ] {
        let (status, v) = broker.call(with_host(Method::GET, "/v1/status", &host));
        assert_eq!(status, 200, "Host {host}: {v}");
    }
    // The login URL is the bound address's, whatever Host the client used.
    let (status, v) = broker.call(
        with_host(Method::POST, "/v1/login-codes", &format!("box.lan:{port}")).json(&json!({})),
    );
    assert_eq!(status, 201, "{v}");
    let url = v["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{}/ui/login?code=", broker.url)),
        "{url} is not under {}",
        broker.url
    );
}

#[test]
fn the_root_sends_a_browser_to_the_dashboard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(dir.path(), &["--ephemeral"]);
    let r = no_redirects()
        .get(format!("{}/", broker.url))
        .send()
        .expect("GET /");
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()[LOCATION], "/ui/");
}

/// A WebSocket to `path` with these headers; panics if refused.
fn ws(
    broker: &Broker,
    path: &str,
    headers: &[(&'static str, String)],
) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>> {
    let url = format!("{}{path}", broker.url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("ws request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).expect("header"));
    }
    let (socket, _) = tungstenite::connect(request).expect("WebSocket upgrade");
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
        tcp.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    }
    socket
}

/// Reads until the server closes the WebSocket (a close frame, or the
/// connection ending); panics if it is still open after [`DEADLINE`].
fn until_closed(
    socket: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
) {
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Close(_)) => return,
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("the WebSocket is still open after {DEADLINE:?}")
            }
            Err(_) => return,
        }
    }
}

/// An SSE response, read until the server ends it; panics if it is still
/// open after [`DEADLINE`].
fn sse_until_ended(mut response: reqwest::blocking::Response) {
    let mut buf = [0u8; 4096];
    loop {
        match response.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) => panic!("the SSE stream did not end: {e}"),
        }
    }
}

fn observer_token(broker: &Broker, expires_in_s: Option<u64>) -> (String, String) {
    let mut body = json!({"kind": "observer"});
    if let Some(s) = expires_in_s {
        body["expires_in_s"] = json!(s);
    }
    let (status, v) = broker.post("/v1/tokens", &body);
    assert_eq!(status, 201, "{v}");
    (
        v["id"].as_str().expect("id").to_string(),
        v["token"].as_str().expect("token").to_string(),
    )
}

#[test]
fn revoking_a_token_closes_its_open_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(dir.path(), &[]);
    broker.spawn_fake("alice", &[], &[]);
    broker.wait_ready("alice");
    let (id, token) = observer_token(&broker, None);
    let (_, other) = observer_token(&broker, None);
    let bearer = |t: &str| vec![("authorization", format!("Bearer {t}"))];
    let mut events = ws(&broker, "/v1/events/ws", &bearer(&token));
    let mut kept = ws(&broker, "/v1/events/ws", &bearer(&other));
    let mut terminal = viewer::open(&broker, "alice", Some(&token), "").expect("terminal");
    let sse = Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("client")
        .get(format!("{}/v1/events/stream", broker.url))
        .bearer_auth(&token)
        .send()
        .expect("SSE");
    assert_eq!(sse.status(), 200);
    // Each stream is live before the revocation.
    events.read().expect("a first event");
    terminal.read().expect("the terminal's hello");

    let (status, v) = broker.delete(&format!("/v1/tokens/{id}"));
    assert_eq!(status, 200, "{v}");
    until_closed(&mut events);
    until_closed(&mut terminal);
    sse_until_ended(sse);
    // Another observer's stream goes on.
    broker.send("owner", "alice", "still streaming to the other observer");
    wait_for("an event on the other observer's stream", || {
        kept.read().ok().filter(|m| m.is_text())
    });
}

#[test]
fn an_expired_token_and_a_logged_out_session_close_their_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(dir.path(), &["--ephemeral"]);
    let (_, token) = observer_token(&broker, Some(1));
    let mut expiring = ws(
        &broker,
        "/v1/events/ws",
        &[("authorization", format!("Bearer {token}"))],
    );
    until_closed(&mut expiring);

    let http = no_redirects();
    let (name, session) = log_in(&broker, &http);
    let cookie = format!("{name}={session}");
    let mut dashboard = ws(
        &broker,
        "/v1/events/ws",
        &[("cookie", cookie.clone()), ("origin", broker.url.clone())],
    );
    dashboard.read().expect("a first event");
    let r = http
        .delete(format!("{}/v1/session", broker.url))
        .header("Cookie", cookie)
        .header("X-Courier-Request", "1")
        .send()
        .expect("logout");
    assert_eq!(r.status(), 204);
    until_closed(&mut dashboard);
}

/// True once the server has closed `stream` (EOF or reset); false if it is
/// still open after [`DEADLINE`].
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or the like before the close is fine.
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn connect(broker: &Broker) -> TcpStream {
    TcpStream::connect(broker.url.trim_start_matches("http://")).expect("connect")
}

#[test]
fn idle_and_half_sent_connections_are_timed_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start_with_env(
        dir.path(),
        &["--ephemeral"],
        &[("COURIER_HEADER_TIMEOUT_MS", "300")],
    );
    let mut idle = connect(&broker);
    let mut half = connect(&broker);
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("half a request");
    // A keep-alive connection that answered once and then says nothing.
    let mut kept_alive = connect(&broker);
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("a request");
    assert!(closed_by_server(&mut idle), "an idle connection stays open");
    assert!(
        closed_by_server(&mut half),
        "a half-sent request stays open"
    );
    assert!(
        closed_by_server(&mut kept_alive),
        "an idle keep-alive connection stays open"
    );
    let (status, _) = broker.get("/healthz");
    assert_eq!(status, 200);
}

#[test]
fn a_crowd_of_idle_connections_is_bounded_and_healthz_still_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A long header timeout: only the connection limit can free them.
    let broker = Broker::start_with_env(
        dir.path(),
        &["--ephemeral"],
        &[
            ("COURIER_MAX_CONNECTIONS", "16"),
            ("COURIER_HEADER_TIMEOUT_MS", "600000"),
        ],
    );
    let mut crowd: Vec<TcpStream> = (0..64)
        .map(|i| {
            let mut c = connect(&broker);
            if i % 2 == 0 {
                c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    .expect("half a request");
            }
            c
        })
        .collect();
    // A new client, as a health check is: the broker's own client's pooled
    // connection was among the oldest idle ones and may have been closed.
    let fresh = Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let health = fresh
        .get(format!("{}/healthz", broker.url))
        .send()
        .expect("/healthz answers");
    assert_eq!(health.status(), 200);
    // The oldest of the crowd were closed to make room.
    assert!(
        closed_by_server(&mut crowd[0]),
        "the oldest idle connection is still open beyond the limit"
    );
    let status = fresh
        .get(format!("{}/v1/status", broker.url))
        .bearer_auth(&broker.token)
        .send()
        .expect("status")
        .status();
    assert_eq!(status, 200);
}

/// Every path under `dir` (two levels) open to the group or others.
fn loose_paths(dir: &std::path::Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = Vec::new();
    let mut check = |p: &std::path::Path| {
        let meta = std::fs::symlink_metadata(p).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        // Sockets carry the umask's mode; their 0700 directory guards them.
        let socket = p.extension().is_some_and(|e| e == "sock");
        if !socket && mode & 0o077 != 0 {
            loose.push(format!("{} {mode:o} (want {want:o})", p.display()));
        }
    };
    check(dir);
    for entry in std::fs::read_dir(dir).expect("list") {
        let path = entry.expect("entry").path();
        check(&path);
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).expect("list") {
                check(&inner.expect("entry").path());
            }
        }
    }
    loose
}

#[test]
fn the_state_directory_is_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(dir.path(), &[]);
    broker.spawn_fake("alice", &[], &[]);
    broker.wait_ready("alice");
    let id = broker.send("owner", "alice", "written to the WAL")["message_id"]
        .as_str()
        .expect("id")
        .to_string();
    broker.wait_verified(&id);
    assert!(broker.state_dir.join("courier.db-wal").exists());
    assert_eq!(loose_paths(&broker.state_dir), Vec::<String>::new());
    broker.stop_and_check();

    // Found loose (made by hand): tightened at the next start.
    let state = dir.path().join("state");
    for path in [state.clone(), state.join("sessions")] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::set_permissions(
        state.join("courier.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let again = Broker::start(dir.path(), &[]);
    assert_eq!(loose_paths(&again.state_dir), Vec::<String>::new());
}
