//! Serving the API: bind (127.0.0.1 by default), write the connection file,
//! serve until shutdown, then stop the broker gracefully.

use std::net::SocketAddr;

use tokio::task::JoinHandle;

use crate::auth::token::new_token;
use crate::broker::Broker;
use crate::error::{BrokerError, Fault};
use crate::state_dir::{ConnectionInfo, write_connection_file};

/// A broker whose API is being served.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub url: String,
    pub token: String,
    pub broker: Broker,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Binds the listener and starts serving in the background.
    pub async fn start(broker: Broker) -> Result<RunningServer, BrokerError> {
        let listen = broker.config().listen;
        let listener = match previous_port(&broker, listen) {
            // Agents that survived a crash still have the old URL in their
            // COURIER_URL: take the same port again when it is free.
            Some(again) => match tokio::net::TcpListener::bind(again).await {
                Ok(listener) => Ok(listener),
                Err(_) => tokio::net::TcpListener::bind(listen).await,
            },
            None => tokio::net::TcpListener::bind(listen).await,
        }
        .map_err(|source| Fault::Bind {
            address: listen.to_string(),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Fault::Bind {
            address: format!("{listen} (reading the bound address)"),
            source,
        })?;
        let token = match broker.config().token.clone() {
            Some(token) => token,
            None => new_token().map_err(|e| BrokerError::no_randomness("the API token", e))?,
        };
        let url = format!("http://{addr}");
        if let Some(dir) = broker.config().state_dir() {
            write_connection_file(
                dir,
                &ConnectionInfo {
                    url: url.clone(),
                    token: token.clone(),
                    pid: std::process::id(),
                },
            )?;
        }
        broker.set_public_url(&url);
        broker.resume_agents().await?;
        broker.join_workspace().await?;
        let app = crate::api::router(broker.clone(), &token, addr, crate::ui::router());
        let shutdown = broker.shutdown_signal().clone();
        let limits = crate::connections::Limits {
            max_connections: broker.config().max_connections,
            header_read_timeout: broker.config().header_read_timeout,
        };
        let task = tokio::spawn(crate::connections::serve(listener, app, limits, shutdown));
        tracing::info!(%url, "API listening");
        Ok(RunningServer {
            addr,
            url,
            token,
            broker,
            task,
        })
    }

    /// Waits for a shutdown (signal, API, or [`Broker::stop`]), then stops
    /// the broker: agents end, pending deliveries stay in the store.
    pub async fn wait(self) {
        self.broker.shutdown_signal().wait().await;
        // Open event streams would keep the server waiting; give it a bound.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.task).await;
        self.broker.stop().await;
    }
}

/// The address the previous run of this state directory listened on, when
/// this one may pick any port (`:0`) and that run left its connection file
/// behind (it did not stop gracefully, so its agents may still be running).
fn previous_port(broker: &Broker, listen: SocketAddr) -> Option<SocketAddr> {
    if listen.port() != 0 || broker.config().session_host.is_none() {
        return None;
    }
    let dir = broker.config().state_dir()?;
    let info = crate::state_dir::ConnectionInfo::read(dir).ok()?;
    let port: u16 = info
        .url
        .rsplit(':')
        .next()?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    Some(SocketAddr::new(listen.ip(), port))
}
