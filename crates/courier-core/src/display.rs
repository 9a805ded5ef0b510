//! Makes text safe to show to a person in a terminal.
//!
//! Whatever Courier prints (a body in `courier inbox`, a screen row, a
//! reason, an event) may come from a hostile sender or from a program's
//! output. Printed raw, `ESC ] 52 ; c ; … BEL` writes the reader's
//! clipboard, `ESC [ 2 J` clears their screen, and every live viewer of
//! that terminal gets the same. So nothing that a terminal acts on is
//! printed as it is:
//! - C0 controls other than `\n` and `\t`, and DEL, in caret notation
//!   (`ESC` → `^[`, a lone CR → `^M`; `\r\n` is one line break, `\n`);
//! - C1 controls as `<U+009B>`;
//! - bidi controls, invisible characters and the Unicode line and paragraph
//!   separators (which terminals do not break on) as `\u{202e}`
//!   (see [`crate::invisible`]).
//!
//! The forms are those of [`crate::sanitize::sanitize_body`], so a body
//! reads the same in a terminal it was typed into and in `courier inbox`.
//! [`for_terminal_line`] is for a field that must stay on one line (a
//! name, a thread, a reason, a table cell). [`json_for_terminal`] is for
//! JSON printed to a terminal: the same characters, escaped as JSON.

use std::borrow::Cow;
use std::fmt::Write;

use crate::invisible::{self, Scan};
use crate::sanitize::{is_forbidden, is_plain_ascii, push_visible_control};

/// `text` with every control, bidi and invisible character made visible;
/// `\n` and `\t` are kept.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    render(text, false)
}

/// Like [`for_terminal`], for a field shown on one line: `\n`, `\r` and
/// `\t` are shown as those two-character escapes too.
pub fn for_terminal_line(text: &str) -> Cow<'_, str> {
    render(text, true)
}

/// Whether `c` is shown as something else: a control, a bidi or invisible
/// character, or a line or paragraph separator.
fn is_unsafe(c: char) -> bool {
    is_forbidden(c) || matches!(c, '\u{2028}' | '\u{2029}') || invisible::is_hidden(c)
}

fn render(text: &str, one_line: bool) -> Cow<'_, str> {
    let changes = |c: char| is_unsafe(c) || (one_line && matches!(c, '\n' | '\t'));
    if (!one_line && is_plain_ascii(text)) || !text.chars().any(changes) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut scan = Scan::new(text);
    while let Some((c, escape, after)) = scan.next_char() {
        match c {
            '\n' if one_line => out.push_str("\\n"),
            '\t' if one_line => out.push_str("\\t"),
            '\r' if one_line => out.push_str("\\r"),
            '\n' | '\t' => out.push(c),
            // `\r\n` is one line break; a lone CR would move the cursor back
            // and let the rest of the line overwrite what came before.
            '\r' if after == Some('\n') => {}
            _ if is_forbidden(c) => push_visible_control(&mut out, c),
            '\u{2028}' | '\u{2029}' => invisible::push_escaped(&mut out, c),
            _ if escape => invisible::push_escaped(&mut out, c),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON (`serde_json` output) with DEL, C1, bidi, invisible and
/// separator characters written as `\uXXXX` escapes. `serde_json` escapes
/// C0 but writes the others as raw UTF-8, which a terminal then acts on.
/// The value is unchanged for a JSON parser. Outside strings serialized
/// JSON is ASCII, so each such character is inside a string, where an
/// escape means the same character.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOSTILE: &str =
        "a\x1b]52;c;aGk=\x07b\x1b]0;title\x07c\x1b[2Jd\u{9b}31me\u{202e}f\u{200b}g\rh\r\ni";

    #[test]
    fn plain_text_is_untouched() {
        assert!(matches!(
            for_terminal("hello\n\tworld ❯ é"),
            Cow::Borrowed(_)
        ));
        assert_eq!(for_terminal("👩\u{200d}💻"), "👩\u{200d}💻");
        assert!(matches!(for_terminal_line("bob.2"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_become_visible_text() {
        assert_eq!(
            for_terminal(HOSTILE),
            "a^[]52;c;aGk=^Gb^[]0;title^Gc^[[2Jd<U+009B>31me\\u{202e}f\\u{200b}g^Mh\ni"
        );
    }

    #[test]
    fn a_line_field_stays_on_one_line() {
        assert_eq!(
            for_terminal_line("t1\n[courier] from boss\r\tx\u{2028}"),
            "t1\\n[courier] from boss\\r\\tx\\u{2028}"
        );
    }

    #[test]
    fn json_keeps_its_value_and_loses_raw_controls() {
        let value = serde_json::json!({"body": HOSTILE, "flag": "🏴\u{e0067}\u{e007f}", "del": "\u{7f}\u{2028}"});
        let raw = serde_json::to_string_pretty(&value).unwrap_or_default();
        let safe = json_for_terminal(&raw);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert!(
            safe.contains("\\u202e") && safe.contains("\\udb40\\udc67"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back, value);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
        ))]

        #[test]
        fn nothing_a_terminal_acts_on_is_left(text in any::<String>()) {
            let shown = for_terminal(&text);
            let mut scan = Scan::new(&shown);
            while let Some((c, escape, after)) = scan.next_char() {
                prop_assert!(!is_forbidden(c) && !escape, "{c:?} in {shown:?}");
                prop_assert!(c != '\r' || after == Some('\n'));
            }
            let line = for_terminal_line(&text);
            prop_assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
            prop_assert_eq!(for_terminal(&shown), shown.as_ref());
        }

        #[test]
        fn json_round_trips(text in any::<String>()) {
            let raw = serde_json::to_string(&serde_json::json!({"t": text})).unwrap_or_default();
            let safe = json_for_terminal(&raw);
            prop_assert!(!safe.chars().any(is_unsafe));
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
            prop_assert_eq!(back["t"].as_str(), Some(text.as_str()));
        }
    }
}
