//! `--reject-unparsable`: an editor that checks its input on Enter and keeps what does not parse,
//! the way ptpython-style Python REPLs do: the text stays in the input, an error line is drawn
//! under it, and the cursor stays in the text. Nothing is submitted until the input is edited into
//! something that parses. Pure.
//!
//! "Parses" is a small stand-in for a language's grammar, chosen so that Courier's framed header
//! (`[courier] from … | msg …`) does not parse, as Python's REPL rejects it (a list display followed
//! by a name), while its comment framing (`# [courier] …`) does:
//!
//! - a line whose first non-blank character is `#` is a comment and is skipped;
//! - any other line must not start with `[` (after blanks);
//! - the brackets `()`, `[]`, `{}` of the lines that are not comments must pair up and nest.

/// The line drawn under an input that does not parse.
pub const ERROR_LINE: &str = "SyntaxError: invalid syntax";

/// Whether `text` parses (see the module docs).
pub fn parses(text: &str) -> bool {
    let mut open: Vec<char> = Vec::new();
    for line in text.split('\n') {
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        if code.starts_with('[') {
            return false;
        }
        for c in code.chars() {
            match c {
                '(' | '[' | '{' => open.push(c),
                ')' | ']' | '}' => {
                    let expected = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    if open.pop() != Some(expected) {
                        return false;
                    }
                }
                _ => {}
            }
        }
    }
    open.is_empty()
}

/// The editor's check: on when the flag is given; remembers a rejection until the input changes.
#[derive(Debug, Default)]
pub struct Validator {
    enabled: bool,
    rejected: bool,
}

impl Validator {
    pub fn new(enabled: bool) -> Self {
        Validator {
            enabled,
            rejected: false,
        }
    }

    /// An Enter that would submit `text`: whether it may. A refused one shows the error.
    pub fn accepts(&mut self, text: &str) -> bool {
        self.rejected = self.enabled && !parses(text);
        !self.rejected
    }

    /// The input changed: the error goes away until the next Enter.
    pub fn edited(&mut self) {
        self.rejected = false;
    }

    /// The line to draw under the input, if the last Enter was refused.
    pub fn error_line(&self) -> Option<&'static str> {
        self.rejected.then_some(ERROR_LINE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framed_header_does_not_parse_and_its_comment_framing_does() {
        let framed = "[courier] from alice to bob (direct) | msg 01A\nhello";
        assert!(!parses(framed));
        assert!(parses(
            "# [courier] from alice to bob (direct) | msg 01A\n# hello"
        ));
        assert!(parses("print(1)\nx = [1, {2: (3)}]"));
        assert!(parses("plain words"));
    }

    #[test]
    fn unbalanced_brackets_do_not_parse() {
        for text in ["f(", "x = [1, 2", "a)", "(]", "{[}]", "  [1]"] {
            assert!(!parses(text), "{text:?}");
        }
    }

    #[test]
    fn a_refusal_shows_until_the_input_changes() {
        let mut v = Validator::new(true);
        assert!(!v.accepts("[x] y"));
        assert_eq!(v.error_line(), Some(ERROR_LINE));
        v.edited();
        assert_eq!(v.error_line(), None);
        assert!(v.accepts("ok"));
        let mut off = Validator::new(false);
        assert!(off.accepts("[x] y"));
        assert_eq!(off.error_line(), None);
    }
}
