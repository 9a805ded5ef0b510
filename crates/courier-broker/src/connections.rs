//! Serving HTTP connections with bounds: a connection that does not send a
//! whole request head within the header-read timeout — after it opened, or
//! after its last response (an idle keep-alive) — is closed (hyper's own
//! `header_read_timeout`), and at most `max_connections` are open at once.
//!
//! Why: without them every idle or half-sent connection stayed open for
//! ever, each costing memory and a file descriptor, until the broker ran
//! out of descriptors and `/healthz` itself went unanswered.
//!
//! At the limit a new connection is not refused: the oldest open
//! connection that has no request in progress (idle, a head half sent, or
//! a response already streaming, such as SSE, whose client resumes with
//! `Last-Event-ID`) is closed; failing that the oldest is asked to close
//! after its request (hyper's graceful shutdown); and so on until one is
//! free. So
//! a crowd of idle connections cannot keep out a request such as
//! `/healthz`. A WebSocket leaves the count once upgraded (its connection
//! belongs to its handler from then on, and ends with its credential).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

use crate::shutdown::Shutdown;

/// How long the accept loop waits for a connection asked to close before
/// asking the next oldest too.
const EVICTION_PATIENCE: Duration = Duration::from_millis(50);

/// The bounds of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// One open connection, as the accept loop sees it.
#[derive(Default)]
struct Open {
    /// Requests whose response has not been produced yet.
    in_flight: AtomicUsize,
    /// Set once it was asked to close, so it is asked only once.
    asked: AtomicBool,
    close: Notify,
}

#[derive(Default)]
struct Registry {
    next_id: AtomicUsize,
    open: Mutex<BTreeMap<usize, Arc<Open>>>,
}

impl Registry {
    fn add(&self) -> (usize, Arc<Open>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let open = Arc::new(Open::default());
        self.map().insert(id, open.clone());
        (id, open)
    }

    fn remove(&self, id: usize) {
        self.map().remove(&id);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Arc<Open>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the oldest connection with nothing in progress to close; failing
    /// that, the oldest not asked yet. `false` if every one was asked.
    fn ask_one_to_close(&self) -> bool {
        let map = self.map();
        let not_asked = || map.values().filter(|o| !o.asked.load(Ordering::Relaxed));
        let chosen = not_asked()
            .find(|o| o.in_flight.load(Ordering::Relaxed) == 0)
            .or_else(|| not_asked().next());
        match chosen {
            Some(open) => {
                open.asked.store(true, Ordering::Relaxed);
                open.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Counts a request as in progress until dropped.
struct InFlight(Arc<Open>);

impl InFlight {
    fn start(open: &Arc<Open>) -> InFlight {
        open.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(open.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown`, then waits
/// for the open connections to finish (the caller bounds that wait).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: Shutdown) {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let registry = Arc::new(Registry::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of descriptors (EMFILE) and the like: wait for some to
                // be freed rather than spin.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(EVICTION_PATIENCE).await;
                continue;
            }
        };
        let permit = loop {
            if let Ok(permit) = permits.clone().try_acquire_owned() {
                break Some(permit);
            }
            registry.ask_one_to_close();
            tokio::select! {
                permit = permits.clone().acquire_owned() => break permit.ok(),
                _ = tokio::time::sleep(EVICTION_PATIENCE) => {}
                _ = shutdown.wait() => break None,
            }
        };
        let Some(permit) = permit else { break };
        let _ = stream.set_nodelay(true);
        let (id, open) = registry.add();
        let connection = Connection {
            id,
            open,
            registry: registry.clone(),
            _permit: permit,
        };
        tokio::spawn(connection.serve(stream, app.clone(), http.clone(), shutdown.clone()));
    }
    // Every permit back: every connection has finished.
    let _ = permits
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
}

/// One accepted connection: its entry in the registry and its permit, both
/// given back when it ends.
struct Connection {
    id: usize,
    open: Arc<Open>,
    registry: Arc<Registry>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Connection {
    /// Serves requests on `stream` until the client is done, the registry
    /// asks an idle connection to make room, or the broker stops.
    async fn serve(
        self,
        stream: tokio::net::TcpStream,
        app: Router,
        http: hyper::server::conn::http1::Builder,
        shutdown: Shutdown,
    ) {
        let open = self.open.clone();
        let tracked = open.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = InFlight::start(&tracked);
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(Body::new)).await;
                drop(in_flight);
                response
            }
        });
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => Some(ended),
            _ = open.close.notified() => {
                // Nothing being answered (idle, a head half sent, or a
                // response already streaming): drop it now; hyper's
                // graceful shutdown would wait for a half-sent head.
                if open.in_flight.load(Ordering::Relaxed) == 0 {
                    Some(Ok(()))
                } else {
                    None
                }
            }
            _ = shutdown.wait() => None,
        };
        let ended = match ended {
            Some(ended) => ended,
            None => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(error = %e, "HTTP connection ended with an error");
        }
        self.registry.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_is_asked_first_and_only_once() {
        let registry = Registry::default();
        let (_, busy) = registry.add();
        let (_, idle) = registry.add();
        let (_, newer) = registry.add();
        let _request = InFlight::start(&busy);
        assert!(registry.ask_one_to_close());
        assert!(idle.asked.load(Ordering::Relaxed));
        assert!(!busy.asked.load(Ordering::Relaxed));
        assert!(registry.ask_one_to_close());
        assert!(newer.asked.load(Ordering::Relaxed));
        // Only the busy one is left: asked last, to close after its request.
        assert!(registry.ask_one_to_close());
        assert!(busy.asked.load(Ordering::Relaxed));
        assert!(!registry.ask_one_to_close());
    }
}
