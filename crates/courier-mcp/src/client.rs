//! The broker's HTTP API, called with the agent's own token: whatever this
//! client does, the broker sees the agent, never the owner.

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;

use crate::args::Mode;
use crate::config::Config;
use courier_protocol::agents::{DoneRequest, JoinRequest, ModeRequest};
use courier_protocol::deliveries::{ClaimRequest, Marked, ReadRequest, SendRequest};
use courier_protocol::error::ErrorBody;

use crate::types::{
    AgentList, AgentView, ChannelList, DoneReport, Flushed, Inbox, MembershipChange, MessageStatus,
    ModeChange, SendReceipt, Whoami,
};

#[derive(Debug, Error)]
pub enum ClientError {
    /// The broker answered with an error of its own.
    #[error("{message} ({code}, HTTP {status})")]
    Broker {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach the Courier broker at {url}: {source} (is it still running?)")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("unexpected answer from the broker ({context}): {detail}")]
    Decode { context: String, detail: String },
}

/// A message to send. The sender is never part of it: the broker takes it
/// from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub body: String,
    pub thread: Option<String>,
    pub idempotency_key: Option<String>,
}

pub struct BrokerClient {
    http: reqwest::Client,
    config: Config,
}

impl BrokerClient {
    pub fn new(config: Config) -> BrokerClient {
        BrokerClient {
            http: reqwest::Client::new(),
            config,
        }
    }

    pub fn agent(&self) -> &str {
        &self.config.agent
    }

    pub fn url(&self) -> &str {
        &self.config.url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{}", self.config.url, path))
            .bearer_auth(&self.config.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.config.url.clone(),
                source,
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.config.url.clone(),
                source,
            })?;
        if !status.is_success() {
            return Err(broker_error(status, &text));
        }
        let text = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(text).map_err(|e| ClientError::Decode {
            context: format!("{method} {path}"),
            detail: e.to_string(),
        })
    }

    pub async fn send(&self, message: &Outgoing) -> Result<SendReceipt, ClientError> {
        // No `from`: the broker takes the sender from this agent's token.
        let body = SendRequest {
            from: None,
            to: message.to.clone(),
            body: message.body.clone(),
            thread: message.thread.clone(),
            idempotency_key: message.idempotency_key.clone(),
        };
        self.call(Method::POST, "/v1/messages", Some(json!(body)))
            .await
    }

    pub async fn agents(&self) -> Result<AgentList, ClientError> {
        self.call(Method::GET, "/v1/agents", None).await
    }

    pub async fn channels(&self) -> Result<ChannelList, ClientError> {
        self.call(Method::GET, "/v1/channels", None).await
    }

    pub async fn join(&self, channel: &str) -> Result<MembershipChange, ClientError> {
        let path = format!("/v1/channels/{}/members", segment(channel));
        let body = json!(JoinRequest {
            agent: self.config.agent.clone(),
        });
        self.call(Method::POST, &path, Some(body)).await
    }

    pub async fn leave(&self, channel: &str) -> Result<MembershipChange, ClientError> {
        let path = format!(
            "/v1/channels/{}/members/{}",
            segment(channel),
            segment(&self.config.agent)
        );
        self.call(Method::DELETE, &path, None).await
    }

    pub async fn inbox(&self, limit: usize) -> Result<Inbox, ClientError> {
        let path = format!(
            "/v1/agents/{}/inbox?limit={limit}",
            segment(&self.config.agent)
        );
        self.call(Method::GET, &path, None).await
    }

    /// Marks deliveries of this agent read (`delivery_read`); returns how many.
    pub async fn mark_read(&self, ids: &[String]) -> Result<usize, ClientError> {
        let path = format!("/v1/agents/{}/inbox/read", segment(&self.config.agent));
        let body = json!(ReadRequest {
            delivery_ids: Some(ids.to_vec()),
        });
        let marked: Marked = self.call(Method::POST, &path, Some(body)).await?;
        Ok(marked.marked.len())
    }

    /// Takes this agent's oldest queued deliveries over (queued → read,
    /// channel `hook`, in one commit), so the terminal never types them.
    /// The broker honours the agent's mode: nothing while `manual` holds.
    pub async fn claim(&self, limit: usize) -> Result<Inbox, ClientError> {
        let path = format!("/v1/agents/{}/inbox/claim", segment(&self.config.agent));
        let body = json!(ClaimRequest { limit: Some(limit) });
        self.call(Method::POST, &path, Some(body)).await
    }

    /// This agent as the broker lists it (status, mode).
    pub async fn me(&self) -> Result<AgentView, ClientError> {
        let path = format!("/v1/agents/{}", segment(&self.config.agent));
        self.call(Method::GET, &path, None).await
    }

    pub async fn set_mode(&self, mode: Mode) -> Result<ModeChange, ClientError> {
        let path = format!("/v1/agents/{}/mode", segment(&self.config.agent));
        let body = json!(ModeRequest {
            mode: mode.as_str().to_string(),
        });
        self.call(Method::PUT, &path, Some(body)).await
    }

    /// Lets every delivery queued for this agent now through, whatever its mode.
    pub async fn flush(&self) -> Result<Flushed, ClientError> {
        let path = format!("/v1/agents/{}/flush", segment(&self.config.agent));
        self.call(Method::POST, &path, None).await
    }

    /// Reports this agent done with its task (`agent_done`), with a result.
    pub async fn report_done(&self, result: Option<String>) -> Result<DoneReport, ClientError> {
        let path = format!("/v1/agents/{}/done", segment(&self.config.agent));
        let body = json!(DoneRequest { result });
        self.call(Method::POST, &path, Some(body)).await
    }

    /// A message this agent sent or received, with each delivery's state.
    pub async fn message(&self, id: &str) -> Result<MessageStatus, ClientError> {
        let path = format!("/v1/messages/{}", segment(id));
        self.call(Method::GET, &path, None).await
    }

    pub async fn whoami(&self) -> Result<Whoami, ClientError> {
        self.call(Method::GET, "/v1/whoami", None).await
    }
}

/// The broker's `{"error":{"code","message"}}`, or the raw text.
fn broker_error(status: StatusCode, text: &str) -> ClientError {
    let parsed = serde_json::from_str::<ErrorBody>(text)
        .ok()
        .map(|ErrorBody { error }| (error.code, error.message));
    let (code, message) = parsed.unwrap_or_else(|| {
        let message = if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text.trim().to_string()
        };
        ("http_error".to_string(), message)
    });
    ClientError::Broker {
        status: status.as_u16(),
        code,
        message,
    }
}

/// One path segment: a channel loses its `#`; anything outside the name
/// alphabet is percent-encoded (the broker then refuses the name clearly).
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.trim().trim_start_matches('#').bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_drop_the_hash_and_escape_the_rest() {
        assert_eq!(segment("#ops"), "ops");
        assert_eq!(segment("ops"), "ops");
        assert_eq!(segment("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn broker_errors_keep_code_and_message() {
        let err = broker_error(
            StatusCode::FORBIDDEN,
            r#"{"error":{"code":"forged_sender","message":"nope"}}"#,
        );
        assert_eq!(err.to_string(), "nope (forged_sender, HTTP 403)");
        let err = broker_error(StatusCode::BAD_GATEWAY, "");
        assert_eq!(err.to_string(), "Bad Gateway (http_error, HTTP 502)");
    }
}
