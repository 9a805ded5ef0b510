//! Tokens the owner issues: observers, read-only. Only their SHA-256 is
//! kept, durably in the store (the source of truth) and in memory for the
//! lookup on every request; the token itself is shown once, at creation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use courier_core::Timestamp;
use courier_core::time::{Clock, SystemClock};
use courier_store::{NewToken, Store, StoreError, TokenRecord, TokenState};

use crate::auth::token::{new_token, token_hash};
use crate::error::BrokerError;

/// The kind of every token issued so far.
pub const OBSERVER: &str = "observer";

/// What an issued token's secret starts with, so it is recognisable (in a
/// leaked log, say) and never mistaken for the owner's.
pub const OBSERVER_PREFIX: &str = "courier_obs_";

/// What a presented token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not an issued token.
    Unknown,
    /// Issued and usable now.
    Valid(TokenRecord),
    /// Issued, but expired or revoked.
    Refused(TokenRecord, TokenState),
}

pub struct IssuedTokens {
    store: Arc<Store>,
    by_hash: RwLock<HashMap<String, TokenRecord>>,
}

impl IssuedTokens {
    /// Loads the issued tokens' hashes from the store.
    pub async fn load(store: Arc<Store>) -> Result<IssuedTokens, StoreError> {
        let by_hash = store
            .tokens_async()
            .await?
            .into_iter()
            .map(|t| (t.hash.clone(), t))
            .collect();
        Ok(IssuedTokens {
            store,
            by_hash: RwLock::new(by_hash),
        })
    }

    fn remember(&self, record: &TokenRecord) {
        self.by_hash
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(record.hash.clone(), record.clone());
    }

    /// Issues an observer token; returns its record and the token itself,
    /// which is stored nowhere (only its hash is).
    pub async fn issue(
        &self,
        label: Option<String>,
        expires_in: Option<Duration>,
    ) -> Result<(TokenRecord, String), BrokerError> {
        let random = new_token().map_err(|e| BrokerError::no_randomness("a new token", e))?;
        let secret = format!("{OBSERVER_PREFIX}{random}");
        let expires_at = expires_in.map(|d| {
            SystemClock
                .now()
                .plus_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        });
        let record = self
            .store
            .create_token_async(NewToken {
                hash: token_hash(&secret),
                kind: OBSERVER.to_string(),
                label,
                expires_at,
            })
            .await?;
        self.remember(&record);
        Ok((record, secret))
    }

    /// Revokes token `id`: `None` if there is none, else its record and
    /// whether this call revoked it.
    pub async fn revoke(&self, id: &str) -> Result<Option<(TokenRecord, bool)>, BrokerError> {
        let revoked = self.store.revoke_token_async(id).await?;
        if let Some((record, _)) = &revoked {
            self.remember(record);
        }
        Ok(revoked)
    }

    /// Every issued token (no secrets: there are none to show).
    pub async fn list(&self) -> Result<Vec<TokenRecord>, BrokerError> {
        Ok(self.store.tokens_async().await?)
    }

    /// Looks a presented token up by its hash.
    pub fn lookup(&self, given: &str, now: Timestamp) -> Lookup {
        let by_hash = self
            .by_hash
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match by_hash.get(&token_hash(given)) {
            None => Lookup::Unknown,
            Some(record) => match record.state_at(now) {
                TokenState::Active => Lookup::Valid(record.clone()),
                state => Lookup::Refused(record.clone(), state),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use courier_store::StoreOptions;

    #[tokio::test]
    async fn issued_tokens_are_found_by_hash_until_revoked_or_expired() {
        let store = Arc::new(Store::open_in_memory(StoreOptions::default()).unwrap());
        let issued = IssuedTokens::load(store.clone()).await.unwrap();
        let (record, secret) = issued.issue(Some("ci".into()), None).await.unwrap();
        assert!(secret.starts_with(OBSERVER_PREFIX));
        assert_eq!(record.hash, token_hash(&secret));
        let now = SystemClock.now();
        assert_eq!(issued.lookup(&secret, now), Lookup::Valid(record.clone()));
        assert_eq!(issued.lookup("courier_obs_other", now), Lookup::Unknown);
        // A new broker on the same store knows it too.
        let again = IssuedTokens::load(store.clone()).await.unwrap();
        assert!(matches!(again.lookup(&secret, now), Lookup::Valid(_)));
        issued.revoke(&record.id).await.unwrap();
        assert!(matches!(
            issued.lookup(&secret, now),
            Lookup::Refused(_, TokenState::Revoked)
        ));
        let (short, secret) = issued
            .issue(None, Some(Duration::from_secs(60)))
            .await
            .unwrap();
        let later = now.plus_millis(61_000);
        assert_eq!(
            issued.lookup(&secret, later),
            Lookup::Refused(short, TokenState::Expired)
        );
    }
}
