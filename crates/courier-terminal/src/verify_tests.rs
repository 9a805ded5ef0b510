use regex::Regex;

use super::*;

fn snap(rows: &[&str], cursor: (u16, u16)) -> Snapshot {
    Snapshot {
        rows: rows.iter().map(|s| s.to_string()).collect(),
        scrollback: vec![],
        cursor,
        cursor_hidden: false,
        alternate_screen: true,
        bracketed_paste: true,
        size: (rows.len() as u16, 40),
        first_output_at: None,
        last_output_at: None,
        output_bytes: 0,
        seq: 0,
    }
}

const TEXT: &str = "[courier] from alice to you (direct) | msg 01A\nhello world";

#[test]
fn echo_in_a_wrapping_box_is_found_then_submission_seen() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = snap(
        &[
            "",
            "╭────────────────╮",
            "│ >              │",
            "╰────────────────╯",
        ],
        (2, 4),
    );
    let base = count(&before, &exp);
    assert_eq!(find_echo(&before, &exp, &base), None);
    assert!(!has_trace(&before, &exp, &base));
    let typed = snap(
        &[
            "╭────────────────╮",
            "│ > [courier] fro│",
            "│ m alice to you │",
            "│ (direct) | msg │",
            "│ 01A            │",
            "│ hello world    │",
            "╰────────────────╯",
        ],
        (5, 13),
    );
    let echo = find_echo(&typed, &exp, &base).expect("echo");
    assert_eq!((echo.kind, echo.first, echo.last), (EchoKind::Full, 1, 5));
    assert!(!submitted(&typed, &exp, &echo));
    let after = snap(
        &[
            "you: [courier] from alice to you (direct)",
            "╭────────────────╮",
            "│ >              │",
            "╰────────────────╯",
            "",
            "",
            "",
        ],
        (2, 4),
    );
    assert!(submitted(&after, &exp, &echo));
}

#[test]
fn text_already_on_screen_is_no_proof() {
    let exp = Expectation::new("hello world", vec![]);
    let old = snap(&["you: hello world", "> "], (1, 2));
    let base = count(&old, &exp);
    assert_eq!(find_echo(&old, &exp, &base), None);
    let typed = snap(&["you: hello world", "> hello world"], (1, 13));
    assert!(find_echo(&typed, &exp, &base).is_some());
}

#[test]
fn a_prefix_is_a_trace_but_not_an_echo() {
    let exp = Expectation::new(TEXT, vec![]);
    let base = count(&snap(&["> "], (0, 2)), &exp);
    let partial = snap(&["> [courier] from alice to"], (0, 25));
    assert_eq!(find_echo(&partial, &exp, &base), None);
    assert!(has_trace(&partial, &exp, &base));
}

#[test]
fn collapsed_placeholder_counts_as_echo() {
    let re = Regex::new(r"\[Pasted text #\d+ \+\d+ lines\]").unwrap();
    let exp = Expectation::new(TEXT, vec![re]);
    let base = count(&snap(&["> "], (0, 2)), &exp);
    let typed = snap(&["you: earlier", "> [Pasted text #1 +12 lines]"], (1, 28));
    let echo = find_echo(&typed, &exp, &base).expect("placeholder");
    assert_eq!((echo.kind, echo.first), (EchoKind::Collapsed, 1));
    assert!(!submitted(&typed, &exp, &echo));
    assert!(submitted(
        &snap(&["you: [courier] from", "> "], (1, 2)),
        &exp,
        &echo
    ));
}

#[test]
fn long_text_is_proved_by_head_and_tail_with_the_middle_scrolled_away() {
    let body: String = (0..40).map(|i| format!("line number {i}\n")).collect();
    let text = format!("[courier] from a to you (direct) | msg 01LONG\n{body}the end");
    let exp = Expectation::new(&text, vec![]);
    let base = Counts::default();
    let mut rows: Vec<String> = (34..40).map(|i| format!("line number {i}")).collect();
    rows.push("the end".into());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let mut s = snap(&rows, (6, 7));
    s.scrollback = vec!["$ [courier] from a to you (direct) | msg 01LONG".into()];
    let echo = find_echo(&s, &exp, &base).expect("head and tail");
    assert_eq!((echo.kind, echo.last), (EchoKind::HeadAndTail, 6));
}

#[test]
fn line_programs_submit_by_moving_the_cursor_down_or_scrolling() {
    let exp = Expectation::new("hi there", vec![]);
    let typed = snap(&["$ hi there", ""], (0, 10));
    let echo = find_echo(&typed, &exp, &Counts::default()).unwrap();
    assert!(!submitted(&typed, &exp, &echo));
    assert!(submitted(&snap(&["$ hi there", "$ "], (1, 2)), &exp, &echo));
    // At the bottom of the screen the echo scrolls up and the cursor stays.
    assert!(submitted(&snap(&["$ "], (0, 2)), &exp, &echo));
}
