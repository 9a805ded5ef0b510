use regex::Regex;

use super::*;

fn snap(rows: &[&str], cursor: (u16, u16)) -> Snapshot {
    Snapshot::of_rows(rows, cursor)
}

const TEXT: &str = "[courier] from alice to you (direct) | msg 01A\nhello world";

#[test]
fn echo_in_a_wrapping_box_is_found_and_located() {
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
    assert_eq!(text_rows(&typed, &exp), Some((1, 5)));
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
fn only_what_names_this_message_is_a_trace() {
    let exp = Expectation::new(TEXT, vec![]);
    let base = count(&snap(&["> "], (0, 2)), &exp);
    // Its header, with its id: a trace, not an echo.
    let partial = snap(
        &["> [courier] from alice to you (direct) | msg 01A"],
        (0, 47),
    );
    assert_eq!(find_echo(&partial, &exp, &base), None);
    assert!(has_trace(&partial, &exp, &base));
    // The start every message shares, or another message: no trace.
    for other in [
        "> [courier] from alice to",
        "you: [courier] from alice to you (direct) | msg 01B",
    ] {
        assert!(!has_trace(&snap(&[other], (0, 2)), &exp, &base), "{other}");
    }
    // Text without a message id falls back to its first characters.
    assert_eq!(
        Expectation::new("plain words here", vec![]).trace,
        "plainwordshe"
    );
}

#[test]
fn collapsed_placeholder_counts_as_echo() {
    let re = Regex::new(r"\[Pasted text #\d+ \+\d+ lines\]").unwrap();
    let exp = Expectation::new(TEXT, vec![re]);
    let base = count(&snap(&["> "], (0, 2)), &exp);
    let typed = snap(&["you: earlier", "> [Pasted text #1 +12 lines]"], (1, 28));
    let echo = find_echo(&typed, &exp, &base).expect("placeholder");
    assert_eq!((echo.kind, echo.first), (EchoKind::Collapsed, 1));
    assert_eq!(text_rows(&typed, &exp), Some((1, 1)));
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
