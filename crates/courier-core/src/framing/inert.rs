//! Framings that make a message inert for the program reading the
//! terminal: each line of the typed text is wrapped so that the program's
//! own grammar reads it as text and runs nothing.
//!
//! A framing is only as good as its notion of a line. Interpreters end a
//! comment at more than `\n`: JavaScript ends `//` at CR, U+2028 and
//! U+2029, and a terminal submits at CR. So every Unicode mandatory line
//! break (the `BK`/`CR`/`LF`/`NL` classes of UAX #14: LF, VT, FF, CR, NEL,
//! U+2028, U+2029) splits the text *before* framing, here, whatever the
//! body sanitizer did first: a framing is inert on its own.
//!
//! Each framing keeps no state from one line to the next (no open quote,
//! no continuation), so a body split across two messages is as inert as a
//! whole one.

use crate::sanitize::sanitize_body;

/// Every character that ends a line for some program that may read the
/// terminal (UAX #14 mandatory breaks; CR LF counts as one break).
pub const LINE_TERMINATORS: [char; 7] = [
    '\n', '\u{0b}', '\u{0c}', '\r', '\u{85}', '\u{2028}', '\u{2029}',
];

/// The lines of `text`, split at every [`LINE_TERMINATORS`] character
/// (`\r\n` is one break).
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(LINE_TERMINATORS) {
            Some(at) => {
                let after = &current[at..];
                let width = if after.starts_with("\r\n") {
                    2
                } else {
                    after.chars().next().map_or(1, char::len_utf8)
                };
                rest = Some(&after[width..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// How each line of a message is made inert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// The text as it is: the reader runs nothing it is given (an agent
    /// CLI, `cat`), or a person turned framing off.
    None,
    /// `# ` before each line: a comment to the end of the line in bash,
    /// sh/dash, ksh, fish, python and its REPLs, ruby/irb.
    HashComment,
    /// `// ` before each line: a comment to the end of the line in
    /// JavaScript (node), once every line terminator JavaScript knows is
    /// a line break.
    SlashComment,
    /// Each line as `: '<line>'` with every `'` written `'\''`: one
    /// closed single-quoted argument to the no-op `:`. Inert in zsh with
    /// or without `interactive_comments` (off by default: there `#` is not
    /// a comment), and with `RC_QUOTES`; nothing expands inside single
    /// quotes, not `!` history, `$`, backticks nor a trailing backslash.
    ZshQuoted,
    /// A spawn's or preset's own prefix (`inert_prefix`) before each line.
    Prefix(String),
}

impl Framing {
    /// The framing's name as the API and the CLI show it.
    pub fn name(&self) -> &'static str {
        match self {
            Framing::None => "none",
            Framing::HashComment => "hash-comment",
            Framing::SlashComment => "slash-comment",
            Framing::ZshQuoted => "zsh-quoted",
            Framing::Prefix(_) => "prefix",
        }
    }

    /// Why this framing makes a line inert, for a person reading a status.
    pub fn why(&self) -> String {
        match self {
            Framing::None => "the text is typed as it is".into(),
            Framing::HashComment => "`# ` starts a comment that runs to the end of the line".into(),
            Framing::SlashComment => {
                "`// ` starts a comment that runs to the end of the line".into()
            }
            Framing::ZshQuoted => {
                "each line is one closed single-quoted argument to `:`, with or without \
                 interactive_comments"
                    .into()
            }
            Framing::Prefix(prefix) => format!("{prefix:?} before each line"),
        }
    }

    /// `text` framed: every line (split at every line terminator) made
    /// inert, joined with `\n`. [`Framing::None`] returns it unchanged.
    pub fn apply(&self, text: &str) -> String {
        let prefix = match self {
            Framing::None => return text.to_string(),
            Framing::HashComment => "# ".to_string(),
            Framing::SlashComment => "// ".to_string(),
            Framing::ZshQuoted => {
                return lines(text).map(zsh_quoted).collect::<Vec<_>>().join("\n");
            }
            // A prefix can smuggle neither a line break nor a control sequence.
            Framing::Prefix(prefix) => sanitize_body(prefix).replace(LINE_TERMINATORS, ""),
        };
        lines(text)
            .map(|line| commented(&prefix, line))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `line` behind a comment `prefix`. A comment that ends in a backslash
/// still continues the line for some line editors (IPython and bpython
/// take `# x = 1 + \` as unfinished and keep it, so the next message joins
/// it): such a line gets ` #` after the backslash.
fn commented(prefix: &str, line: &str) -> String {
    let mut framed = format!("{prefix}{line}");
    if line.trim_end().ends_with('\\') {
        framed.push_str(" #");
    }
    framed
}

/// `: '<line>'`, every `'` of the line closed, escaped and reopened.
fn zsh_quoted(line: &str) -> String {
    format!(": '{}'", line.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_line_terminator_is_a_break() {
        let text = "a\nb\u{0b}c\u{0c}d\re\r\nf\u{85}g\u{2028}h\u{2029}i";
        assert_eq!(
            lines(text).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        );
        assert_eq!(lines("").collect::<Vec<_>>(), [""]);
        assert_eq!(lines("x\n").collect::<Vec<_>>(), ["x", ""]);
        assert_eq!(lines("\r\r\n").collect::<Vec<_>>(), ["", "", ""]);
    }

    #[test]
    fn comments_start_every_line_even_after_unicode_breaks() {
        let body = "hi\u{2028}require('fs').writeFileSync('pwn','x')";
        assert_eq!(
            Framing::SlashComment.apply(body),
            "// hi\n// require('fs').writeFileSync('pwn','x')"
        );
        assert_eq!(
            Framing::HashComment.apply("z\ntouch F\n\nrm x"),
            "# z\n# touch F\n# \n# rm x"
        );
        assert_eq!(Framing::None.apply("a\u{2028}b"), "a\u{2028}b");
    }

    #[test]
    fn a_comment_never_ends_in_a_backslash() {
        assert_eq!(
            Framing::HashComment.apply("x = 1 + \\\ny \\  \nz"),
            "# x = 1 + \\ #\n# y \\   #\n# z"
        );
        assert_eq!(Framing::SlashComment.apply("a\\"), "// a\\ #");
    }

    #[test]
    fn zsh_lines_are_closed_quotes() {
        assert_eq!(
            Framing::ZshQuoted.apply("# x; touch F\nit's\n'\n\\"),
            ": '# x; touch F'\n: 'it'\\''s'\n: ''\\'''\n: '\\'"
        );
    }

    #[test]
    fn a_prefix_cannot_smuggle_a_break_or_an_escape() {
        let framing = Framing::Prefix("#\n\u{1b}[201~\u{2028} ".into());
        assert_eq!(framing.apply("a\nb"), "#^[[201~ a\n#^[[201~ b");
    }

    /// Reads a zsh-quoted line the way a POSIX shell's lexer does (with
    /// or without RC_QUOTES): the words outside quotes, and whether the
    /// line ends inside a quote.
    fn shell_words(line: &str, rc_quotes: bool) -> (String, bool) {
        let mut outside = String::new();
        let mut chars = line.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '\'') if rc_quotes && chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                (true, '\'') => quoted = false,
                (true, _) => {}
                (false, '\'') => quoted = true,
                (false, '\\') => {
                    outside.push('\\');
                    if let Some(next) = chars.next() {
                        outside.push(next);
                    }
                }
                (false, c) => outside.push(c),
            }
        }
        (outside, quoted)
    }

    proptest! {
        #[test]
        fn framed_lines_never_hold_a_line_terminator(body in "\\PC*[\n\r\u{85}\u{2028}\u{2029}\u{0b}\u{0c}]?\\PC*") {
            for framing in [Framing::HashComment, Framing::SlashComment, Framing::ZshQuoted] {
                let framed = framing.apply(&body);
                for line in framed.split('\n') {
                    prop_assert!(!line.contains(LINE_TERMINATORS));
                    let starts = match framing {
                        Framing::HashComment => line.starts_with("# "),
                        Framing::SlashComment => line.starts_with("// "),
                        _ => line.starts_with(": '"),
                    };
                    prop_assert!(starts, "{line:?}");
                }
            }
        }

        /// Outside the quotes of a zsh-quoted line there is only `: ` and
        /// escaped quotes, and no quote is left open, with or without
        /// RC_QUOTES.
        #[test]
        fn zsh_quoted_leaves_only_escaped_quotes_outside(line in "[^\n\r\u{0b}\u{0c}\u{85}\u{2028}\u{2029}]*") {
            let framed = Framing::ZshQuoted.apply(&line);
            for rc_quotes in [false, true] {
                let (outside, open) = shell_words(&framed, rc_quotes);
                prop_assert!(!open, "{framed:?}");
                let rest = outside.strip_prefix(": ").unwrap_or("missing");
                prop_assert!(rest.replace("\\'", "").is_empty(), "{framed:?} → {outside:?}");
            }
        }
    }
}
