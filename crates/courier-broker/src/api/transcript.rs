//! `GET /v1/agents/{name}/transcript`: a headless agent's conversation
//! (its `conversation_*` events) after a seq, read from the store.

use axum::extract::State;
use axum::{Extension, Json};
use courier_protocol::events::{EventsQuery, Transcript};

use super::error::ApiError;
use super::event_view::for_reader;
use super::identity::Identity;
use super::json::{ApiPath, ApiQuery};
use super::state::AppState;

/// The conversation of agent `name` after `?since`, oldest first.
pub async fn transcript(
    State(state): State<AppState>,
    Extension(reader): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<Transcript>, ApiError> {
    reader.act_on(&name, "not_your_transcript", "read the transcript")?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let store = state.broker.store();
    // The cursor first: an event committed between the two reads is in the
    // page or after the cursor, never lost to a follower.
    let last_seq = store.last_seq_async().await?;
    let events = store
        .conversation_after_async(&name, q.since.unwrap_or(0), limit)
        .await?
        .into_iter()
        .map(|event| for_reader(event, &reader))
        .collect();
    Ok(Json(Transcript {
        name,
        events,
        last_seq,
    }))
}
