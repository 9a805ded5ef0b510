//! Which CLI session a spawn resumes, and its checks.

use courier_presets::Resume;
use serde::{Deserialize, Serialize};

use super::limits::{SpecLimit, limit};

/// The longest session id accepted.
pub const MAX_SESSION_ID: usize = 256;

/// Which CLI session to resume at spawn: `{"session": ID}` or `{"last": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last: bool,
}

impl ResumeSpec {
    /// "Continue the last session", what a restart asks of a preset that can.
    pub fn last() -> ResumeSpec {
        ResumeSpec {
            session: None,
            last: true,
        }
    }

    /// The preset crate's form; refuses both or neither.
    pub fn to_resume(&self) -> Result<Resume, SpecLimit> {
        match (&self.session, self.last) {
            (Some(id), false) => Ok(Resume::Session(id.clone())),
            (None, true) => Ok(Resume::Last),
            _ => Err(limit(
                "resume",
                "give exactly one of {\"session\": ID} or {\"last\": true}",
            )),
        }
    }

    /// One form, a session id of sane length, and a preset that knows how
    /// its CLI resumes.
    pub fn check(&self, has_preset: bool) -> Result<(), SpecLimit> {
        self.to_resume()?;
        if let Some(id) = &self.session
            && (id.is_empty() || id.len() > MAX_SESSION_ID || id.chars().any(char::is_control))
        {
            return Err(limit(
                "resume",
                format!("session must be 1 to {MAX_SESSION_ID} bytes without control characters"),
            ));
        }
        if !has_preset {
            return Err(limit(
                "resume",
                "resuming a session needs a preset that knows its CLI's resume option (claude, codex, gemini, opencode, aider)",
            ));
        }
        Ok(())
    }
}
