//! The dashboard's login and its session cookie against a real broker,
//! without a browser: one-time codes, the cookie as the owner, the CSRF
//! rules (a cookie-only write needs `X-Courier-Request: 1`, a cookie
//! WebSocket upgrade its own `Origin`), logout, and the headers of `/ui`.
//! Bearer clients are unaffected. The same rules in a real browser:
//! tests/dashboard.rs.

mod common;

use common::{Broker, courier_command, environ_var, error_code};
use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// `POST /v1/login-codes` with the owner's token.
fn new_code(broker: &Broker) -> Value {
    let (status, v) = broker.post("/v1/login-codes", &json!({}));
    assert_eq!(status, 201, "{v}");
    v
}

/// Spends a code; returns the session cookie's value.
fn log_in(broker: &Broker, http: &Client) -> String {
    let code = new_code(broker);
    let r = http
        .get(format!(
            "{}{}",
            broker.url,
            code["path"].as_str().expect("path")
        ))
        .send()
        .expect("login");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/ui/");
    let cookie = r.headers()[SET_COOKIE].to_str().expect("ascii cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let prefix = format!("{}=", cookie_name(broker));
    cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix(prefix.as_str()))
        .expect("courier_session_<port>=…")
        .to_string()
}

/// The broker's session cookie: named for its port.
fn cookie_name(broker: &Broker) -> String {
    let port = broker.url.rsplit(':').next().expect("port");
    format!("courier_session_{port}")
}

fn with_cookie(
    broker: &Broker,
    http: &Client,
    method: Method,
    path: &str,
    session: &str,
) -> reqwest::blocking::RequestBuilder {
    http.request(method, format!("{}{path}", broker.url))
        .header("Cookie", format!("{}={session}", cookie_name(broker)))
}

/// The HTTP status of a WebSocket handshake to `path` with these headers.
fn ws_status(broker: &Broker, path: &str, headers: &[(&str, String)]) -> u16 {
    let url = format!("{}{path}", broker.url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("ws request");
    for (name, value) in headers {
        request.headers_mut().insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    match tungstenite::connect(request) {
        Ok((mut socket, response)) => {
            let _ = socket.close(None);
            response.status().as_u16()
        }
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("WebSocket handshake to {path}: {e}"),
    }
}

#[test]
fn login_codes_sessions_and_csrf_rules() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let alice = broker.spawn_fake("alice", &["--mode", "line"], &[]);
    broker.wait_ready("alice");
    let http = no_redirects();

    // A code: for the owner's bearer token only.
    let code = new_code(&broker);
    assert_eq!(code["code"].as_str().map(str::len), Some(32), "{code}");
    assert!(
        code["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&broker.url))
    );
    let agent_token = environ_var(alice.pid, "COURIER_TOKEN").expect("alice's token");
    let (status, v) = broker.call(
        http.post(format!("{}/v1/login-codes", broker.url))
            .bearer_auth(&agent_token),
    );
    assert_eq!((status, error_code(&v)), (403, "owner_only"), "{v}");
    let (status, _) = broker.call(http.post(format!("{}/v1/login-codes", broker.url)));
    assert_eq!(status, 401);

    // A code works once; the token never appears in what the login answers.
    let session = log_in(&broker, &http);
    assert_ne!(session, broker.token);
    let spent = new_code(&broker);
    let path = spent["path"].as_str().expect("path");
    let first = http
        .get(format!("{}{path}", broker.url))
        .send()
        .expect("login");
    assert_eq!(first.status(), 303);
    let (status, v) = broker.call(http.get(format!("{}{path}", broker.url)));
    assert_eq!((status, error_code(&v)), (401, "bad_login_code"), "{v}");
    let (status, v) = broker.call(http.get(format!("{}/ui/login", broker.url)));
    assert_eq!((status, error_code(&v)), (401, "bad_login_code"), "{v}");

    // The cookie is the owner, for reads.
    let (status, v) = broker.call(with_cookie(
        &broker,
        &http,
        Method::GET,
        "/v1/whoami",
        &session,
    ));
    assert_eq!((status, v["kind"].as_str()), (200, Some("owner")), "{v}");
    let (status, v) = broker.call(with_cookie(
        &broker,
        &http,
        Method::GET,
        "/v1/whoami",
        "forged",
    ));
    assert_eq!(status, 401, "{v}");

    // Writes with only the cookie need the custom header.
    let message = json!({"from": "you", "to": "alice", "body": "from the dashboard"});
    for (method, path, body) in [
        (Method::POST, "/v1/messages", Some(&message)),
        (
            Method::PUT,
            "/v1/agents/alice/mode",
            Some(&json!({"mode": "manual"})),
        ),
        (Method::POST, "/v1/agents/alice/flush", None),
        (Method::DELETE, "/v1/agents/alice", None),
        (Method::POST, "/v1/shutdown", None),
    ] {
        let mut request = with_cookie(&broker, &http, method.clone(), path, &session);
        if let Some(body) = body {
            request = request.json(body);
        }
        let (status, v) = broker.call(request);
        assert_eq!(
            (status, error_code(&v)),
            (403, "csrf_header_required"),
            "{method} {path}: {v}"
        );
    }
    let (status, v) = broker.call(
        with_cookie(&broker, &http, Method::POST, "/v1/messages", &session)
            .header("X-Courier-Request", "1")
            .json(&message),
    );
    assert_eq!(status, 201, "{v}");
    broker.wait_verified(v["message_id"].as_str().expect("message id"));
    // A session cannot mint codes (it would outlive its expiry).
    let (status, v) = broker.call(
        with_cookie(&broker, &http, Method::POST, "/v1/login-codes", &session)
            .header("X-Courier-Request", "1"),
    );
    assert_eq!((status, error_code(&v)), (403, "token_required"), "{v}");
    // Bearer clients: no custom header needed, as before.
    let (status, v) = broker.post("/v1/agents/alice/flush", &json!({}));
    assert_eq!(status, 200, "{v}");

    // WebSocket upgrades with only the cookie need their own Origin.
    let cookie = ("Cookie", format!("{}={session}", cookie_name(&broker)));
    let own = broker.url.clone();
    let port: u16 = own
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    for path in ["/v1/events/ws", "/v1/agents/alice/terminal"] {
        for (origin, expected) in [
            (Some(own.clone()), 101),
            (None, 403),
            (Some("http://evil.example".to_string()), 403),
            (
                Some(format!("http://127.0.0.1:{}", port.wrapping_add(1))),
                403,
            ),
            (Some("null".to_string()), 403),
        ] {
            let mut headers = vec![cookie.clone()];
            headers.extend(origin.clone().map(|o| ("Origin", o)));
            assert_eq!(
                ws_status(&broker, path, &headers),
                expected,
                "{path} with Origin {origin:?}"
            );
        }
    }
    let bearer = ("Authorization", format!("Bearer {}", broker.token));
    let foreign = ("Origin", "http://evil.example".to_string());
    assert_eq!(ws_status(&broker, "/v1/events/ws", &[bearer, foreign]), 101);

    // Logout ends the session and clears the cookie.
    let (status, v) = broker.call(broker.req(Method::DELETE, "/v1/session"));
    assert_eq!((status, error_code(&v)), (400, "bad_request"), "{v}");
    let r = with_cookie(&broker, &http, Method::DELETE, "/v1/session", &session)
        .header("X-Courier-Request", "1")
        .send()
        .expect("logout");
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap_or_default()
            .contains("Max-Age=0")
    );
    let (status, v) = broker.call(with_cookie(
        &broker,
        &http,
        Method::GET,
        "/v1/whoami",
        &session,
    ));
    assert_eq!(status, 401, "{v}");

    broker.stop_and_check();
}

#[test]
fn ui_pages_carry_a_strict_policy() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let http = no_redirects();
    for (path, status, content_type) in [
        ("/ui/", 200, "text/html"),
        ("/ui/js/main.js", 200, "text/javascript"),
        ("/ui/vendor/xterm/xterm.js", 200, "text/javascript"),
        ("/ui/vendor/xterm/xterm.css", 200, "text/css"),
        ("/ui/no-such-file.js", 404, "application/json"),
        ("/ui/login?code=nope", 401, "application/json"),
        ("/ui", 308, ""),
    ] {
        let r = http
            .get(format!("{}{path}", broker.url))
            .send()
            .expect(path);
        assert_eq!(r.status().as_u16(), status, "{path}");
        let csp = r.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "style-src-attr 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("script-src 'self' 'unsafe"), "{path}: {csp}");
        assert_eq!(r.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer", "{path}");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
    }
    // The pages need no login; the API they call does.
    let (status, _) = broker.call(http.get(format!("{}/v1/agents", broker.url)));
    assert_eq!(status, 401);
    broker.stop_and_check();
}

/// `courier open` as people and scripts see it; without a desktop it starts
/// no browser even when not told `--no-browser`.
#[test]
fn courier_open_prints_a_one_time_login_url() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let open = |args: &[&str]| {
        let out = courier_command()
            .arg("--state-dir")
            .arg(&broker.state_dir)
            .arg("open")
            .args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("BROWSER")
            .output()
            .expect("run courier open");
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (stdout, _) = open(&["--json"]);
    let v: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["opened"], false, "no desktop, no browser: {v}");
    let url = v["url"].as_str().expect("url");
    let code = v["code"].as_str().expect("code");
    assert_eq!(url, format!("{}/ui/login?code={code}", broker.url));
    assert!(!url.contains(&broker.token));
    assert!(v["expires_at"].is_string(), "{v}");
    let r = no_redirects().get(url).send().expect("login");
    assert_eq!(r.status(), 303);

    let (stdout, stderr) = open(&["--no-browser"]);
    let url = stdout.trim();
    assert!(
        url.starts_with(&format!("{}/ui/login?code=", broker.url)),
        "{stdout}"
    );
    assert!(stderr.contains("works once"), "{stderr}");
    broker.stop_and_check();
}
