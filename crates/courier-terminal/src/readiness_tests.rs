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
        mid_frame: false,
        mid_frame_since: None,
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
        assess(&none, t0, at(t0, 5000), false, None, &cfg),
        Err(NotReady::NoOutput)
    );
    let blank = snap(&["   "], (0, 3), Some(10), t0);
    assert_eq!(
        assess(&blank, t0, at(t0, 5000), false, None, &cfg),
        Err(NotReady::BlankScreen)
    );
    // Drawn and blank: waiting longer does not make typing into it safe.
    for late in [15_000, 60_000, 3_600_000] {
        assert_eq!(
            assess(&blank, t0, at(t0, late), false, None, &cfg),
            Err(NotReady::BlankScreen)
        );
    }
    // Nothing printed at all (`cat`): only the fallback can make it ready.
    assert_eq!(
        assess(&none, t0, at(t0, 15_000), false, None, &cfg),
        Ok(ReadyBy::Fallback)
    );
}

#[test]
fn next_deadline_is_always_in_the_future() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let blank = snap(&["   "], (0, 3), Some(10), t0);
    // Quiet window pending, then the kernel's re-check (its answer changes
    // without output), never later than the fallback.
    assert_eq!(next_deadline(&blank, t0, at(t0, 50), &cfg), at(t0, 160));
    assert_eq!(
        next_deadline(&blank, t0, at(t0, 5000), &cfg),
        at(t0, 5000) + KERNEL_RECHECK
    );
    assert_eq!(
        next_deadline(&blank, t0, at(t0, 14_900), &cfg),
        at(t0, 15_000)
    );
    let late = at(t0, 20_000);
    assert_eq!(next_deadline(&blank, t0, late, &cfg), late + KERNEL_RECHECK);
    let none = snap(&[], (0, 0), None, t0);
    assert_eq!(next_deadline(&none, t0, late, &cfg), late + KERNEL_RECHECK);
}

#[test]
fn a_prompt_is_ready_only_after_the_quiet_window() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let s = snap(&["$ "], (0, 2), Some(70), t0);
    assert_eq!(
        assess(&s, t0, at(t0, 100), false, None, &cfg),
        Err(NotReady::Busy)
    );
    assert_eq!(
        assess(&s, t0, at(t0, 219), false, None, &cfg),
        Err(NotReady::Busy)
    );
    assert_eq!(
        assess(&s, t0, at(t0, 220), false, None, &cfg),
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
            None,
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
        assess(&s, t0, at(t0, 1000), false, None, &cfg),
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
    match assess(&s, t0, at(t0, 60_000), false, None, &cfg) {
        Err(NotReady::Dialog { line, .. }) => {
            assert_eq!(line, "Do you trust the files in this folder?")
        }
        other => panic!("{other:?}"),
    }
    let s = snap(&["Allow this tool? (y/n) "], (0, 23), Some(0), t0);
    assert!(matches!(
        assess(&s, t0, at(t0, 1000), false, None, &cfg),
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
            assess(&s, t0, at(t0, late), false, None, &cfg),
            Err(NotReady::Dialog { .. })
        ));
    }
    // Still being drawn: a dialog, not merely busy.
    let drawing = snap(&["Do you trust the files"], (0, 22), Some(20_000), t0);
    assert!(matches!(
        assess(&drawing, t0, at(t0, 20_010), false, None, &cfg),
        Err(NotReady::Dialog { .. })
    ));
}

#[test]
fn immediate_mode_refuses_only_dialogs_drafts_and_exits() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    // Busy, blank, no prompt: immediate mode does not wait for any of it.
    let busy = snap(&["thinking… 0.3s"], (5, 0), Some(1000), t0);
    assert_eq!(accepts_keys_now(&busy, false, None, &cfg), Ok(()));
    let blank = snap(&[], (0, 0), None, t0);
    assert_eq!(accepts_keys_now(&blank, false, None, &cfg), Ok(()));
    assert_eq!(
        accepts_keys_now(&busy, true, None, &cfg),
        Err(NotReady::Exited)
    );
    // A dialog, even one whose output is still flowing.
    let dialog = snap(
        &["", "  Do you trust the files in this folder?  "],
        (0, 0),
        Some(1000),
        t0,
    );
    match accepts_keys_now(&dialog, false, None, &cfg) {
        Err(NotReady::Dialog { line, .. }) => {
            assert_eq!(line, "Do you trust the files in this folder?")
        }
        other => panic!("{other:?}"),
    }
    let draft = snap(&["> a person's draft"], (0, 18), Some(1000), t0);
    assert_eq!(
        accepts_keys_now(&draft, false, None, &cfg),
        Err(NotReady::InputNotEmpty)
    );
}

#[test]
fn exited_is_never_ready_and_activity_follows_output() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let s = snap(&["$ "], (0, 2), Some(0), t0);
    assert_eq!(
        assess(&s, t0, at(t0, 99_000), true, None, &cfg),
        Err(NotReady::Exited)
    );
    assert_eq!(activity(&s, at(t0, 10), cfg.quiet), Activity::Busy);
    assert_eq!(activity(&s, at(t0, 500), cfg.quiet), Activity::Idle);
    assert_eq!(
        serde_json::to_string(&ReadyBy::Fallback).unwrap(),
        "\"fallback\""
    );
}

#[test]
fn a_line_program_the_kernel_sees_reading_is_ready_without_a_prompt() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let reading = TtyState {
        canonical: true,
        echo: true,
        foreground_pgid: Some(1),
        foreground_reading: true,
    };
    let sleeping = TtyState {
        foreground_reading: false,
        ..reading
    };
    let raw = TtyState {
        canonical: false,
        ..reading
    };
    let none = snap(&[], (0, 0), None, t0);
    let early = at(t0, cfg.quiet.as_millis() as u64 - 1);
    assert_eq!(
        assess(&none, t0, early, false, Some(&reading), &cfg),
        Err(NotReady::NoOutput)
    );
    let soon = at(t0, 300);
    assert_eq!(
        assess(&none, t0, soon, false, Some(&reading), &cfg),
        Ok(ReadyBy::ReadingLine)
    );
    for other in [sleeping, raw] {
        assert_eq!(
            assess(&none, t0, soon, false, Some(&other), &cfg),
            Err(NotReady::NoOutput)
        );
    }
    // After a first line: its echo on screen, the cursor at a line start.
    let echoed = snap(&["hello", "hello", ""], (2, 0), Some(0), t0);
    assert_eq!(
        assess(&echoed, t0, soon, false, Some(&reading), &cfg),
        Ok(ReadyBy::ReadingLine)
    );
    assert_eq!(
        assess(&echoed, t0, soon, false, Some(&raw), &cfg),
        Err(NotReady::NoPrompt)
    );
}

#[test]
fn a_draft_or_a_half_drawn_frame_is_never_ready() {
    let t0 = Instant::now();
    let cfg = ReadinessConfig::default();
    let draft = snap(&["│ > half a thought"], (0, 18), Some(0), t0);
    for when in [1000, 60_000] {
        assert_eq!(
            assess(&draft, t0, at(t0, when), false, None, &cfg),
            Err(NotReady::InputNotEmpty)
        );
    }
    let mut frame = snap(&["│ > "], (0, 4), Some(0), t0);
    frame.mid_frame = true;
    assert_eq!(
        assess(&frame, t0, at(t0, 1000), false, None, &cfg),
        Err(NotReady::Busy)
    );
}
