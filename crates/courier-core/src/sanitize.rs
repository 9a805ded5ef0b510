//! Makes a message body safe to type into a terminal.
//!
//! A body must never end a bracketed paste (`ESC [201~`), move the cursor,
//! ring bells, submit early, or read differently from what it is. So:
//! - newline and tab are kept; every other line or paragraph terminator
//!   becomes `\n`: `\r\n` and a lone `\r` (a carriage return would submit
//!   the line), VT, FF, NEL (U+0085), U+2028 and U+2029 (JavaScript ends a
//!   `//` comment at U+2028, so a framing that comments out each line relies
//!   on seeing every line break as `\n`);
//! - every other C0 control and DEL is made visible in caret notation
//!   (`ESC` → `^[`, so `ESC [201~` shows as the harmless text `^[[201~`);
//! - C1 controls (U+0080–U+009F, which some terminals treat like `ESC x`)
//!   are made visible as `<U+009B>`;
//! - bidi controls and invisible characters are made visible as `\u{202e}`
//!   (see [`crate::invisible`]; a zero-width joiner inside an emoji is kept).
//!
//! Everything it writes is either kept as it was or plain ASCII, so
//! sanitizing twice changes nothing.

use std::borrow::Cow;
use std::fmt::Write;

use crate::invisible::{self, Scan};

/// Whether `c` is a character the sanitizer never lets through as it is
/// (controls; line breaks other than `\n` and hidden characters are
/// rewritten too, see [`is_line_break`] and [`invisible::is_hidden`]).
pub fn is_forbidden(c: char) -> bool {
    let code = u32::from(c);
    (code < 0x20 && c != '\n' && c != '\t') || code == 0x7f || (0x80..=0x9f).contains(&code)
}

/// Whether `c` ends a line in some reader's grammar but is not `\n`: CR, VT,
/// FF, NEL, and the Unicode line and paragraph separators (the characters
/// of general categories `Zl` and `Zp`).
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Whether `text` is printable ASCII, newlines and tabs only: what most
/// text is, and what both sanitizers leave alone, found with a byte scan.
pub(crate) fn is_plain_ascii(text: &str) -> bool {
    text.bytes()
        .all(|b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t')
}

/// Writes the control `c` (one [`is_forbidden`] lets through as nothing
/// else) as visible text: a C0 control in caret notation (`ESC` → `^[`),
/// DEL as `^?`, a C1 control as `<U+009B>`. The one form for typed and
/// for shown text, so a body reads the same in both.
pub(crate) fn push_visible_control(out: &mut String, c: char) {
    let code = u32::from(c);
    if code < 0x20 {
        out.push('^');
        // Caret notation: 0x1b → '['; always ASCII, so the fallback is
        // never taken.
        out.push(char::from_u32(code + 0x40).unwrap_or('?'));
    } else if code == 0x7f {
        out.push_str("^?");
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "<U+{code:04X}>");
    }
}

/// Returns `body` with every line break as `\n`, and every control, bidi
/// and invisible character made visible (see the module docs).
pub fn sanitize_body(body: &str) -> Cow<'_, str> {
    if is_plain_ascii(body)
        || !body
            .chars()
            .any(|c| is_forbidden(c) || is_line_break(c) || invisible::is_hidden(c))
    {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 8);
    let mut scan = Scan::new(body);
    while let Some((c, escape, after)) = scan.next_char() {
        match c {
            // `\r\n` is one line break: the `\n` that follows is kept.
            '\r' if after == Some('\n') => {}
            _ if is_line_break(c) => out.push('\n'),
            '\n' | '\t' => out.push(c),
            _ if is_forbidden(c) => push_visible_control(&mut out, c),
            _ if escape => invisible::push_escaped(&mut out, c),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_untouched() {
        assert!(matches!(
            sanitize_body("hello\n\tworld ❯ ok"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_paste_end_cannot_escape() {
        let evil = "hi\x1b[201~rm -rf ~\r\x07\x7f\u{9b}";
        assert_eq!(sanitize_body(evil), "hi^[[201~rm -rf ~\n^G^?<U+009B>");
    }

    #[test]
    fn crlf_becomes_one_newline() {
        assert_eq!(sanitize_body("a\r\nb\rc"), "a\nb\nc");
    }

    #[test]
    fn every_line_terminator_becomes_a_newline() {
        assert_eq!(
            sanitize_body("a\u{b}b\u{c}c\u{85}d\u{2028}e\u{2029}f\r\ng\rh"),
            "a\nb\nc\nd\ne\nf\ng\nh"
        );
        // The case of issue 19: a `//` comment ended by U+2028 in node.
        assert_eq!(
            sanitize_body("hi\u{2028}require('fs')"),
            "hi\nrequire('fs')"
        );
    }

    #[test]
    fn bidi_and_invisible_characters_are_shown() {
        assert_eq!(
            sanitize_body("a\u{202e}b\u{2066}c\u{200b}d\u{feff}e\u{e0041}"),
            "a\\u{202e}b\\u{2066}c\\u{200b}d\\u{feff}e\\u{e0041}"
        );
    }

    #[test]
    fn an_emoji_keeps_its_joiner_and_a_word_does_not() {
        let family = "👩\u{200d}💻 🏳\u{fe0f}\u{200d}🌈 👩🏽\u{200d}💻";
        assert_eq!(sanitize_body(family), family);
        assert_eq!(sanitize_body("ad\u{200d}min"), "ad\\u{200d}min");
    }

    /// Control, line-break, bidi and invisible characters, mixed with text
    /// and emoji, so the generator hits the interesting cases often.
    fn hostile_char() -> impl Strategy<Value = char> {
        prop_oneof![
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
            (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('?')),
            proptest::sample::select(vec![
                '\u{2028}',
                '\u{2029}',
                '\u{202e}',
                '\u{2066}',
                '\u{200b}',
                '\u{200d}',
                '\u{fe0f}',
                '\u{1f3fd}',
                '\u{e0041}',
                '\u{feff}',
                '👩',
                '💻',
                'a',
                '\\',
                '{',
            ]),
            any::<char>(),
        ]
    }

    proptest! {
        // PROPTEST_CASES runs it at scale on demand.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
        ))]

        #[test]
        fn output_has_no_control_but_newline_and_tab(body in any::<String>()) {
            let out = sanitize_body(&body);
            for c in out.chars() {
                prop_assert!(!is_forbidden(c), "{c:?} in {out:?}");
                prop_assert!(c != '\r');
            }
        }

        #[test]
        fn output_of_control_heavy_input_is_clean(
            bytes in proptest::collection::vec(prop_oneof![0u32..0x20, 0x7fu32..0xa0, Just(0x1b), 0x20u32..0x7f], 0..200)
        ) {
            let body: String = bytes.into_iter().filter_map(char::from_u32).collect();
            let out = sanitize_body(&body);
            prop_assert!(!out.chars().any(|c| is_forbidden(c) || c == '\r'));
        }

        #[test]
        fn sanitizing_twice_changes_nothing(body in any::<String>()) {
            let once = sanitize_body(&body).into_owned();
            prop_assert_eq!(sanitize_body(&once), once.as_str());
        }

        #[test]
        fn hostile_text_comes_out_inert_and_stable(
            chars in proptest::collection::vec(hostile_char(), 0..120)
        ) {
            let body: String = chars.into_iter().collect();
            let once = sanitize_body(&body).into_owned();
            let mut scan = Scan::new(&once);
            while let Some((c, escape, _)) = scan.next_char() {
                prop_assert!(!is_forbidden(c) && !is_line_break(c), "{c:?} in {once:?}");
                prop_assert!(!escape, "hidden {c:?} in {once:?}");
            }
            prop_assert_eq!(sanitize_body(&once), once.as_str());
        }
    }
}
