//! A TCP proxy in front of a broker that controls its event streams: while
//! closed it holds every `GET /v1/events/stream` request (the rest passes),
//! and it can cut the connections that carry a stream — a stream that
//! connects late, a stream that breaks, on demand and without sleeps.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

use super::DEADLINE;

const STREAM_REQUEST: &[u8] = b"GET /v1/events/stream";

#[derive(Default)]
struct State {
    open: bool,
    /// Stream requests waiting for the gate to open.
    held: usize,
    /// Both sockets of each connection that carried a stream request.
    streams: Vec<(TcpStream, TcpStream)>,
    /// Stream requests let through so far.
    passed: usize,
}

pub struct Gate {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl Gate {
    /// A proxy to the broker at `upstream` (`http://HOST:PORT`), closed.
    pub fn start(upstream: &str) -> Gate {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// broker URL")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the gate");
        let url = format!("http://{}", listener.local_addr().expect("gate address"));
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (client2, server2) = match (client.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => (c, s),
                    _ => continue,
                };
                std::thread::spawn(move || copy(server2, client2));
                let shared = shared.clone();
                std::thread::spawn(move || forward(client, server, &shared));
            }
        });
        Gate { url, state }
    }

    /// Lets held and later stream requests through.
    pub fn open(&self) {
        let (lock, cond) = &*self.state;
        lock.lock().expect("gate state").open = true;
        cond.notify_all();
    }

    /// Holds stream requests from now on.
    pub fn close(&self) {
        self.state.0.lock().expect("gate state").open = false;
    }

    /// Ends every connection that carried a stream request.
    pub fn cut_streams(&self) {
        let streams = std::mem::take(&mut self.state.0.lock().expect("gate state").streams);
        for (client, server) in streams {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    }

    /// Waits until a stream request is held.
    pub fn wait_held(&self) {
        self.wait("a held stream request", |s| s.held > 0);
    }

    /// Waits until `n` stream requests went through.
    pub fn wait_passed(&self, n: usize) {
        self.wait("stream requests through the gate", |s| s.passed >= n);
    }

    fn wait(&self, what: &str, done: impl Fn(&State) -> bool) {
        let (lock, cond) = &*self.state;
        let guard = lock.lock().expect("gate state");
        let (_guard, timeout) = cond
            .wait_timeout_while(guard, DEADLINE, |s| !done(s))
            .expect("gate state");
        assert!(!timeout.timed_out(), "timed out waiting for {what}");
    }
}

/// Client to broker, holding each chunk that starts a stream request
/// until the gate is open.
fn forward(mut client: TcpStream, mut server: TcpStream, state: &(Mutex<State>, Condvar)) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if chunk
            .windows(STREAM_REQUEST.len())
            .any(|w| w == STREAM_REQUEST)
        {
            let (lock, cond) = state;
            let mut s = lock.lock().expect("gate state");
            s.held += 1;
            cond.notify_all();
            let mut s = cond.wait_while(s, |s| !s.open).expect("gate state");
            s.held -= 1;
            s.passed += 1;
            if let (Ok(c), Ok(v)) = (client.try_clone(), server.try_clone()) {
                s.streams.push((c, v));
            }
            cond.notify_all();
        }
        if server.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// Broker to client, as is.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}
