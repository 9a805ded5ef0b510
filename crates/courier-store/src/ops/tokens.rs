//! Issuing and revoking tokens, each with its event in the same transaction.

use courier_core::EventKind;
use rusqlite::params;

use super::Result;
use crate::error::SqlContext;
use crate::tokens::{NewToken, TokenRecord, by_id};
use crate::writer::Ctx;

pub(crate) fn create(ctx: &mut Ctx<'_>, new: NewToken) -> Result<TokenRecord> {
    let record = TokenRecord {
        id: ctx.mint(),
        hash: new.hash,
        kind: new.kind,
        label: new.label,
        created_at: ctx.now,
        expires_at: new.expires_at,
        revoked_at: None,
    };
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT INTO tokens (id, hash, kind, label, created_at, expires_at, revoked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
        )
        .during(ctx.path, "preparing a token insert")?;
    stmt.execute(params![
        record.id,
        record.hash,
        record.kind,
        record.label,
        record.created_at.as_millis(),
        record.expires_at.map(|t| t.as_millis()),
    ])
    .during(ctx.path, "inserting a token")?;
    ctx.emit(EventKind::TokenCreated {
        token_id: record.id.clone(),
        kind: record.kind.clone(),
        label: record.label.clone(),
        expires_at: record.expires_at,
    })?;
    Ok(record)
}

pub(crate) fn revoke(ctx: &mut Ctx<'_>, id: &str) -> Result<Option<(TokenRecord, bool)>> {
    let Some(mut record) = by_id(ctx.conn, ctx.path, id)? else {
        return Ok(None);
    };
    if record.revoked_at.is_some() {
        return Ok(Some((record, false)));
    }
    let mut stmt = ctx
        .conn
        .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1")
        .during(ctx.path, "preparing a token revocation")?;
    stmt.execute(params![id, ctx.now.as_millis()])
        .during(ctx.path, "revoking a token")?;
    record.revoked_at = Some(ctx.now);
    ctx.emit(EventKind::TokenRevoked {
        token_id: id.to_string(),
    })?;
    Ok(Some((record, true)))
}
