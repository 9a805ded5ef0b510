//! Agents (spawn, list, release, screen, raw input) and channels. Spawn,
//! release and raw input are owner-only (a route layer in `mod.rs`); the
//! screen and channel membership of an agent are its own or the owner's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use courier_core::recipient::{validate_agent_name, validate_channel_name};
use courier_protocol::agents::{
    AgentList, AgentView, ChannelList, ChannelView, InputRequest, JoinRequest, MembershipChange,
    ScreenQuery,
};
use courier_protocol::spawn::SpawnRequest;
use courier_protocol::status::{FederationStatus, Screen};
use courier_terminal::Terminal;
use serde_json::{Value, json};

use super::agent_view::{listed, remote_view, stuck_agents};
use super::error::ApiError;
use super::identity::Identity;
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use crate::spec::AgentSpec;

pub async fn list(State(state): State<AppState>) -> Result<Json<AgentList>, ApiError> {
    let agents = state.broker.agents().await;
    let stuck = stuck_agents(&state.broker);
    let mut listed: Vec<AgentView> = agents
        .iter()
        .map(|(s, st, pid, d)| listed(&state.broker, &stuck, s, st, *pid, *d))
        .collect();
    if let Some(federation) = state.broker.federation() {
        for agent in &mut listed {
            agent.host = Some(federation.host().to_string());
        }
        let remote = state.broker.store().remote_agents_async().await?;
        listed.extend(remote.iter().map(remote_view));
    }
    Ok(Json(AgentList { agents: listed }))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<AgentView>, ApiError> {
    let agents = state.broker.agents().await;
    if let Some((s, st, pid, d)) = agents.iter().find(|(spec, ..)| spec.name == name) {
        let mut agent = listed(&state.broker, &stuck_agents(&state.broker), s, st, *pid, *d);
        if let Some(federation) = state.broker.federation() {
            agent.host = Some(federation.host().to_string());
        }
        return Ok(Json(agent));
    }
    if state.broker.federation().is_some()
        && let Some(remote) = state
            .broker
            .store()
            .remote_agents_async()
            .await?
            .iter()
            .find(|a| a.name == name)
    {
        return Ok(Json(remote_view(remote)));
    }
    Err(ApiError::not_found(
        "unknown_agent",
        format!("no agent named {name:?}"),
    ))
}

/// `GET /v1/federation`: the workspace this broker joined, if any.
pub async fn federation(State(state): State<AppState>) -> Result<Json<FederationStatus>, ApiError> {
    Ok(Json(match state.broker.federation() {
        Some(federation) => {
            let pending = state.broker.store().pending_forward_count_async().await?;
            federation.status(pending)
        }
        None => FederationStatus::default(),
    }))
}

pub async fn spawn(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<SpawnRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec = AgentSpec::from(request);
    let spawn_key = super::control_api::spawn_key(&headers)?;
    // Before anything is allocated: the screen model holds rows × cols
    // cells, so an unchecked size could abort the whole broker.
    spec.check_limits().map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_spec",
            e.to_string(),
        )
    })?;
    let name = spec.name.clone();
    state.broker.spawn_keyed(spec, spawn_key).await?;
    let agents = state.broker.agents().await;
    let body = agents
        .iter()
        .find(|(s, ..)| s.name == name)
        .map(|(s, st, pid, d)| {
            let view = listed(&state.broker, &stuck_agents(&state.broker), s, st, *pid, *d);
            serde_json::to_value(view).map_err(|e| ApiError::internal(e.to_string()))
        })
        .transpose()?
        // Gone again before it could be listed (its program ended at once).
        .unwrap_or_else(|| json!({"name": name}));
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn release(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    validate_agent_name(&name)?;
    state.broker.release(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/agents/{name}/screen`: an agent may read only its own, since
/// another's screen shows that agent's messages as they were typed in.
pub async fn screen(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<ScreenQuery>,
) -> Result<Json<Screen>, ApiError> {
    identity.act_on(&name, "not_your_screen", "read the screen")?;
    let format = q.format.as_deref().unwrap_or("text");
    if !matches!(format, "text" | "ansi") {
        return Err(ApiError::bad_request("format must be text or ansi"));
    }
    let scrollback = q.scrollback.unwrap_or(0).min(10_000);
    let body = state
        .broker
        .with_session(&name, |session| {
            let snap = session.snapshot(scrollback);
            Screen {
                alternate_screen: snap.alternate_screen,
                ansi: (format == "ansi").then(|| session.formatted()),
                bracketed_paste: snap.bracketed_paste,
                cursor: [snap.cursor.0, snap.cursor.1],
                name: name.clone(),
                rows: snap.rows,
                scrollback: snap.scrollback,
                size: [snap.size.0, snap.size.1],
            }
        })
        .await?;
    Ok(Json(body))
}

/// `POST /v1/agents/{name}/input`: raw keystrokes from a person (they hold
/// deliveries to the agent for the typing window).
pub async fn input(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<InputRequest>,
) -> Result<StatusCode, ApiError> {
    let input = state.broker.person_input(&name).await?;
    input
        .write(body.text.as_bytes())
        .await
        .map_err(|e| match e {
            // A headless agent: the request is wrong, not the write.
            e @ courier_terminal::TerminalError::NoTerminal { .. } => {
                ApiError::from(crate::error::BrokerError::from(e))
            }
            e => ApiError::new(StatusCode::CONFLICT, "write_failed", e.to_string()),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn channels(State(state): State<AppState>) -> Result<Json<ChannelList>, ApiError> {
    let channels = state.broker.store().channels_async().await?;
    Ok(Json(ChannelList {
        channels: channels
            .into_iter()
            .map(|(name, members)| ChannelView {
                members,
                name: format!("#{name}"),
            })
            .collect(),
    }))
}

pub async fn join(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(channel): ApiPath<String>,
    ApiJson(body): ApiJson<JoinRequest>,
) -> Result<Json<MembershipChange>, ApiError> {
    let channel = validate_channel_name(&channel)?;
    identity.act_on(&body.agent, "not_yourself", "change the channels")?;
    crate::auth::acl_file::judge_join(&state.broker.config().acl, &body.agent, &channel)?;
    let changed = state
        .broker
        .store()
        .join_async(&channel, &body.agent)
        .await?;
    Ok(Json(MembershipChange {
        agent: body.agent,
        changed,
        channel: format!("#{channel}"),
    }))
}

pub async fn leave(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath((channel, agent)): ApiPath<(String, String)>,
) -> Result<Json<MembershipChange>, ApiError> {
    let channel = validate_channel_name(&channel)?;
    identity.act_on(&agent, "not_yourself", "change the channels")?;
    let changed = state.broker.store().leave_async(&channel, &agent).await?;
    Ok(Json(MembershipChange {
        agent,
        changed,
        channel: format!("#{channel}"),
    }))
}
