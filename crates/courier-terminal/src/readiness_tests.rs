use std::time::{Duration, Instant};

use super::*;

fn snap(rows: &[&str], cursor: (u16, u16), last_ms: Option<u64>, t0: Instant) -> Snapshot {
    let mut all: Vec<String> = rows.iter().map(|s| s.to_string()).collect();
    all.resize(10, String::new());
    Snapshot {
        rows: all,
        scrollback: vec![],
        cursor,
        cursor_hidden: false,
        alternate_screen: false,
        bracketed_paste: true,
        size: (10, 40),
        first_output_at: last_ms.map(|_| t0),
        last_output_at: last_ms.map(|ms| t0 + Duration::from_millis(ms)),
        output_bytes: 1,
        seq: 1,
    }
}

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

#[test]
fn no_output_is_ready_only_by_the_fallback_and_a_drawn_blank_screen_never() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let none = snap(&[], (0, 0), None, t0);
    assert_eq!(
        assess(&none, t0, at(t0, 5000), false, &cfg),
        Err(NotReady::NoOutput)
    );
    let blank = snap(&["   "], (0, 3), Some(10), t0);
    assert_eq!(
        assess(&blank, t0, at(t0, 5000), false, &cfg),
        Err(NotReady::BlankScreen)
    );
    // Drawn and blank: waiting longer does not make typing into it safe.
    for late in [15_000, 60_000, 3_600_000] {
        assert_eq!(
            assess(&blank, t0, at(t0, late), false, &cfg),
            Err(NotReady::BlankScreen)
        );
    }
    // Nothing printed at all (`cat`): only the fallback can make it ready.
    assert_eq!(
        assess(&none, t0, at(t0, 15_000), false, &cfg),
        Ok(ReadyBy::Fallback)
    );
}

#[test]
fn next_deadline_is_always_in_the_future() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let blank = snap(&["   "], (0, 3), Some(10), t0);
    // Quiet window pending, then the fallback, then only a re-check bound.
    assert_eq!(next_deadline(&blank, t0, at(t0, 50), &cfg), at(t0, 160));
    assert_eq!(
        next_deadline(&blank, t0, at(t0, 5000), &cfg),
        at(t0, 15_000)
    );
    let late = at(t0, 20_000);
    assert_eq!(next_deadline(&blank, t0, late, &cfg), late + RECHECK);
    let none = snap(&[], (0, 0), None, t0);
    assert_eq!(next_deadline(&none, t0, late, &cfg), late + RECHECK);
}

#[test]
fn a_prompt_is_ready_only_after_the_quiet_window() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let s = snap(&["$ "], (0, 2), Some(70), t0);
    assert_eq!(
        assess(&s, t0, at(t0, 100), false, &cfg),
        Err(NotReady::Busy)
    );
    assert_eq!(
        assess(&s, t0, at(t0, 219), false, &cfg),
        Err(NotReady::Busy)
    );
    assert_eq!(
        assess(&s, t0, at(t0, 220), false, &cfg),
        Ok(ReadyBy::Cursor)
    );
    assert_eq!(next_deadline(&s, t0, at(t0, 100), &cfg), at(t0, 220));
}

#[test]
fn cursor_heuristics_cover_common_prompts() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let ready = |rows: &[&str], cursor| {
        assess(
            &snap(rows, cursor, Some(0), t0),
            t0,
            at(t0, 1000),
            false,
            &cfg,
        )
    };
    assert_eq!(ready(&[">>> "], (0, 4)), Ok(ReadyBy::Cursor));
    assert_eq!(ready(&["root@host:~# "], (0, 13)), Ok(ReadyBy::Cursor));
    assert_eq!(ready(&["╭────╮", "│ > │"], (1, 4)), Ok(ReadyBy::Cursor));
    assert_eq!(ready(&["❯\u{a0}"], (0, 2)), Ok(ReadyBy::Cursor));
    assert_eq!(ready(&["┃ "], (0, 2)), Ok(ReadyBy::Cursor));
    assert_eq!(ready(&["Name?"], (0, 5)), Ok(ReadyBy::Cursor));
    // Cursor parked on an empty row under text, or mid-line in a long line.
    assert_eq!(
        ready(&["Loading the model, please wait"], (3, 0)),
        Err(NotReady::NoPrompt)
    );
    assert_eq!(
        ready(
            &["a very long line of output text that is not a prompt at all"],
            (0, 10)
        ),
        Err(NotReady::NoPrompt)
    );
}

#[test]
fn a_preset_prompt_pattern_wins() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default()
        .with_prompt(r"^\s*Ask anything")
        .unwrap();
    let s = snap(&["Ask anything..."], (5, 0), Some(0), t0);
    assert_eq!(
        assess(&s, t0, at(t0, 1000), false, &cfg),
        Ok(ReadyBy::Prompt)
    );
    assert!(ReadinessConfig::default().with_prompt("(").is_err());
}

#[test]
fn dialogs_keep_the_agent_not_ready_even_after_the_fallback() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default()
        .with_dialog(r"(?i)allow this tool\?")
        .unwrap();
    let s = snap(
        &[
            "Do you trust the files in this folder?",
            "❯ 1. Yes, proceed",
        ],
        (1, 2),
        Some(0),
        t0,
    );
    match assess(&s, t0, at(t0, 60_000), false, &cfg) {
        Err(NotReady::Dialog { line, .. }) => {
            assert_eq!(line, "Do you trust the files in this folder?")
        }
        other => panic!("{other:?}"),
    }
    let s = snap(&["Allow this tool? (y/n) "], (0, 23), Some(0), t0);
    assert!(matches!(
        assess(&s, t0, at(t0, 1000), false, &cfg),
        Err(NotReady::Dialog { .. })
    ));
}

#[test]
fn a_dialog_wins_over_the_fallback_whatever_else_is_on_screen() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default().with_prompt(r"^> ").unwrap();
    // A prompt line under the dialog and hours of uptime change nothing.
    let s = snap(
        &["Do you trust the files in this folder?", "> "],
        (1, 2),
        Some(0),
        t0,
    );
    for late in [15_000, 3_600_000] {
        assert!(matches!(
            assess(&s, t0, at(t0, late), false, &cfg),
            Err(NotReady::Dialog { .. })
        ));
    }
    // Still being drawn: a dialog, not merely busy.
    let drawing = snap(&["Do you trust the files"], (0, 22), Some(20_000), t0);
    assert!(matches!(
        assess(&drawing, t0, at(t0, 20_010), false, &cfg),
        Err(NotReady::Dialog { .. })
    ));
}

#[test]
fn immediate_mode_refuses_only_dialogs_and_exits() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    // Busy, blank, no prompt: immediate mode does not wait for any of it.
    let busy = snap(&["thinking… 0.3s"], (5, 0), Some(1000), t0);
    assert_eq!(accepts_keys_now(&busy, false, &cfg), Ok(()));
    let blank = snap(&[], (0, 0), None, t0);
    assert_eq!(accepts_keys_now(&blank, false, &cfg), Ok(()));
    assert_eq!(accepts_keys_now(&busy, true, &cfg), Err(NotReady::Exited));
    // A dialog, even one whose output is still flowing.
    let dialog = snap(
        &["", "  Do you trust the files in this folder?  "],
        (0, 0),
        Some(1000),
        t0,
    );
    match accepts_keys_now(&dialog, false, &cfg) {
        Err(NotReady::Dialog { line, .. }) => {
            assert_eq!(line, "Do you trust the files in this folder?")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn exited_is_never_ready_and_activity_follows_output() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let s = snap(&["$ "], (0, 2), Some(0), t0);
    assert_eq!(
        assess(&s, t0, at(t0, 99_000), true, &cfg),
        Err(NotReady::Exited)
    );
    assert_eq!(activity(&s, at(t0, 10), cfg.quiet), Activity::Busy);
    assert_eq!(activity(&s, at(t0, 500), cfg.quiet), Activity::Idle);
    assert_eq!(
        serde_json::to_string(&ReadyBy::Fallback).unwrap(),
        "\"fallback\""
    );
}
