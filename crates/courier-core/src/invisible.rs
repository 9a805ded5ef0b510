//! Characters that change how text reads without being seen, and the
//! visible form both sanitizers give them.
//!
//! Bidi controls reorder what a reader sees (Trojan Source, CVE-2021-42574:
//! `U+202E` makes `txt.exe` look like `exe.txt`); zero-width and other
//! invisible characters hide text inside text (two names that look equal, an
//! instruction no person sees). Neither is ever removed, which would change
//! a message silently: each is written as the plain-ASCII text `\u{202e}`,
//! which a person and a model both read as "there was a U+202E here", and
//! which is stable when sanitized again.
//!
//! Which characters: every character of general category `Cf` (format: the
//! bidi controls U+061C, U+200E/F, U+202A–202E, U+2066–2069, the zero-width
//! U+200B–200D, U+2060–2064, U+FEFF, U+180E, the soft hyphen U+00AD, the tag
//! characters U+E0000–E007F, …), as the `unicode-general-category` crate's
//! tables list them, plus the other default-ignorable characters (drawn as
//! nothing) that are not `Cf`: the combining grapheme joiner U+034F, the
//! Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the Khmer inherent
//! vowels U+17B4/U+17B5, and the unassigned ones (U+2065, U+FFF0–FFF8, the
//! rest of the tag block from U+E0000, U+E01F0–E0FFF), which a later font
//! may also draw as nothing. Variation selectors are kept (they only pick a
//! glyph's style).
//!
//! The zero-width joiner is kept between two pictographs (`👩‍💻`, `🏳️‍🌈`),
//! where it only joins emoji into one: "pictograph" is approximated by the
//! general category `So` (other symbol), which every emoji base has, after
//! skipping variation selectors and skin-tone modifiers. A joiner between
//! two symbols cannot hide letters, so the approximation errs only towards
//! keeping an emoji whole.

use std::fmt::Write;

use unicode_general_category::{GeneralCategory, get_general_category};

/// The zero-width joiner.
const ZWJ: char = '\u{200d}';

/// Whether `c` is a bidi control or a character that is not drawn.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{034f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{2065}'
            | '\u{3164}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{e0000}'..='\u{e00ff}'
            | '\u{e01f0}'..='\u{e0fff}'
    ) || (!c.is_ascii() && get_general_category(c) == GeneralCategory::Format)
}

/// Whether `c` only styles the character before it (a variation selector or
/// an emoji skin-tone modifier), so a joiner looks past it.
pub fn is_style_modifier(c: char) -> bool {
    matches!(c, '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}' | '\u{1f3fb}'..='\u{1f3ff}')
}

/// Whether `c` at this place is shown as its escape: every hidden character,
/// except a zero-width joiner between two pictographs. `before` is the last
/// character before `c` that is not a style modifier, `after` the next one.
pub fn needs_escape(c: char, before: Option<char>, after: Option<char>) -> bool {
    is_hidden(c) && !(c == ZWJ && is_pictograph(before) && is_pictograph(after))
}

fn is_pictograph(c: Option<char>) -> bool {
    c.is_some_and(|c| get_general_category(c) == GeneralCategory::OtherSymbol)
}

/// Appends the visible form of `c`: `\u{202e}` (lowercase hex, no padding,
/// Rust's own escape syntax).
pub fn push_escaped(out: &mut String, c: char) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

/// Scans text the way both sanitizers need: each character with the last
/// character before it that is not a style modifier.
pub struct Scan<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    before: Option<char>,
}

impl<'a> Scan<'a> {
    pub fn new(text: &'a str) -> Self {
        Scan {
            chars: text.chars().peekable(),
            before: None,
        }
    }

    /// The next character, whether it must be escaped here, and the
    /// character after it (to join `\r\n`).
    pub fn next_char(&mut self) -> Option<(char, bool, Option<char>)> {
        let c = self.chars.next()?;
        let after = self.chars.peek().copied();
        let escape = needs_escape(c, self.before, after);
        if !is_style_modifier(c) {
            self.before = Some(c);
        }
        Some((c, escape, after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_zero_width_are_hidden() {
        for c in [
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{2064}',
            '\u{feff}',
            '\u{180e}',
            '\u{00ad}',
            '\u{034f}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{e0000}',
            '\u{17b4}',
            '\u{2065}',
            '\u{fff9}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in [
            'a',
            ' ',
            'é',
            '❯',
            '\u{fe0f}',
            '\u{e0100}',
            '😀',
            '\u{a0}',
            '\n',
        ] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn a_joiner_is_kept_only_between_pictographs() {
        let zwj = ZWJ;
        assert!(!needs_escape(zwj, Some('👩'), Some('💻')));
        // 🏳️‍🌈: the variation selector is skipped by the scan.
        assert!(!needs_escape(zwj, Some('🏳'), Some('🌈')));
        assert!(needs_escape(zwj, Some('a'), Some('b')));
        assert!(needs_escape(zwj, Some('👩'), Some('b')));
        assert!(needs_escape(zwj, None, Some('💻')));
        assert!(needs_escape('\u{200b}', Some('👩'), Some('💻')));
    }

    #[test]
    fn the_scan_looks_past_style_modifiers() {
        let mut scan = Scan::new("🏳\u{fe0f}\u{200d}🌈");
        let escapes: Vec<bool> = std::iter::from_fn(|| scan.next_char())
            .map(|(_, e, _)| e)
            .collect();
        assert_eq!(escapes, [false, false, false, false]);
    }

    #[test]
    fn the_escape_is_rust_syntax() {
        let mut out = String::new();
        push_escaped(&mut out, '\u{202e}');
        push_escaped(&mut out, '\u{e0041}');
        assert_eq!(out, "\\u{202e}\\u{e0041}");
    }
}
