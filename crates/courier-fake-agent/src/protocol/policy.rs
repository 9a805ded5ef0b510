//! What the flags decide for every protocol: the reply, refusals, the crash, closing stdout, and
//! the transcript of accepted inputs.

use std::time::Duration;

use serde_json::json;

use crate::transcript::Transcript;

/// How a refused input is refused (`--refuse-as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseAs {
    /// The request that carries the input fails (a JSON-RPC error); no turn starts and the input
    /// is not accepted. stream-json has no requests: there it is the same as `Turn`.
    Error,
    /// The turn starts and ends refused: ACP stopReason `refusal`, a Codex turn that completes
    /// `failed`, a stream-json `result` with `is_error`.
    Turn,
}

/// Everything the flags decide for a protocol mode.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From a turn's start to its answer.
    pub think: Duration,
    /// Before each message read is handled at all.
    pub ack_delay: Duration,
    /// The reply; `{input}` stands for the turn's inputs, one per line. `None`: `echo: {input}`.
    pub reply: Option<String>,
    /// Refuse every input that contains this text.
    pub refuse: Option<String>,
    pub refuse_reason: String,
    pub refuse_as: RefuseAs,
    /// The Nth accepted input starts its turn and the process exits 101 without answering.
    pub crash_after: Option<usize>,
    /// After this many completed turns, stdout is closed.
    pub close_stdout_after: Option<usize>,
    /// stream-json: echo each accepted user message back (`--replay-user-messages`).
    pub replay_user_messages: bool,
    /// ACP: the title of a tool call each answered turn makes before its reply (`--tool-call`).
    pub tool_call: Option<String>,
}

/// The exit code of a crash mid-turn (`--crash-after`), the same as the terminal modes'.
pub const CRASH_CODE: u8 = 101;

/// The shared state of a protocol server: counts and the transcript.
pub struct Policy {
    pub settings: Settings,
    transcript: Option<Transcript>,
    accepted: usize,
    completed: usize,
}

/// One accepted input as the transcript records it.
pub struct Accepted<'a> {
    pub text: &'a str,
    /// The method or message type that carried it (`session/prompt`, `turn/steer`, `user`, …).
    pub via: &'a str,
    /// The turn it went into, when it went into one at once.
    pub turn: Option<&'a str>,
    /// Accepted, but its turn is refused (`--refuse-as turn`).
    pub refused: bool,
}

impl Policy {
    pub fn new(settings: Settings, transcript: Option<Transcript>) -> Self {
        Policy {
            settings,
            transcript,
            accepted: 0,
            completed: 0,
        }
    }

    /// The reply to a turn whose inputs were `inputs`.
    pub fn reply(&self, inputs: &[String]) -> String {
        let input = inputs.join("\n");
        match &self.settings.reply {
            Some(template) => template.replace("{input}", &input),
            None => format!("echo: {input}"),
        }
    }

    /// Whether `text` is refused.
    pub fn refuses(&self, text: &str) -> bool {
        self.settings
            .refuse
            .as_deref()
            .is_some_and(|needle| text.contains(needle))
    }

    /// Whether `text` is refused by failing its request (`--refuse-as error`).
    pub fn refuses_request(&self, text: &str) -> bool {
        self.settings.refuse_as == RefuseAs::Error && self.refuses(text)
    }

    pub fn reason(&self) -> &str {
        &self.settings.refuse_reason
    }

    /// Records an accepted input (flushed and fsync'd before the caller acknowledges it) and
    /// returns its number, counted from 1.
    pub fn accept(&mut self, input: &Accepted<'_>) -> std::io::Result<usize> {
        self.accepted += 1;
        if let Some(t) = &mut self.transcript {
            let mut line = json!({
                "n": self.accepted,
                "text": input.text,
                "via": input.via,
                "turn": input.turn,
            });
            if input.refused {
                line["refused"] = json!(true);
            }
            t.record_value(&line)?;
        }
        Ok(self.accepted)
    }

    /// Whether the input numbered `n` is the one to crash on.
    pub fn crashes_at(&self, n: usize) -> bool {
        self.settings.crash_after == Some(n)
    }

    /// A turn was answered; true when stdout is to be closed now.
    pub fn turn_completed(&mut self) -> bool {
        self.completed += 1;
        self.settings.close_stdout_after == Some(self.completed)
    }
}

/// A transcript that cannot be written: the fake's record of what it accepted is gone, so it stops
/// (exit 1) rather than go on with a count a test would trust.
pub fn transcript_failed(e: &std::io::Error) -> u8 {
    eprintln!("courier-fake-agent: cannot write the transcript: {e} (check the disk and the path)");
    1
}

/// A fake but well-formed UUID (8-4-4-4-12 hex, version 4 bits), distinct per `n`.
pub fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            think: Duration::ZERO,
            ack_delay: Duration::ZERO,
            reply: None,
            refuse: Some("nope".into()),
            refuse_reason: "no".into(),
            refuse_as: RefuseAs::Turn,
            crash_after: Some(2),
            close_stdout_after: Some(1),
            replay_user_messages: false,
            tool_call: None,
        }
    }

    #[test]
    fn replies_echo_the_inputs_and_a_template_gets_them_in_place() {
        let mut p = Policy::new(settings(), None);
        assert_eq!(p.reply(&["a".into(), "b".into()]), "echo: a\nb");
        p.settings.reply = Some("<{input}>".into());
        assert_eq!(p.reply(&["x".into()]), "<x>");
    }

    #[test]
    fn refusal_crash_and_close_follow_the_counts() {
        let mut p = Policy::new(settings(), None);
        assert!(p.refuses("say nope"));
        assert!(
            !p.refuses_request("say nope"),
            "refused as a turn, not an error"
        );
        let a = Accepted {
            text: "x",
            via: "m",
            turn: None,
            refused: false,
        };
        assert_eq!(p.accept(&a).ok(), Some(1));
        assert!(!p.crashes_at(1));
        assert!(p.crashes_at(2));
        assert!(p.turn_completed(), "closes after the first turn");
        assert!(!p.turn_completed());
        assert_eq!(uuid(255), "00000000-0000-4000-8000-0000000000ff");
    }
}
