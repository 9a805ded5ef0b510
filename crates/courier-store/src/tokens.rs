//! Tokens the owner issues (observers): what is stored of them, and the
//! store's operations on them. Only the SHA-256 of a token is stored
//! (`hash`), never the token itself; the caller hashes (the broker).

use std::path::Path;

use courier_core::Timestamp;
use rusqlite::{Connection, OptionalExtension};

use crate::error::SqlContext;
use crate::ops;
use crate::store::{Result, Store};

/// An issued token as stored: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    /// SHA-256 of the token, lowercase hex.
    pub hash: String,
    /// `observer` (the only kind issued so far).
    pub kind: String,
    pub label: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A token to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub hash: String,
    pub kind: String,
    pub label: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// Whether a token may be used at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        }
    }
}

impl TokenRecord {
    /// Revoked wins over expired; a token is expired from `expires_at` on.
    pub fn state_at(&self, now: Timestamp) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|at| now >= at) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

const COLUMNS: &str = "id, hash, kind, label, created_at, expires_at, revoked_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        hash: r.get(1)?,
        kind: r.get(2)?,
        label: r.get(3)?,
        created_at: Timestamp(r.get(4)?),
        expires_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        revoked_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

pub(crate) fn all(conn: &Connection, path: &Path) -> Result<Vec<TokenRecord>> {
    let during = "reading tokens";
    let sql = format!("SELECT {COLUMNS} FROM tokens ORDER BY created_at, id");
    let mut stmt = conn.prepare_cached(&sql).during(path, during)?;
    let rows = stmt.query_map([], row).during(path, during)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .during(path, during)
}

pub(crate) fn by_id(conn: &Connection, path: &Path, id: &str) -> Result<Option<TokenRecord>> {
    let during = "reading a token";
    let sql = format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql).during(path, during)?;
    stmt.query_row([id], row).optional().during(path, during)
}

impl Store {
    /// Stores an issued token (its hash) with a `token_created` event.
    pub async fn create_token_async(&self, token: NewToken) -> Result<TokenRecord> {
        self.call(move |ctx| ops::tokens::create(ctx, token))
            .wait_async()
            .await
    }

    /// Revokes a token (`token_revoked`); `None` if there is no such id,
    /// `(record, false)` if it was revoked already (no new event).
    pub async fn revoke_token_async(&self, id: &str) -> Result<Option<(TokenRecord, bool)>> {
        let id = id.to_string();
        self.call(move |ctx| ops::tokens::revoke(ctx, &id))
            .wait_async()
            .await
    }

    /// Blocking form of [`Store::create_token_async`].
    pub fn create_token(&self, token: NewToken) -> Result<TokenRecord> {
        self.call(move |ctx| ops::tokens::create(ctx, token)).wait()
    }

    /// Blocking form of [`Store::revoke_token_async`].
    pub fn revoke_token(&self, id: &str) -> Result<Option<(TokenRecord, bool)>> {
        let id = id.to_string();
        self.call(move |ctx| ops::tokens::revoke(ctx, &id)).wait()
    }

    /// Every issued token, revoked and expired ones too, oldest first.
    pub async fn tokens_async(&self) -> Result<Vec<TokenRecord>> {
        self.read_async("reading tokens", all).await
    }

    /// Blocking form of [`Store::tokens_async`].
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read("reading tokens", all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_wins_and_expiry_is_inclusive() {
        let mut t = TokenRecord {
            id: "t".into(),
            hash: "h".into(),
            kind: "observer".into(),
            label: None,
            created_at: Timestamp(0),
            expires_at: Some(Timestamp(100)),
            revoked_at: None,
        };
        assert_eq!(t.state_at(Timestamp(99)), TokenState::Active);
        assert_eq!(t.state_at(Timestamp(100)), TokenState::Expired);
        t.revoked_at = Some(Timestamp(50));
        assert_eq!(t.state_at(Timestamp(60)), TokenState::Revoked);
        t.revoked_at = None;
        t.expires_at = None;
        assert_eq!(t.state_at(Timestamp(i64::MAX)), TokenState::Active);
    }
}
