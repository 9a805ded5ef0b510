use super::*;
use crate::verify::{Expectation, count, find_echo};

const TEXT: &str = "[courier] from alice to you (direct) | msg 01A\nhello world";

fn snap(rows: &[&str], cursor: (u16, u16)) -> Snapshot {
    Snapshot::of_rows(rows, cursor)
}

/// A bordered composer at the bottom, `box_rows` inside it, cursor on the last.
fn composer(top: &[&str], box_rows: &[&str]) -> Snapshot {
    let mut rows: Vec<String> = top.iter().map(|s| s.to_string()).collect();
    rows.push("╭──────────────────────────────────────────────────╮".into());
    for r in box_rows {
        rows.push(format!("│ {r:<48} │"));
    }
    rows.push("╰──────────────────────────────────────────────────╯".into());
    rows.push("  ? for shortcuts".into());
    let cursor_row = (rows.len() - 3) as u16;
    let col = 2 + box_rows.last().map_or(0, |r| r.chars().count()) as u16;
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    snap(&refs, (cursor_row, col))
}

fn typed() -> Snapshot {
    composer(
        &["✻ agent", ""],
        &[
            "> [courier] from alice to you (direct) | msg 01A",
            "  hello world",
        ],
    )
}

fn at_enter(before: &Snapshot, typed: &Snapshot) -> AtEnter {
    AtEnter::new(
        typed,
        &Expectation::new(TEXT, vec![]),
        PromptLine::of(before, None, false),
        false,
    )
}

fn empty_composer(top: &[&str]) -> Snapshot {
    composer(top, &["> "])
}

#[test]
fn the_echo_is_found_in_the_composer_first() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = empty_composer(&["✻ agent", ""]);
    let base = count(&before, &exp);
    assert!(find_echo(&typed(), &exp, &base).is_some());
}

#[test]
fn a_composer_that_moved_the_text_to_its_transcript_submitted_it() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = empty_composer(&["✻ agent", ""]);
    let enter = at_enter(&before, &typed());
    let after = empty_composer(&[
        "✻ agent",
        "",
        "you: [courier] from alice to you (direct) | msg 01A",
        "     hello world",
    ]);
    assert_eq!(
        judge(&after, &exp, &enter),
        Submission::Submitted(SubmittedBy::FreshPrompt)
    );
    // Emptied, and no transcript of it on screen.
    let cleared = empty_composer(&["✻ agent", ""]);
    assert_eq!(
        judge(&cleared, &exp, &enter),
        Submission::Submitted(SubmittedBy::Cleared)
    );
}

#[test]
fn enter_as_a_newline_is_not_a_submission() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = empty_composer(&["✻ agent", ""]);
    let enter = at_enter(&before, &typed());
    // The cursor moved down onto a new, empty row; the status line moved too.
    let newline = composer(
        &["✻ agent", ""],
        &[
            "> [courier] from alice to you (direct) | msg 01A",
            "  hello world",
            "  ",
        ],
    );
    assert_eq!(judge(&newline, &exp, &enter), Submission::InInput);
}

#[test]
fn a_dropped_enter_or_a_continuation_row_is_not_a_submission() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = empty_composer(&["✻ agent", ""]);
    let enter = at_enter(&before, &typed());
    assert_eq!(judge(&typed(), &exp, &enter), Submission::InInput);
    let continued = composer(
        &["✻ agent", ""],
        &[
            "> [courier] from alice to you (direct) | msg 01A",
            "... hello world",
            "... ",
        ],
    );
    assert_eq!(judge(&continued, &exp, &enter), Submission::InInput);
}

#[test]
fn a_line_program_is_submitted_by_its_next_prompt_or_its_output() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = snap(&["Python 3.11", ">>> "], (1, 4));
    let typed = snap(
        &[
            "Python 3.11",
            ">>> [courier] from alice to you (direct) | msg 01A",
            "... hello world",
        ],
        (2, 15),
    );
    let enter = AtEnter::new(&typed, &exp, PromptLine::of(&before, None, false), false);
    let prompt_again = snap(
        &[
            "Python 3.11",
            ">>> [courier] from alice to you (direct) | msg 01A",
            "... hello world",
            ">>> ",
        ],
        (3, 4),
    );
    assert_eq!(
        judge(&prompt_again, &exp, &enter),
        Submission::Submitted(SubmittedBy::FreshPrompt)
    );
    let output = snap(
        &[
            "Python 3.11",
            ">>> [courier] from alice to you (direct) | msg 01A",
            "... hello world",
            "SyntaxError: invalid syntax",
        ],
        (3, 27),
    );
    assert_eq!(
        judge(&output, &exp, &enter),
        Submission::Submitted(SubmittedBy::Output)
    );
    // The editor asks for more: a continuation prompt is not output.
    let more = snap(
        &[
            "Python 3.11",
            ">>> [courier] from alice to you (direct) | msg 01A",
            "... hello world",
            "... ",
        ],
        (3, 4),
    );
    assert_eq!(judge(&more, &exp, &enter), Submission::InInput);
}

#[test]
fn in_canonical_mode_the_kernel_hands_the_line_over() {
    let exp = Expectation::new("[courier] from a to you (direct) | msg 01B ⏎ hi", vec![]);
    let typed = snap(
        &["[courier] from a to you (direct) | msg 01B ⏎ hi"],
        (0, 47),
    );
    let after = snap(
        &["[courier] from a to you (direct) | msg 01B ⏎ hi", ""],
        (1, 0),
    );
    let raw = AtEnter::new(&typed, &exp, None, false);
    assert_eq!(judge(&after, &exp, &raw), Submission::InInput);
    // `cat` prints the line back: a second copy.
    let printed = snap(
        &[typed.rows[0].as_str(), typed.rows[0].as_str(), ""],
        (2, 0),
    );
    assert_eq!(
        judge(&printed, &exp, &raw),
        Submission::Submitted(SubmittedBy::Output)
    );
    let canonical = AtEnter::new(
        &typed,
        &exp,
        PromptLine::of(&snap(&[""], (0, 0)), None, true),
        true,
    );
    assert_eq!(
        judge(&after, &exp, &canonical),
        Submission::Submitted(SubmittedBy::LineDiscipline)
    );
}

#[test]
fn a_half_drawn_frame_is_never_judged() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = empty_composer(&["✻ agent", ""]);
    let enter = at_enter(&before, &typed());
    let mut blank = snap(&["", "", ""], (2, 0));
    blank.mid_frame = true;
    assert_eq!(judge(&blank, &exp, &enter), Submission::MidFrame);
}

#[test]
fn another_message_with_the_same_start_is_not_this_one() {
    let exp = Expectation::new(TEXT, vec![]);
    assert_eq!(exp.trace, "msg01A");
    let before = empty_composer(&["✻ agent", ""]);
    let enter = at_enter(&before, &typed());
    let other = empty_composer(&[
        "✻ agent",
        "",
        "you: [courier] from alice to you (direct) | msg 01Z",
    ]);
    assert_eq!(
        judge(&other, &exp, &enter),
        Submission::Submitted(SubmittedBy::Cleared)
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A composer at the bottom of a screen: transcript rows, then the
    /// input (`> ` on its first row, indented after), a status line.
    fn screen(transcript: &[String], input: &[String], extra: &[&str]) -> Snapshot {
        let mut rows: Vec<String> = transcript.to_vec();
        for (i, line) in input.iter().enumerate() {
            rows.push(if i == 0 {
                format!("> {line}")
            } else {
                format!("  {line}")
            });
        }
        rows.extend(extra.iter().map(|s| s.to_string()));
        let cursor_row = rows.len() - 1;
        let col = rows[cursor_row].chars().count();
        rows.push("  ? for shortcuts".into());
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        snap(&refs, (cursor_row as u16, col as u16))
    }

    fn body() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-z]{1,8}( [a-z]{1,8}){0,5}", 1..4)
    }

    fn transcript() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("(you|assistant): [a-z ]{0,30}", 0..5)
    }

    /// What a composer adds under text it kept: an empty row, indentation,
    /// a continuation prompt.
    fn kept_rows() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(
            prop::sample::select(vec!["", "  ", "... ", "   ...: "]),
            0..4,
        )
    }

    proptest! {
        #[test]
        fn text_kept_in_the_input_is_never_submitted(
            lines in body(),
            history in transcript(),
            kept in kept_rows(),
        ) {
            let mut input = vec!["[courier] from alice to you (direct) | msg 01P".to_string()];
            input.extend(lines);
            let text = input.join("\n");
            let exp = Expectation::new(&text, vec![]);
            let before = screen(&history, &[String::new()], &[]);
            let typed = screen(&history, &input, &[]);
            let enter = AtEnter::new(&typed, &exp, PromptLine::of(&before, None, false), false);
            let after = screen(&history, &input, &kept);
            prop_assert_eq!(judge(&after, &exp, &enter), Submission::InInput);
        }

        #[test]
        fn text_moved_to_the_transcript_with_a_fresh_prompt_is_submitted(
            lines in body(),
            history in transcript(),
        ) {
            let mut input = vec!["[courier] from alice to you (direct) | msg 01P".to_string()];
            input.extend(lines);
            let text = input.join("\n");
            let exp = Expectation::new(&text, vec![]);
            let before = screen(&history, &[String::new()], &[]);
            let typed = screen(&history, &input, &[]);
            let enter = AtEnter::new(&typed, &exp, PromptLine::of(&before, None, false), false);
            let mut moved = history.clone();
            moved.extend(input.iter().enumerate().map(|(i, l)| {
                if i == 0 { format!("you: {l}") } else { format!("     {l}") }
            }));
            let after = screen(&moved, &[String::new()], &[]);
            prop_assert!(matches!(judge(&after, &exp, &enter), Submission::Submitted(_)));
        }
    }
}
