//! The dashboard's logins: one-time login codes and the server-side
//! sessions they turn into.
//!
//! `courier open` asks for a code with the owner's token; the code goes into
//! the URL it opens, works once and only for [`CODE_TTL_MS`]; redeeming it
//! creates a session whose random id is the browser's HttpOnly cookie, valid
//! for [`SESSION_TTL_MS`]. The owner's token itself never reaches a page.
//! Both live in memory only: a restarted broker forgets them (run
//! `courier open` again). Time comes from a [`Clock`] so tests can move it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use courier_core::time::{Clock, SystemClock, Timestamp};

use super::token::new_token;

/// The dashboard's session cookie's name, before its port.
pub const SESSION_COOKIE: &str = "courier_session";

/// The session cookie of the broker on `port`: `courier_session_<port>`.
/// Browsers send a cookie to every port of a host, so the name carries the
/// port: two brokers on one machine keep their own sessions (one login
/// does not overwrite the other's cookie), and a broker reads only the
/// cookie minted for its own port, never one meant for another.
pub fn session_cookie_name(port: u16) -> String {
    format!("{SESSION_COOKIE}_{port}")
}

/// How long a login code may wait to be used (60 s).
pub const CODE_TTL_MS: u64 = 60_000;
/// How long a dashboard session lasts from its login (12 h).
pub const SESSION_TTL_MS: u64 = 12 * 3600 * 1000;
/// Most codes waiting at once; the oldest goes first beyond it.
const MAX_CODES: usize = 32;
/// Most sessions at once; the oldest goes first beyond it.
const MAX_SESSIONS: usize = 64;

/// A code `courier open` puts in the login URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCode {
    pub code: String,
    pub expires_at: Timestamp,
}

/// A session a redeemed code became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSession {
    pub id: String,
    pub expires_at: Timestamp,
}

/// Why a login code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("this login code was already used, has expired or was never issued")]
    BadCode,
    #[error("no randomness for a session id: {0}")]
    NoRandomness(getrandom::Error),
}

#[derive(Default)]
struct Tables {
    /// Code → when it expires.
    codes: HashMap<String, Timestamp>,
    /// Session id → when it expires.
    sessions: HashMap<String, Timestamp>,
}

/// The codes and sessions of one broker.
pub struct UiSessions {
    clock: Arc<dyn Clock>,
    tables: Mutex<Tables>,
}

impl Default for UiSessions {
    fn default() -> Self {
        UiSessions::new(Arc::new(SystemClock))
    }
}

impl UiSessions {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        UiSessions {
            clock,
            tables: Mutex::new(Tables::default()),
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh single-use code, valid for [`CODE_TTL_MS`].
    pub fn issue_code(&self) -> Result<LoginCode, getrandom::Error> {
        let code = new_token()?[..32].to_string();
        let now = self.clock.now();
        let expires_at = now.plus_millis(CODE_TTL_MS);
        let mut tables = self.tables();
        forget_expired(&mut tables.codes, now);
        make_room(&mut tables.codes, MAX_CODES);
        tables.codes.insert(code.clone(), expires_at);
        Ok(LoginCode { code, expires_at })
    }

    /// Spends `code` (whether or not it is still valid: a code is looked at
    /// once) and opens a session for it.
    pub fn redeem(&self, code: &str) -> Result<UiSession, LoginError> {
        let now = self.clock.now();
        let mut tables = self.tables();
        forget_expired(&mut tables.codes, now);
        match tables.codes.remove(code) {
            Some(expires) if expires > now => {}
            _ => return Err(LoginError::BadCode),
        }
        let id = new_token().map_err(LoginError::NoRandomness)?;
        let expires_at = now.plus_millis(SESSION_TTL_MS);
        forget_expired(&mut tables.sessions, now);
        make_room(&mut tables.sessions, MAX_SESSIONS);
        tables.sessions.insert(id.clone(), expires_at);
        Ok(UiSession { id, expires_at })
    }

    /// Whether `id` is a session that has not expired or ended.
    pub fn is_valid(&self, id: &str) -> bool {
        let now = self.clock.now();
        let mut tables = self.tables();
        match tables.sessions.get(id) {
            Some(expires) if *expires > now => true,
            Some(_) => {
                tables.sessions.remove(id);
                false
            }
            None => false,
        }
    }

    /// Ends a session (logout); `false` when there was none.
    pub fn end(&self, id: &str) -> bool {
        self.tables().sessions.remove(id).is_some()
    }
}

fn forget_expired(table: &mut HashMap<String, Timestamp>, now: Timestamp) {
    table.retain(|_, expires| *expires > now);
}

/// Drops the entries that expire soonest until one more fits under `max`.
fn make_room(table: &mut HashMap<String, Timestamp>, max: usize) {
    while table.len() >= max {
        let Some(oldest) = table
            .iter()
            .min_by_key(|(_, expires)| **expires)
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        table.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use courier_core::time::ManualClock;

    fn sessions() -> (Arc<ManualClock>, UiSessions) {
        let clock = Arc::new(ManualClock::new(Timestamp(1_000_000)));
        (clock.clone(), UiSessions::new(clock))
    }

    #[test]
    fn a_code_works_once() {
        let (_, s) = sessions();
        let code = s.issue_code().unwrap();
        assert_eq!(code.code.len(), 32);
        let session = s.redeem(&code.code).unwrap();
        assert!(s.is_valid(&session.id));
        assert_eq!(s.redeem(&code.code), Err(LoginError::BadCode));
        assert_eq!(s.redeem("never-issued"), Err(LoginError::BadCode));
    }

    #[test]
    fn a_code_expires_after_its_ttl() {
        let (clock, s) = sessions();
        let late = s.issue_code().unwrap();
        let in_time = s.issue_code().unwrap();
        clock.advance(CODE_TTL_MS - 1);
        assert!(s.redeem(&in_time.code).is_ok());
        clock.advance(1);
        assert_eq!(s.redeem(&late.code), Err(LoginError::BadCode));
    }

    #[test]
    fn a_session_expires_and_can_end() {
        let (clock, s) = sessions();
        let a = s.redeem(&s.issue_code().unwrap().code).unwrap();
        let b = s.redeem(&s.issue_code().unwrap().code).unwrap();
        assert_ne!(a.id, b.id);
        assert!(s.end(&a.id));
        assert!(!s.is_valid(&a.id));
        assert!(!s.end(&a.id));
        clock.advance(SESSION_TTL_MS - 1);
        assert!(s.is_valid(&b.id));
        clock.advance(1);
        assert!(!s.is_valid(&b.id));
        assert!(!s.is_valid("not-a-session"));
    }

    #[test]
    fn tables_are_bounded_oldest_first() {
        let (clock, s) = sessions();
        let first = s.issue_code().unwrap();
        clock.advance(1);
        let rest: Vec<_> = (0..MAX_CODES).map(|_| s.issue_code().unwrap()).collect();
        assert_eq!(s.redeem(&first.code), Err(LoginError::BadCode));
        assert!(s.redeem(&rest[0].code).is_ok());
        let mut ids = Vec::new();
        for _ in 0..MAX_SESSIONS + 1 {
            clock.advance(1);
            ids.push(s.redeem(&s.issue_code().unwrap().code).unwrap().id);
        }
        assert!(!s.is_valid(&ids[0]), "the oldest session made room");
        assert!(ids[1..].iter().all(|id| s.is_valid(id)));
    }
}
