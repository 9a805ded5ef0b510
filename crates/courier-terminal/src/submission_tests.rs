use super::*;
use crate::input_line;
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

/// What was seen (issue 19, case 3): an editor that keeps input it cannot
/// parse draws the error under it and leaves the cursor in it. The error
/// line is not output after a submission, wherever in the text the cursor
/// was put back; the hold check sees the same text in the input.
#[test]
fn an_error_drawn_under_text_the_editor_keeps_is_not_a_submission() {
    let exp = Expectation::new(TEXT, vec![]);
    let before = snap(&["Python 3.11", ">>> "], (1, 4));
    let typed_rows = [
        "Python 3.11",
        ">>> [courier] from alice to you (direct) | msg 01A",
        "... hello world",
    ];
    let in_editor = snap(&typed_rows, (2, 15));
    let enter = AtEnter::new(
        &in_editor,
        &exp,
        PromptLine::of(&before, None, false),
        false,
    );
    let mut rejected_rows = typed_rows.to_vec();
    rejected_rows.push("SyntaxError: invalid syntax");
    // The end of the text, the error's position, the first column after the
    // prompt, a continuation prompt.
    for cursor in [(2, 15), (1, 5), (1, 4), (2, 4)] {
        let rejected = snap(&rejected_rows, cursor);
        assert_eq!(
            judge(&rejected, &exp, &enter),
            Submission::InInput,
            "{cursor:?}"
        );
        assert!(input_line::holds_text(&rejected, &exp, None, false));
        assert_eq!(
            input_line::hold(&rejected, None, false, Some(&exp)),
            Some(input_line::Hold::LeftOver)
        );
    }
    // A full-screen composer: the error under its box.
    let boxed = composer(
        &["✻ agent", ""],
        &[
            "> [courier] from alice to you (direct) | msg 01A",
            "  hello world",
        ],
    );
    let mut rows = boxed.rows.clone();
    rows.insert(rows.len() - 1, "SyntaxError: invalid syntax".into());
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let box_enter = at_enter(&empty_composer(&["✻ agent", ""]), &typed());
    let rejected = snap(&refs, boxed.cursor);
    assert_eq!(judge(&rejected, &exp, &box_enter), Submission::InInput);
    // Plain python took the line: the error, then a fresh prompt.
    let mut taken_rows = rejected_rows.clone();
    taken_rows.push(">>> ");
    let taken = snap(&taken_rows, (4, 4));
    assert_eq!(
        judge(&taken, &exp, &enter),
        Submission::Submitted(SubmittedBy::FreshPrompt)
    );
    assert!(!input_line::holds_text(&taken, &exp, None, false));
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

    fn screen_at(rows: &[String], cursor: (usize, usize)) -> Snapshot {
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        snap(&refs, (cursor.0 as u16, cursor.1 as u16))
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

    /// Rows a program may draw under an input after Enter: blanks,
    /// continuation prompts, error lines, a status line, a fresh prompt.
    fn under_rows() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(
            prop::sample::select(vec![
                "",
                "... ",
                "   ...: ",
                "SyntaxError: invalid syntax",
                "  File \"<stdin>\", line 1",
                "error: the input does not parse",
                "  ? for shortcuts",
                ">>> ",
                "> ",
            ]),
            0..4,
        )
    }

    /// A REPL-style input (`>>> `, `... `) or a composer's (`> `, indent).
    fn input_rows(input: &[String], repl: bool) -> Vec<String> {
        let (first, more) = if repl { (">>> ", "... ") } else { ("> ", "  ") };
        input
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}{l}", if i == 0 { first } else { more }))
            .collect()
    }

    proptest! {
        /// The invariant: no verdict of "submitted" while the hold check
        /// finds the text in the input, and none while the cursor is on the
        /// text's rows, whatever is drawn under it and wherever the cursor is.
        #[test]
        fn never_submitted_while_the_input_holds_the_text(
            lines in body(),
            history in transcript(),
            repl in any::<bool>(),
            under in under_rows(),
            cursor_pick in any::<prop::sample::Index>(),
            column_pick in any::<prop::sample::Index>(),
        ) {
            let mut input = vec!["[courier] from alice to you (direct) | msg 01P".to_string()];
            input.extend(lines);
            let exp = Expectation::new(&input.join("\n"), vec![]);
            let mut rows = history.clone();
            let prompt_row = rows.len();
            rows.push(if repl { ">>> " } else { "> " }.into());
            let before = screen_at(&rows, (prompt_row, rows[prompt_row].len()));
            rows.truncate(prompt_row);
            rows.extend(input_rows(&input, repl));
            let last = rows.len() - 1;
            let typed = screen_at(&rows, (last, rows[last].chars().count()));
            let enter = AtEnter::new(&typed, &exp, PromptLine::of(&before, None, false), false);
            rows.extend(under.iter().map(|s| s.to_string()));
            // Anywhere from the text's first row down.
            let row = prompt_row + cursor_pick.index(rows.len() - prompt_row);
            let col = column_pick.index(rows[row].chars().count() + 1);
            let after = screen_at(&rows, (row, col));
            let verdict = judge(&after, &exp, &enter);
            if let Submission::Submitted(by) = verdict {
                prop_assert!(
                    !input_line::holds_text(&after, &exp, None, false),
                    "submitted by {:?} while held: {:#?}", by, after.rows
                );
                prop_assert!(row > last, "cursor on the text: {:?}", by);
            }
            if row <= last {
                prop_assert_eq!(verdict, Submission::InInput);
            }
        }

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
