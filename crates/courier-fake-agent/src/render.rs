//! Screen drawing as pure string functions (unit-tested without a terminal).

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How the input box looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxStyle {
    /// Prompt glyph, e.g. `>` or `❯`.
    pub prompt: String,
    /// What follows the glyph: `' '` or U+00A0.
    pub sep: char,
    /// Draw `╭─╮ │ │ ╰─╯` around the input.
    pub border: bool,
    /// Total box width in columns (borders included).
    pub width: usize,
    /// Drawn before each continued line of the input (`... `, `   ...: `); `None` indents those
    /// lines by the prompt's width instead.
    pub continuation: Option<String>,
}

/// The rendered input box and where the cursor sits in it (0-based row within the box, 0-based column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBox {
    pub lines: Vec<String>,
    pub cursor: (usize, usize),
}

/// Smallest usable box width; narrower requests are widened.
pub const MIN_BOX_WIDTH: usize = 8;

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Wraps one logical line (no `\n`) at `avail` columns: at the last space when there is one (the space
/// is dropped, like Ink's word wrap), otherwise hard. Always returns at least one (maybe empty) line.
pub fn wrap_line(line: &str, avail: usize) -> Vec<String> {
    let avail = avail.max(1);
    let mut out = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    let mut cur_w = 0;
    for c in line.chars() {
        let w = char_width(c);
        if cur_w + w > avail && !cur.is_empty() {
            if c == ' ' {
                // The line is full right before a space: break here and drop the space.
                out.push(std::mem::take(&mut cur).into_iter().collect());
                cur_w = 0;
                continue;
            }
            match cur.iter().rposition(|&ch| ch == ' ') {
                Some(sp) if sp > 0 => {
                    let rest: Vec<char> = cur[sp + 1..].to_vec();
                    cur.truncate(sp);
                    out.push(cur.iter().collect());
                    cur = rest;
                }
                _ => {
                    out.push(cur.iter().collect());
                    cur.clear();
                }
            }
            cur_w = cur.iter().map(|&ch| char_width(ch)).sum();
        }
        cur.push(c);
        cur_w += w;
    }
    out.push(cur.into_iter().collect());
    out
}

/// Pads `s` with spaces to `width` columns (never truncates).
fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// Draws the input box for the shown input text (placeholders already substituted). The first
/// line starts with the prompt glyph and separator; each further line of the input starts with the
/// continuation prefix (or is indented by the prompt's width), and the wrapped pieces of a line are
/// indented by the width of that line's prefix.
pub fn render_box(shown: &str, style: &BoxStyle) -> RenderedBox {
    let width = style.width.max(MIN_BOX_WIDTH);
    let inner = if style.border { width - 4 } else { width };
    let prefix = format!("{}{}", style.prompt, style.sep);
    let continuation = style
        .continuation
        .clone()
        .unwrap_or_else(|| " ".repeat(prefix.width()));

    let mut content: Vec<String> = Vec::new();
    for (i, logical) in shown.split('\n').enumerate() {
        let lead = if i == 0 { &prefix } else { &continuation };
        // At least one column is left for text, however long the prefix.
        let lead_w = lead.width().min(inner.saturating_sub(1));
        let indent = " ".repeat(lead_w);
        for (j, piece) in wrap_line(logical, inner - lead_w).into_iter().enumerate() {
            let lead = if j == 0 { lead } else { &indent };
            content.push(format!("{lead}{piece}"));
        }
    }
    let last_w = content.last().map_or(0, |l| l.width());
    let mut lines = Vec::new();
    let cursor_row;
    let cursor_col;
    if style.border {
        let bar = "─".repeat(width - 2);
        lines.push(format!("╭{bar}╮"));
        for l in &content {
            lines.push(format!("│ {} │", pad(l, inner)));
        }
        lines.push(format!("╰{bar}╯"));
        cursor_row = content.len();
        cursor_col = (2 + last_w).min(width - 2);
    } else {
        lines.extend(content.iter().map(|l| pad(l, inner)));
        cursor_row = content.len() - 1;
        cursor_col = last_w.min(width - 1);
    }
    RenderedBox {
        lines,
        cursor: (cursor_row, cursor_col),
    }
}

/// What line mode echoes for an input: the prompt, then the shown text with each further line on
/// a new row after the continuation prefix.
pub fn line_echo(prefix: &str, continuation: &str, shown: &str) -> String {
    let mut s = String::from(prefix);
    s.push_str(&shown.replace('\n', &format!("\r\n{continuation}")));
    s
}

/// Moves the cursor from the end of a line-mode echo (see [`line_echo`]) back to its first row and
/// erases from there to the end of the screen, so that something can be printed where the input
/// was and the echo drawn again below it (as readline-style programs do).
pub fn line_erase(prefix: &str, continuation: &str, shown: &str, cols: usize) -> String {
    let cols = cols.max(1);
    let rows: usize = shown
        .split('\n')
        .enumerate()
        .map(|(i, l)| {
            let lead = if i == 0 { prefix } else { continuation };
            let w = lead.width() + l.width();
            // A row filled to the last column keeps the cursor on it (the wrap is pending).
            if w == 0 { 1 } else { (w - 1) / cols + 1 }
        })
        .sum();
    match rows.saturating_sub(1) {
        0 => "\r\x1b[J".to_string(),
        up => format!("\r\x1b[{up}A\x1b[J"),
    }
}

/// The text shown for a collapsed paste.
pub fn placeholder(k: usize, lines: usize) -> String {
    format!("[Pasted text #{k} +{lines} lines]")
}

/// Number of lines of a paste (a single trailing newline does not start a new line).
pub fn line_count(text: &str) -> usize {
    let t = text.strip_suffix('\n').unwrap_or(text);
    t.split('\n').count()
}

/// Wraps transcript lines at the screen width (hard wrap, so nothing is lost).
pub fn wrap_hard(lines: &[String], cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut out = Vec::new();
    for l in lines {
        let mut cur = String::new();
        let mut w = 0;
        for c in l.chars() {
            let cw = char_width(c);
            if w + cw > cols {
                out.push(std::mem::take(&mut cur));
                w = 0;
            }
            cur.push(c);
            w += cw;
        }
        out.push(cur);
    }
    out
}

/// A whole full-screen frame: clear, header and transcript at the top, input box at the bottom,
/// cursor at the end of the input. Wrapped in synchronized-output markers (DECSET 2026).
pub fn frame(
    header: &[String],
    transcript: &[String],
    bx: &RenderedBox,
    rows: usize,
    cols: usize,
) -> String {
    let rows = rows.max(1);
    let mut screen: Vec<String> = Vec::new();
    let box_lines = &bx.lines[bx.lines.len().saturating_sub(rows)..];
    let skipped_box = bx.lines.len() - box_lines.len();
    let room = rows - box_lines.len();
    let mut top = wrap_hard(header, cols);
    top.extend(wrap_hard(transcript, cols));
    let first = top.len().saturating_sub(room);
    screen.extend(top[first..].iter().cloned());
    let box_top = rows - box_lines.len();
    let mut s = String::from("\x1b[?2026h\x1b[H\x1b[2J");
    for (i, line) in screen.iter().enumerate() {
        s.push_str(&format!("\x1b[{};1H{}", i + 1, line));
    }
    for (i, line) in box_lines.iter().enumerate() {
        s.push_str(&format!("\x1b[{};1H{}", box_top + i + 1, line));
    }
    let crow = (box_top + bx.cursor.0).saturating_sub(skipped_box) + 1;
    s.push_str(&format!(
        "\x1b[{};{}H\x1b[?25h\x1b[?2026l",
        crow.min(rows),
        bx.cursor.1 + 1
    ));
    s
}

/// A dialog screen (list of lines) drawn from the top, cursor after the last line.
pub fn dialog_frame(lines: &[String], rows: usize, cols: usize) -> String {
    let mut s = String::from("\x1b[?2026h\x1b[H\x1b[2J");
    let shown = wrap_hard(lines, cols);
    let n = shown.len().min(rows.max(1));
    for (i, line) in shown.iter().take(n).enumerate() {
        s.push_str(&format!("\x1b[{};1H{}", i + 1, line));
    }
    s.push_str(&format!("\x1b[{};1H\x1b[?2026l", (n + 1).min(rows.max(1))));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(border: bool, width: usize) -> BoxStyle {
        BoxStyle {
            prompt: "❯".into(),
            sep: '\u{a0}',
            border,
            width,
            continuation: None,
        }
    }

    #[test]
    fn wrap_at_spaces_and_hard() {
        assert_eq!(wrap_line("hello world foo", 11), vec!["hello world", "foo"]);
        assert_eq!(
            wrap_line("hello world foo", 8),
            vec!["hello", "world", "foo"]
        );
        assert_eq!(wrap_line("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap_line("", 4), vec![""]);
        assert_eq!(wrap_line("ab  cd", 2), vec!["ab", " c", "d"]);
    }

    #[test]
    fn empty_box_with_border() {
        let b = render_box("", &style(true, 12));
        assert_eq!(
            b.lines,
            vec!["╭──────────╮", "│ ❯\u{a0}       │", "╰──────────╯"]
        );
        assert_eq!(b.cursor, (1, 4));
    }

    #[test]
    fn wrapped_box_with_border_and_nbsp() {
        let b = render_box("the quick brown fox jumps", &style(true, 16));
        // inner width 12, prefix 2 → 10 columns of text
        assert_eq!(
            b.lines,
            vec![
                "╭──────────────╮",
                "│ ❯\u{a0}the quick  │",
                "│   brown fox  │",
                "│   jumps      │",
                "╰──────────────╯",
            ]
        );
        assert_eq!(b.cursor, (3, 9));
        for l in &b.lines {
            assert_eq!(l.width(), 16, "{l:?}");
        }
    }

    #[test]
    fn multiline_input_indents_continuation_lines() {
        let s = BoxStyle {
            prompt: ">".into(),
            sep: ' ',
            border: false,
            width: 20,
            continuation: None,
        };
        let b = render_box("first\nsecond", &s);
        assert_eq!(
            b.lines,
            vec!["> first             ", "  second            "]
        );
        assert_eq!(b.cursor, (1, 8));
    }

    #[test]
    fn continuation_prefix_starts_each_further_line_and_wrapped_pieces_align_with_it() {
        let mut s = style(true, 16);
        s.continuation = Some("   ...: ".into());
        // inner width 12: "   ...: " leaves 4 columns of text on continued lines.
        let b = render_box("ab\nxy zw uv\n", &s);
        assert_eq!(
            b.lines,
            vec![
                "╭──────────────╮",
                "│ ❯\u{a0}ab         │",
                "│    ...: xy   │",
                "│         zw   │",
                "│         uv   │",
                "│    ...:      │",
                "╰──────────────╯",
            ]
        );
        // An input ending in a newline puts the cursor on the new, empty continued row.
        assert_eq!(b.cursor, (5, 10));
    }

    #[test]
    fn line_echo_and_erase() {
        assert_eq!(line_echo("> ", "... ", "a\nb"), "> a\r\n... b");
        assert_eq!(line_echo("> ", "", "a\n"), "> a\r\n");
        assert_eq!(line_erase("> ", "", "abc", 80), "\r\x1b[J");
        // "> " + 8 columns fills a 10-column row exactly: still one row; 9 wrap onto a second.
        assert_eq!(line_erase("> ", "", "abcdefgh", 10), "\r\x1b[J");
        assert_eq!(line_erase("> ", "", "abcdefghi", 10), "\r\x1b[1A\x1b[J");
        assert_eq!(line_erase("> ", "... ", "a\nb\n", 80), "\r\x1b[2A\x1b[J");
    }

    #[test]
    fn placeholder_and_line_count() {
        assert_eq!(placeholder(1, 12), "[Pasted text #1 +12 lines]");
        assert_eq!(line_count("a"), 1);
        assert_eq!(line_count("a\nb\n"), 2);
        assert_eq!(line_count("a\nb\nc"), 3);
        let b = render_box(&placeholder(2, 3), &style(true, 40));
        assert_eq!(b.lines[1], "│ ❯\u{a0}[Pasted text #2 +3 lines]          │");
    }

    #[test]
    fn frame_places_box_at_bottom_and_cursor_in_box() {
        let b = render_box("hi", &style(true, 10));
        let f = frame(&["head".into()], &["you: x".into()], &b, 6, 10);
        assert!(f.starts_with("\x1b[?2026h\x1b[H\x1b[2J"));
        assert!(f.contains("\x1b[1;1Hhead\x1b[2;1Hyou: x"));
        assert!(f.contains("\x1b[4;1H╭"));
        assert!(f.contains("\x1b[6;1H╰"));
        assert!(f.ends_with("\x1b[5;7H\x1b[?25h\x1b[?2026l"));
    }

    #[test]
    fn frame_scrolls_transcript_to_latest() {
        let b = render_box("", &style(false, 10));
        let t: Vec<String> = (0..10).map(|i| format!("line{i}")).collect();
        let f = frame(&[], &t, &b, 3, 10);
        assert!(f.contains("\x1b[1;1Hline8\x1b[2;1Hline9\x1b[3;1H❯"));
    }
}
