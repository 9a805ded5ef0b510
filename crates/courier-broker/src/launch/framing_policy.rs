//! How a message to an agent is framed, decided at each delivery from the
//! program that reads its terminal then, unless the spawn or its preset
//! fixed it.
//!
//! Auto: the terminal's reader (`courier_terminal::foreground`) is judged
//! by `courier_presets::identify`; an interpreter gets its framing, anything
//! else the text as it is. When the reader does not read and the terminal
//! is in canonical mode (`sleep` under a shell), typed text waits for the
//! next reader: the nearest interpreter above it (the shell) decides. When
//! `/proc` cannot say, the spawn's command is judged instead.

use courier_core::framing::Framing;
use courier_presets::{FramingChoice, Identified, identify};
use courier_terminal::foreground::{
    Foreground, Process, foreground, foreground_below, foreground_each,
};
use serde::Serialize;

use crate::error::BrokerError;

/// An agent's framing rule, fixed at spawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingPolicy {
    /// Set by the spawn or the preset; `why` names which field.
    Fixed { framing: Framing, why: String },
    /// Decided per delivery from what reads the terminal; `spawned` is the
    /// command started, judged when the terminal cannot be read.
    Auto { spawned: Vec<String> },
}

/// One decision: the framing and why, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FramingDecision {
    /// `none`, `hash-comment`, `slash-comment`, `zsh-quoted` or `prefix`.
    pub framing: &'static str,
    /// Why this framing, e.g. `foreground: zsh (pid 123, via env)`.
    pub why: String,
    #[serde(skip)]
    pub value: Framing,
}

impl FramingDecision {
    fn new(value: Framing, why: String) -> FramingDecision {
        FramingDecision {
            framing: value.name(),
            why,
            value,
        }
    }
}

/// Where a framing override came from: (field, value).
pub struct Overrides<'a> {
    pub framing: Option<(&'a str, &'a str)>,
    pub inert_prefix: Option<(&'a str, &'a str)>,
}

impl FramingPolicy {
    /// The policy from the spawn's fields, then the preset's (each a
    /// `framing` and an `inert_prefix`, `""` meaning none), else auto. An
    /// unknown `framing` value is refused, naming the field.
    pub fn choose(
        spawn: Overrides<'_>,
        preset: Overrides<'_>,
        spawned: Vec<String>,
    ) -> Result<FramingPolicy, BrokerError> {
        for overrides in [spawn, preset] {
            if let Some((field, value)) = overrides.framing {
                let choice =
                    FramingChoice::parse(value).map_err(|e| BrokerError::invalid(field, e))?;
                let why = format!("{field} = {value:?}");
                return Ok(match choice {
                    FramingChoice::Auto => FramingPolicy::Auto { spawned },
                    FramingChoice::None => FramingPolicy::Fixed {
                        framing: Framing::None,
                        why,
                    },
                    FramingChoice::As(interpreter) => FramingPolicy::Fixed {
                        framing: interpreter.framing(),
                        why,
                    },
                });
            }
            if let Some((field, prefix)) = overrides.inert_prefix {
                let framing = if prefix.is_empty() {
                    Framing::None
                } else {
                    Framing::Prefix(prefix.to_string())
                };
                return Ok(FramingPolicy::Fixed {
                    framing,
                    why: format!("{field} = {prefix:?}"),
                });
            }
        }
        Ok(FramingPolicy::Auto { spawned })
    }

    /// The framing for a delivery to the agent whose program is `pid`,
    /// now. Reads `/proc`: the tree below `adopter` (the agent's session
    /// host, which adopts its session's orphans) when there is one, else
    /// every process on the machine (milliseconds where hundreds run).
    pub fn decide(&self, pid: u32, adopter: Option<u32>) -> FramingDecision {
        match self {
            FramingPolicy::Fixed { .. } => self.decide_from(None),
            FramingPolicy::Auto { .. } => {
                let reader = match adopter {
                    Some(adopter) => foreground_below(pid, adopter),
                    None => foreground(pid),
                };
                self.decide_from(reader.as_ref())
            }
        }
    }

    /// Every agent's decision, (policy, pid) each, from one scan of
    /// `/proc`: what a listing of all agents costs.
    pub fn decide_each(agents: &[(std::sync::Arc<FramingPolicy>, u32)]) -> Vec<FramingDecision> {
        let auto: Vec<u32> = agents
            .iter()
            .filter(|(p, _)| matches!(p.as_ref(), FramingPolicy::Auto { .. }))
            .map(|(_, pid)| *pid)
            .collect();
        let mut found = foreground_each(&auto).into_iter();
        agents
            .iter()
            .map(|(policy, _)| match policy.as_ref() {
                FramingPolicy::Fixed { .. } => policy.decide_from(None),
                FramingPolicy::Auto { .. } => policy.decide_from(found.next().flatten().as_ref()),
            })
            .collect()
    }

    /// The decision given what reads the terminal (None: unknown).
    fn decide_from(&self, reader: Option<&Foreground>) -> FramingDecision {
        match self {
            FramingPolicy::Fixed { framing, why } => {
                FramingDecision::new(framing.clone(), why.clone())
            }
            FramingPolicy::Auto { spawned } => match reader {
                Some(found) => from_reader(found),
                None => {
                    let who = identify(None, spawned);
                    let why = format!(
                        "spawned as {} ({}; its terminal's reader cannot be read)",
                        who.program, who.why
                    );
                    FramingDecision::new(who.framing(), why)
                }
            },
        }
    }

    /// [`FramingPolicy::decide`] off the async threads; a fixed framing
    /// reads nothing, so it is answered here.
    pub async fn decide_async(
        self: &std::sync::Arc<Self>,
        pid: u32,
        adopter: Option<u32>,
    ) -> FramingDecision {
        if matches!(self.as_ref(), FramingPolicy::Fixed { .. }) {
            return self.decide_from(None);
        }
        let policy = self.clone();
        match tokio::task::spawn_blocking(move || policy.decide(pid, adopter)).await {
            Ok(decision) => decision,
            // The task cannot be cancelled here; a panic in it is a bug,
            // and the safe answer is the spawn's command, as when the
            // terminal's reader cannot be read.
            Err(_) => self.decide_from(None),
        }
    }
}

fn judge(process: &Process) -> Identified {
    identify(process.exe.as_deref(), &process.argv)
}

/// A process's own name (`script`, not what it runs): its argv\[0\]'s
/// last component, else the kernel's name for it.
fn own_name(process: &Process) -> &str {
    process
        .argv
        .first()
        .and_then(|a| a.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or(&process.name)
}

/// `bash (pid 10, via env)`: the program, its pid and what it was reached
/// through (processes above it, wrappers in its argv).
fn describe(who: &Identified, process: &Process, above: &[Process]) -> String {
    let mut via: Vec<String> = above
        .iter()
        .map(|p| format!("{} {}", own_name(p), p.pid))
        .collect();
    via.extend(who.via.iter().cloned());
    let via = if via.is_empty() {
        String::new()
    } else {
        format!(", via {}", via.join(", "))
    };
    format!("{} (pid {}{via})", who.program, process.pid)
}

fn from_reader(found: &Foreground) -> FramingDecision {
    let who = judge(&found.reader);
    let reader = describe(&who, &found.reader, &found.via);
    if who.interpreter.is_some() || !found.typed_ahead {
        return FramingDecision::new(who.framing(), format!("foreground: {reader}: {}", who.why));
    }
    // Nobody reads: the next reader is the nearest interpreter above.
    let next = found.via.iter().enumerate().rev().find_map(|(at, p)| {
        let above = judge(p);
        above
            .interpreter
            .is_some()
            .then(|| (above, p, &found.via[..at]))
    });
    match next {
        Some((shell, process, above)) => FramingDecision::new(
            shell.framing(),
            format!(
                "typed ahead: {reader} does not read its terminal; {} reads it next",
                describe(&shell, process, above)
            ),
        ),
        None => FramingDecision::new(Framing::None, format!("foreground: {reader}: {}", who.why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides<'a>(framing: Option<&'a str>, inert_prefix: Option<&'a str>) -> Overrides<'a> {
        Overrides {
            framing: framing.map(|v| ("framing", v)),
            inert_prefix: inert_prefix.map(|v| ("inert_prefix", v)),
        }
    }

    fn choose(spawn: Overrides<'_>, preset: Overrides<'_>) -> FramingPolicy {
        FramingPolicy::choose(spawn, preset, vec!["bash".into()]).unwrap()
    }

    #[test]
    fn the_spawn_overrides_the_preset_which_overrides_auto() {
        let auto = FramingPolicy::Auto {
            spawned: vec!["bash".into()],
        };
        assert_eq!(choose(overrides(None, None), overrides(None, None)), auto);
        assert!(matches!(
            choose(overrides(Some("none"), None), overrides(Some("zsh"), None)),
            FramingPolicy::Fixed {
                framing: Framing::None,
                ..
            }
        ));
        assert!(matches!(
            choose(overrides(None, Some("")), overrides(None, Some("# "))),
            FramingPolicy::Fixed {
                framing: Framing::None,
                ..
            }
        ));
        assert!(matches!(
            choose(overrides(None, None), overrides(None, Some("; "))),
            FramingPolicy::Fixed { framing: Framing::Prefix(p), .. } if p == "; "
        ));
        assert!(matches!(
            choose(overrides(Some("node"), None), overrides(None, None)),
            FramingPolicy::Fixed {
                framing: Framing::SlashComment,
                ..
            }
        ));
        assert_eq!(
            choose(overrides(Some("auto"), None), overrides(None, Some("# "))),
            auto
        );
    }

    fn process(pid: u32, argv: &[&str]) -> Process {
        Process {
            pid,
            exe: None,
            argv: argv.iter().map(|a| a.to_string()).collect(),
            name: argv.first().copied().unwrap_or_default().to_string(),
        }
    }

    #[test]
    fn the_reader_decides_and_the_way_to_it_is_named() {
        let found = Foreground {
            reader: process(12, &["node"]),
            via: vec![process(10, &["bash", "--norc"])],
            reading: false,
            typed_ahead: false,
        };
        let decision = from_reader(&found);
        assert_eq!(decision.value, Framing::SlashComment);
        assert_eq!(
            decision.why,
            "foreground: node (pid 12, via bash 10): interactive"
        );
        // A TUI in raw mode takes the text itself: as it is.
        let tui = Foreground {
            reader: process(12, &["claude"]),
            ..found.clone()
        };
        assert_eq!(from_reader(&tui).value, Framing::None);
    }

    #[test]
    fn text_typed_ahead_of_a_program_that_does_not_read_is_framed_for_the_shell() {
        // `sleep 100` in a zsh agent: the line discipline keeps the text for zsh.
        let found = Foreground {
            reader: process(12, &["sleep", "100"]),
            via: vec![process(10, &["zsh", "-f"])],
            reading: false,
            typed_ahead: true,
        };
        let decision = from_reader(&found);
        assert_eq!(decision.value, Framing::ZshQuoted);
        assert!(
            decision.why.starts_with("typed ahead: sleep (pid 12"),
            "{}",
            decision.why
        );
        assert!(
            decision.why.contains("zsh (pid 10) reads it next"),
            "{}",
            decision.why
        );
    }

    #[test]
    fn an_unknown_framing_names_the_field() {
        let err = FramingPolicy::choose(
            overrides(Some("cobol"), None),
            overrides(None, None),
            vec![],
        )
        .unwrap_err();
        assert!(err.to_string().contains("framing: \"cobol\""), "{err}");
    }
}
