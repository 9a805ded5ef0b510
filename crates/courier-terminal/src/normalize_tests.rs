use super::*;

#[test]
fn whitespace_borders_glyphs_and_nbsp_vanish() {
    assert_eq!(normalize("hello  world\n\tagain"), "helloworldagain");
    assert_eq!(normalize("│ hello │\n╰─────╯"), "hello");
    assert_eq!(normalize("❯\u{a0}hi there"), "hithere");
    assert_eq!(normalize("a ⏎ b"), "ab");
}

#[test]
fn prompt_tokens_at_a_line_start_are_dropped() {
    assert_eq!(strip_line_start("$ ls"), "ls");
    assert_eq!(strip_line_start(">>> 1+1"), "1+1");
    assert_eq!(strip_line_start("│ > text"), "text");
    assert_eq!(strip_line_start("$"), "");
    // Not a prompt: no space after it.
    assert_eq!(strip_line_start("$HOME"), "$HOME");
    assert_eq!(strip_line_start(">quote"), ">quote");
    // Repeated, so both sides agree whatever prefix the program adds.
    assert_eq!(normalize("> > nested"), "nested");
    assert_eq!(normalize("... > nested"), "nested");
}

#[test]
fn continuation_prompts_before_continued_lines_are_tolerated() {
    let text = "[courier] from a to you (direct) | msg 01C\nfirst\n> quoted\n  indented";
    let expected = normalize(text);
    for cont in ["... ", "   ...: ", "> ", "  "] {
        let rows: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!(">>> {l}")
                } else {
                    format!("{cont}{l}")
                }
            })
            .collect();
        let screen = NormalizedRows::new(rows.iter().map(String::as_str));
        assert_eq!(screen.count(&expected), 1, "{cont:?}: {rows:?}");
    }
}

#[test]
fn text_wrapped_in_a_box_matches_the_original() {
    let rows = [
        "╭──────────────────╮",
        "│ > [courier] from │",
        "│   alice to you (d│",
        "│ irect) | msg 01A │",
        "│ hello wor        │",
        "│ ld               │",
        "╰──────────────────╯",
    ];
    let screen = NormalizedRows::new(rows.iter().copied());
    let expected = normalize("[courier] from alice to you (direct) | msg 01A\nhello world");
    assert_eq!(screen.count(&expected), 1);
    assert_eq!(screen.last_rows(&expected), Some((1, 5)));
    assert_eq!(screen.last_rows("world"), Some((4, 5)));
    assert_eq!(screen.count(""), 0);
    assert_eq!(screen.last_rows("absent"), None);
}

#[test]
fn repeated_row_prompts_and_nbsp_do_not_break_a_match() {
    let rows = ["┃\u{a0}first line", "┃ second", "... third"];
    let screen = NormalizedRows::new(rows.iter().copied());
    assert_eq!(screen.count(&normalize("first line\nsecond\nthird")), 1);
}

#[test]
fn multibyte_text_maps_bytes_to_rows() {
    let screen = NormalizedRows::new(["héllo", "wörld"]);
    assert_eq!(screen.text, "héllowörld");
    assert_eq!(screen.last_rows("ör"), Some((1, 1)));
    assert_eq!(screen.last_rows("oö"), None);
    assert_eq!(screen.last_rows("lowö"), Some((0, 1)));
}
