//! Makes a message body safe to type into a terminal.
//!
//! A body must never end a bracketed paste (`ESC [201~`), move the cursor,
//! ring bells or submit early. So:
//! - newline and tab are kept; `\r\n` and a lone `\r` become `\n` (a carriage
//!   return would submit the line);
//! - every other C0 control and DEL is made visible in caret notation
//!   (`ESC` → `^[`, so `ESC [201~` shows as the harmless text `^[[201~`);
//! - C1 controls (U+0080–U+009F, which some terminals treat like `ESC x`)
//!   are made visible as `<U+009B>`.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is a character the sanitizer never lets through.
pub fn is_forbidden(c: char) -> bool {
    let code = u32::from(c);
    (code < 0x20 && c != '\n' && c != '\t') || code == 0x7f || (0x80..=0x9f).contains(&code)
}

/// Returns `body` with every control character other than `\n` and `\t`
/// removed or made visible (see the module docs).
pub fn sanitize_body(body: &str) -> Cow<'_, str> {
    if !body.chars().any(|c| is_forbidden(c) || c == '\r') {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 8);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let code = u32::from(c);
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            _ if code < 0x20 => {
                out.push('^');
                // Caret notation: 0x1b → '[' ; always ASCII, so the unwrap
                // fallback is never taken.
                out.push(char::from_u32(code + 0x40).unwrap_or('?'));
            }
            '\u{7f}' => out.push_str("^?"),
            _ if (0x80..=0x9f).contains(&code) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "<U+{code:04X}>");
            }
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
    }
}
