//! What a spawn asks beyond starting a program: resume a CLI session, a
//! first task (a durable message committed with the spawn), a restart
//! policy, interrupt keys, context-low and busy/idle patterns; their checks, and how
//! the task message and the resume arguments are chosen.

use courier_core::{NewMessage, Recipient};
use courier_presets::Resume;
use serde::{Deserialize, Serialize};

use crate::agent_spec::{AgentSpec, MAX_PATTERNS, SpecLimit};

/// The sender of an initial task.
pub const TASK_SENDER: &str = "courier";
/// The longest session id accepted.
pub const MAX_SESSION_ID: usize = 256;
/// The longest spawn key (`Idempotency-Key` of a spawn request) accepted.
pub const MAX_SPAWN_KEY: usize = 128;

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
    /// The preset crate's form; refuses both or neither.
    pub fn to_resume(&self) -> Result<Resume, SpecLimit> {
        match (&self.session, self.last) {
            (Some(id), false) => Ok(Resume::Session(id.clone())),
            (None, true) => Ok(Resume::Last),
            _ => Err(problem(
                "resume",
                "give exactly one of {\"session\": ID} or {\"last\": true}",
            )),
        }
    }
}

fn problem(field: &'static str, text: impl Into<String>) -> SpecLimit {
    SpecLimit {
        field,
        problem: text.into(),
    }
}

/// The checks of these fields, run with [`AgentSpec::check_limits`].
pub fn check(spec: &AgentSpec) -> Result<(), SpecLimit> {
    if let Some(policy) = &spec.restart {
        policy.check().map_err(|p| problem("restart", p))?;
    }
    if let Some(keys) = &spec.interrupt_keys {
        courier_presets::check_interrupt_keys(keys).map_err(|p| problem("interrupt_keys", p))?;
    }
    if spec.context_low_patterns.len() > MAX_PATTERNS {
        return Err(problem(
            "context_low_patterns",
            format!(
                "at most {MAX_PATTERNS} entries (got {})",
                spec.context_low_patterns.len()
            ),
        ));
    }
    for (field, patterns) in [
        ("busy_patterns", &spec.busy_patterns),
        ("idle_patterns", &spec.idle_patterns),
    ] {
        check_patterns(field, patterns)?;
    }
    if let Some(resume) = &spec.resume {
        resume.to_resume()?;
        if let Some(id) = &resume.session
            && (id.is_empty() || id.len() > MAX_SESSION_ID || id.chars().any(char::is_control))
        {
            return Err(problem(
                "resume",
                format!("session must be 1 to {MAX_SESSION_ID} bytes without control characters"),
            ));
        }
        if spec.preset.is_none() {
            return Err(problem(
                "resume",
                "resuming a session needs a preset that knows its CLI's resume option (claude, codex, gemini, opencode, aider)",
            ));
        }
    }
    Ok(())
}

/// At most [`MAX_PATTERNS`] entries (whether they compile is the launch's
/// check: a 400 naming the field, like `context_low_patterns`).
fn check_patterns(field: &'static str, patterns: &[String]) -> Result<(), SpecLimit> {
    if patterns.len() > MAX_PATTERNS {
        return Err(problem(
            field,
            format!("at most {MAX_PATTERNS} entries (got {})", patterns.len()),
        ));
    }
    Ok(())
}

/// The resume to launch with: on a restart, the preset's "continue the
/// last session" when it has one and the policy allows; else the spawn's.
pub fn resume_for(spec: &AgentSpec, restart: bool, can_continue: bool) -> Option<ResumeSpec> {
    let continue_last = spec.restart.as_ref().is_none_or(|p| p.resume);
    if restart && can_continue && continue_last {
        return Some(ResumeSpec {
            session: None,
            last: true,
        });
    }
    spec.resume.clone()
}

/// The initial task as a message to the agent. Its idempotency key comes
/// from the agent's name and the spawn (`spawn_key`: the spawn request's
/// `Idempotency-Key`, else unique to this spawn), so a retried spawn
/// cannot send it twice.
pub fn task_message(name: &str, text: &str, spawn_key: &str) -> NewMessage {
    // A message to oneself is refused; an agent named like the sender
    // gets its task from "human" instead.
    let from = if name == TASK_SENDER {
        "human"
    } else {
        TASK_SENDER
    };
    let mut message = NewMessage::new(from, Recipient::Agent(name.to_string()), text);
    message.idempotency_key = Some(format!("spawn:{name}:{spawn_key}"));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> AgentSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn resume_needs_exactly_one_form_and_a_preset() {
        let ok =
            spec(serde_json::json!({"name": "a", "preset": "claude", "resume": {"last": true}}));
        assert_eq!(check(&ok), Ok(()));
        for bad in [
            serde_json::json!({"name": "a", "preset": "claude", "resume": {}}),
            serde_json::json!({"name": "a", "preset": "claude", "resume": {"session": "x", "last": true}}),
            serde_json::json!({"name": "a", "preset": "claude", "resume": {"session": ""}}),
            serde_json::json!({"name": "a", "command": ["sh"], "resume": {"session": "x"}}),
        ] {
            assert_eq!(
                check(&spec(bad.clone())).unwrap_err().field,
                "resume",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_restart_continues_the_last_session_when_the_preset_can() {
        let s =
            spec(serde_json::json!({"name": "a", "preset": "claude", "resume": {"session": "s1"}}));
        let last = ResumeSpec {
            session: None,
            last: true,
        };
        assert_eq!(resume_for(&s, true, true), Some(last));
        assert_eq!(resume_for(&s, false, true), s.resume);
        assert_eq!(resume_for(&s, true, false), s.resume);
        let no = spec(serde_json::json!({"name": "a", "preset": "claude",
            "restart": {"policy": "always", "resume": false}}));
        assert_eq!(resume_for(&no, true, true), None);
    }

    #[test]
    fn the_task_key_names_the_agent_and_the_spawn() {
        let m = task_message("bob", "do it", "k1");
        assert_eq!(m.from, TASK_SENDER);
        assert_eq!(m.idempotency_key.as_deref(), Some("spawn:bob:k1"));
        assert_eq!(task_message("courier", "x", "k").from, "human");
        assert!(m.validate(1024).is_ok());
    }

    #[test]
    fn restart_and_interrupt_keys_are_checked() {
        let bad = spec(serde_json::json!({"name": "a", "command": ["sh"],
            "restart": {"policy": "always", "window_s": 0}}));
        assert_eq!(check(&bad).unwrap_err().field, "restart");
        let bad = spec(serde_json::json!({"name": "a", "command": ["sh"], "interrupt_keys": ""}));
        assert_eq!(check(&bad).unwrap_err().field, "interrupt_keys");
    }
}
