//! The `Host` allow-list, on every route (the dashboard's pages and
//! `/healthz` too): a request that names any other host is 421
//! `misdirected_host`.
//!
//! Why: a web page of another site can make a browser resolve its own name
//! to 127.0.0.1 (DNS rebinding) and then talk to the broker as a page of
//! *its* origin, so the WebSocket origin check (which compares `Origin`
//! with `Host`) and anything built from `Host` could be fooled. A rebinding
//! attack always comes with the attacker's *name* in `Host`, so the names
//! the broker answers to are an allow-list: `127.0.0.1`, `localhost`,
//! `[::1]`, the address it is bound to, and the names given with
//! `courier up --allow-host NAME` (or `COURIER_ALLOW_HOST`, comma separated).
//! When bound to every interface (`0.0.0.0`, `[::]`), any IP literal is
//! accepted too: an address cannot be rebound, and which of the machine's
//! addresses a client used is not known in advance.
//!
//! The port in `Host` is not judged (a proxy may forward under another);
//! names are compared without case. A request with no `Host` at all (HTTP/1.0
//! tools) is let through: browsers, the only carriers of a rebinding
//! attack, always send one.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;

/// The names this broker answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    names: Vec<String>,
    bound: IpAddr,
}

impl AllowedHosts {
    /// The defaults plus `extra` (from `--allow-host`), for a broker bound
    /// to `bound`.
    pub fn new(bound: SocketAddr, extra: &[String]) -> AllowedHosts {
        let mut names: Vec<String> = ["127.0.0.1", "localhost", "::1"]
            .into_iter()
            .map(str::to_string)
            .collect();
        if !bound.ip().is_unspecified() {
            names.push(bound.ip().to_string());
        }
        names.extend(
            extra
                .iter()
                .map(|n| strip_brackets(n.trim()).to_ascii_lowercase())
                .filter(|n| !n.is_empty()),
        );
        AllowedHosts {
            names,
            bound: bound.ip(),
        }
    }

    /// Whether a `Host` header value (`name`, `name:port`, `[v6]:port`)
    /// names this broker.
    pub fn allows(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        if self.names.contains(&name) {
            return true;
        }
        self.bound.is_unspecified() && name.parse::<IpAddr>().is_ok()
    }
}

/// The name part of a `Host` value, without the port and IPv6 brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`; an unclosed bracket names nothing.
        return match rest.split_once(']') {
            Some((name, "")) => name,
            Some((name, port)) if port.strip_prefix(':').is_some_and(is_port) => name,
            _ => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        _ => host,
    }
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
}

fn strip_brackets(name: &str) -> &str {
    name.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
}

/// Where the broker is bound and which names it answers to.
#[derive(Debug)]
pub struct Access {
    /// The address the API is bound to.
    pub bound: SocketAddr,
    pub hosts: AllowedHosts,
}

impl Access {
    pub fn new(bound: SocketAddr, allow_hosts: &[String]) -> Access {
        Access {
            bound,
            hosts: AllowedHosts::new(bound, allow_hosts),
        }
    }

    /// The base URL a browser on this machine reaches the broker at: the
    /// bound address (loopback when bound to every interface), never a
    /// request's `Host`.
    pub fn base_url(&self) -> String {
        let ip = match self.bound.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.bound.port()))
    }
}

/// Layer over the whole router: 421 for a `Host` not on the allow-list.
pub async fn allowed_host(
    State(access): State<Arc<Access>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let host = request
        .headers()
        .get(HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}").to_string())
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_string()));
    if let Some(host) = host
        && !access.hosts.allows(&host)
    {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "misdirected_host",
            format!(
                "this broker does not answer to the host {host:?}; use 127.0.0.1, localhost or \
                 its bound address, or start it with `courier up --allow-host NAME`"
            ),
        ));
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback(extra: &[&str]) -> AllowedHosts {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        AllowedHosts::new("127.0.0.1:4000".parse().unwrap(), &extra)
    }

    #[test]
    fn loopback_names_pass_with_or_without_a_port() {
        let hosts = loopback(&[]);
        for ok in [
            "127.0.0.1",
            "127.0.0.1:4000",
            "127.0.0.1:9",
            "localhost:4000",
            "LOCALHOST",
            "[::1]:4000",
            "[::1]",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
    }

    #[test]
    fn other_names_are_refused_unless_allowed() {
        let hosts = loopback(&[]);
        for bad in [
            "evil.example",
            "evil.example:4000",
            "127.0.0.1.evil.example",
            "localhost.evil.example:4000",
            "10.0.0.5:4000",
            "",
            "[::1",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
        let hosts = loopback(&["Box.Lan", "[fd00::1]"]);
        assert!(hosts.allows("box.lan:4000"));
        assert!(hosts.allows("[fd00::1]:4000"));
        assert!(!hosts.allows("other.lan"));
    }

    #[test]
    fn the_bound_address_passes_and_any_ip_when_bound_to_all() {
        let one = AllowedHosts::new("10.0.0.5:4000".parse().unwrap(), &[]);
        assert!(one.allows("10.0.0.5:4000"));
        assert!(!one.allows("10.0.0.6:4000"));
        let all = AllowedHosts::new("0.0.0.0:4000".parse().unwrap(), &[]);
        assert!(all.allows("10.0.0.6:4000"));
        assert!(all.allows("[fd00::2]:4000"));
        assert!(!all.allows("rebound.example:4000"));
    }
}
