//! Talking to a running broker over HTTP with its bearer token.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use courier_broker::state_dir::{ConnectionInfo, default_state_dir};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::cli::Global;

pub struct Client {
    http: reqwest::Client,
    pub base: String,
    token: String,
    /// The state directory whose connection file named the URL (no
    /// `--url`), and whether it named the token too: a broker that
    /// restarts listens on a new port, and a long wait finds it there.
    found_in: Option<(PathBuf, bool)>,
}

impl Client {
    /// URL and token from flags/environment, else from the state
    /// directory's connection file.
    pub fn connect(global: &Global) -> anyhow::Result<Client> {
        let mut found_in = None;
        let (base, token) = match (&global.url, &global.token) {
            (Some(url), Some(token)) => (url.clone(), token.clone()),
            _ => {
                let dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
                let info = ConnectionInfo::read(&dir).with_context(|| {
                    format!(
                        "no running broker found in {} (start one with `courier up`, or pass --url and --token)",
                        dir.display()
                    )
                })?;
                if global.url.is_none() {
                    found_in = Some((dir, global.token.is_none()));
                }
                (
                    global.url.clone().unwrap_or(info.url),
                    global.token.clone().unwrap_or(info.token),
                )
            }
        };
        Ok(Client {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token,
            found_in,
        })
    }

    /// The broker again, when the connection file this client was found
    /// by now names another URL (it restarted on a new port); `None` when
    /// it names the same one, cannot be read, or the URL was given.
    pub fn rediscover(&self) -> Option<Client> {
        let (dir, token_too) = self.found_in.as_ref()?;
        let info = ConnectionInfo::read(dir).ok()?;
        let base = info.url.trim_end_matches('/').to_string();
        if base == self.base {
            return None;
        }
        Some(Client {
            http: self.http.clone(),
            base,
            token: if *token_too {
                info.token
            } else {
                self.token.clone()
            },
            found_in: self.found_in.clone(),
        })
    }

    /// The bearer token this client uses.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The WebSocket URL of `path` on the broker (`ws://` for `http://`,
    /// `wss://` for `https://`).
    pub fn ws_url(&self, path: &str) -> anyhow::Result<String> {
        let rest = if let Some(rest) = self.base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = self.base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            return Err(anyhow!(
                "the broker URL {} is not http:// or https://",
                self.base
            ));
        };
        Ok(format!("{rest}{path}"))
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
    }

    /// Sends and decodes a JSON answer; an API error becomes its message.
    pub async fn call(&self, builder: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = builder.send().await.with_context(|| {
            format!(
                "cannot reach the broker at {} (is `courier up` running?)",
                self.base
            )
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("reading the broker's answer")?;
        if status.is_success() {
            if text.is_empty() || status == StatusCode::NO_CONTENT {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).or(Ok(Value::String(text)));
        }
        let detail = serde_json::from_str::<courier_protocol::error::ErrorBody>(&text)
            .map(|body| {
                let e = body.error;
                format!("{} ({}, HTTP {})", e.message, e.code, status.as_u16())
            })
            .unwrap_or_else(|_| format!("HTTP {status}: {text}"));
        Err(anyhow!(detail))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(self.request(Method::POST, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.call(self.request(Method::DELETE, path)).await
    }
}

/// Reads a broker's answer as the protocol type it is documented as (the
/// raw value stays what `--json` prints).
pub fn decode<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> anyhow::Result<T> {
    T::deserialize(value).map_err(|e| {
        anyhow!("the broker's answer to {what} is not what this courier reads ({e}): {value}")
    })
}

/// Escapes a path segment (agent names and ids are URL-safe; channels keep
/// their name without `#`).
pub fn segment(text: &str) -> String {
    text.trim_start_matches('#')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}
