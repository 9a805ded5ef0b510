//! The hostile bodies, per language. Each body, if the interpreter ran any
//! of it, would start a process (`touch`, or the language's way to run one)
//! creating a marker file only that body names; a body of two messages is
//! one attack split across them (the first opens a quote, a heredoc or a
//! continuation, the second carries the payload).

use super::interpreters::Lang;

/// What a body is built from: the language's payload (which creates the
/// body's marker through a process) and the shell command doing the same.
pub struct Ctx {
    pub lang: Lang,
    /// The statement creating the marker, in the interpreter's language.
    pub p: String,
    /// `touch MARKER`, for languages that can reach a shell from a literal.
    pub touch: String,
}

/// Builds a body's messages, in order, from its payload.
pub type Build = Box<dyn Fn(&Ctx) -> Vec<String>>;

/// One hostile body.
pub struct Body {
    pub id: &'static str,
    pub what: &'static str,
    pub build: Build,
}

fn body(
    id: &'static str,
    what: &'static str,
    build: impl Fn(&Ctx) -> Vec<String> + 'static,
) -> Body {
    Body {
        id,
        what,
        build: Box::new(build),
    }
}

/// The separators a body can put between a harmless first line and the
/// payload: every line or paragraph terminator a grammar might honour.
const SEPARATORS: &[(&str, &str, &str)] = &[
    ("lf", "second line (LF)", "\n"),
    ("cr", "carriage return", "\r"),
    ("u2028", "U+2028 line separator", "\u{2028}"),
    ("u2029", "U+2029 paragraph separator", "\u{2029}"),
    ("u0085", "U+0085 next line", "\u{85}"),
    ("vt", "vertical tab", "\u{0b}"),
    ("ff", "form feed", "\u{0c}"),
];

/// Bodies every language gets.
fn common() -> Vec<Body> {
    let mut out: Vec<Body> = SEPARATORS
        .iter()
        .map(|&(id, what, sep)| {
            body(id, what, move |c| {
                vec![format!("{}{sep}{}", c.lang.harmless(), c.p)]
            })
        })
        .collect();
    out.push(body("semicolon", "`;` after a statement", |c| {
        vec![format!("{}; {}", c.lang.harmless(), c.p)]
    }));
    out.push(body(
        "paste_end",
        "bracketed-paste end, then a payload line",
        |c| vec![format!("hi\u{1b}[201~\n{}", c.p)],
    ));
    out.push(body(
        "long_line",
        "10,000-character line, then `;` payload",
        |c| vec![format!("{}; {}", c.lang.long_statement(10_000), c.p)],
    ));
    out
}

/// POSIX shells: bash, dash, zsh, ksh.
fn sh() -> Vec<Body> {
    vec![
        body("and", "`&&`", |c| vec![format!("true && {}", c.p)]),
        body("pipe", "`|`", |c| vec![format!("echo hi | {}", c.p)]),
        body("dollar_paren", "`$(…)`", |c| {
            vec![format!("echo $({})", c.p)]
        }),
        body("backticks", "backticks", |c| {
            vec![format!("echo `{}`", c.p)]
        }),
        body("heredoc", "heredoc with `$(…)`", |c| {
            vec![format!("cat <<EOF\n$({})\nEOF", c.p)]
        }),
        body("hist_bang", "history `!!`", |c| {
            vec![format!("echo {}\n$(!!)", c.p)]
        }),
        body("hist_minus", "history `!-1`", |c| {
            vec![format!("echo {}\n$(!-1)", c.p)]
        }),
        body("hist_caret", "history `^a^b`", |c| {
            vec![format!("echo {}\n^echo ^", c.p)]
        }),
        body("squote", "unclosed `'`", |c| {
            vec![format!("x'\n'; {}", c.p)]
        }),
        body("dquote", "unclosed `\"`", |c| {
            vec![format!("x\"\n\"; {}", c.p)]
        }),
        body("backslash", "trailing backslash", |c| {
            vec![format!("true \\\n&& {}", c.p)]
        }),
        body("dollar_squote", "`$'…'` escapes", |c| {
            vec![c.p.replacen("touch", "$'\\x74ouch'", 1)]
        }),
        body("zsh_eq_paren", "zsh `=(…)`", |c| {
            vec![format!("cat =({})", c.p)]
        }),
        body("zsh_glob_qual", "zsh glob qualifier `(e:…:)`", |c| {
            vec![format!("echo /(e:'{}':)", c.p)]
        }),
        body("split_quote", "split: `'` opened, payload next", |c| {
            vec!["echo '".into(), format!("'; {}", c.p)]
        }),
        body(
            "split_heredoc",
            "split: heredoc opened, payload next",
            |c| vec!["cat <<EOF".into(), format!("EOF\n{}", c.p)],
        ),
        body(
            "split_backslash",
            "split: `\\` continuation, payload next",
            |c| vec!["true \\".into(), format!("\n{}", c.p)],
        ),
    ]
}

fn fish() -> Vec<Body> {
    vec![
        body("and", "`&&`", |c| vec![format!("true && {}", c.p)]),
        body("pipe", "`|`", |c| vec![format!("echo hi | {}", c.p)]),
        body("dollar_paren", "`$(…)`", |c| {
            vec![format!("echo $({})", c.p)]
        }),
        body("fish_paren", "fish `(…)`", |c| {
            vec![format!("echo ({})", c.p)]
        }),
        body("fish_and", "fish `; and`", |c| {
            vec![format!("true; and {}", c.p)]
        }),
        body("squote", "unclosed `'`", |c| {
            vec![format!("x'\n'; {}", c.p)]
        }),
        body("dquote", "unclosed `\"`", |c| {
            vec![format!("x\"\n\"; {}", c.p)]
        }),
        body("backslash", "trailing backslash", |c| {
            vec![format!("true \\\n&& {}", c.p)]
        }),
        body("split_quote", "split: `'` opened, payload next", |c| {
            vec!["echo '".into(), format!("'; {}", c.p)]
        }),
        body(
            "split_backslash",
            "split: `\\` continuation, payload next",
            |c| vec!["true \\".into(), format!("\n{}", c.p)],
        ),
    ]
}

fn python() -> Vec<Body> {
    vec![
        body("py_triple", "python `'''` string", |c| {
            vec![format!("s = '''\n'''; {}", c.p)]
        }),
        body("backslash", "trailing backslash", |c| {
            vec![format!("x = 1 + \\\n{}", c.p)]
        }),
        body("py_bang", "IPython `!cmd` line", |c| {
            vec![format!("hi\n!{}", c.touch)]
        }),
        body("split_triple", "split: `'''` opened, payload next", |c| {
            vec!["s = '''".into(), format!("'''; {}", c.p)]
        }),
        body(
            "split_backslash",
            "split: `\\` continuation, payload next",
            |c| vec!["x = 1 + \\".into(), format!("\n{}", c.p)],
        ),
    ]
}

fn node() -> Vec<Body> {
    vec![
        body("node_template", "template literal `${…}`", |c| {
            vec![format!("`${{{}}}`", c.p)]
        }),
        body("node_comment_end", "`*/` ends a block comment", |c| {
            vec![format!("/* hi */ {}", c.p)]
        }),
        body(
            "split_template",
            "split: template opened, payload next",
            |c| vec!["x = `".into(), format!("${{{}}}`", c.p)],
        ),
        body("split_comment", "split: `/*` opened, payload next", |c| {
            vec!["/*".into(), format!("*/ {}", c.p)]
        }),
    ]
}

fn ruby() -> Vec<Body> {
    vec![
        body("backticks", "backticks", |c| vec![format!("`{}`", c.touch)]),
        body("rb_begin", "ruby `=begin`/`=end`", |c| {
            vec![format!("=begin\n=end\n{}", c.p)]
        }),
        body("rb_end", "ruby `__END__`", |c| {
            vec![format!("__END__\n{}", c.p)]
        }),
        body("rb_interp", "ruby `#{…}`", |c| {
            vec![format!("\"#{{{}}}\"", c.p)]
        }),
        body("split_quote", "split: `\"` opened, payload next", |c| {
            vec!["x = \"".into(), format!("\"; {}", c.p)]
        }),
    ]
}

/// The corpus for `lang`: the common bodies, then the language's own.
pub fn bodies(lang: Lang) -> Vec<Body> {
    let mut out = common();
    out.extend(match lang {
        Lang::Sh => sh(),
        Lang::Fish => fish(),
        Lang::Python => python(),
        Lang::Node => node(),
        Lang::Ruby => ruby(),
    });
    out
}

/// Why `body` cannot run in interpreter `interp` even unframed (neither as
/// a message with framing off nor typed raw), if it cannot. Those control
/// cells are not required to run; their bodies are still sent framed. Every
/// entry was seen not to run, and says why.
pub fn control_na(interp: &str, body: &str) -> Option<&'static str> {
    const SHELLS_WITHOUT_ZSH_SYNTAX: &[&str] = &["bash", "bash-rcfile", "env-bash", "dash", "ksh"];
    Some(match (interp, body) {
        ("node", "u2028" | "u2029") => return None,
        (_, "u2028" | "u2029") => "only JavaScript ends a line at U+2028/U+2029",
        (_, "u0085" | "vt" | "ff") => {
            "no interpreter here ends a line at it (and the sanitizer types it as `<U+0085>`, `^K`, `^L`)"
        }
        ("dash" | "ksh", "hist_bang" | "hist_minus" | "hist_caret") => "no `!` history expansion",
        ("dash", "dollar_squote") => "dash has no `$'…'`",
        (i, "zsh_eq_paren" | "zsh_glob_qual") if SHELLS_WITHOUT_ZSH_SYNTAX.contains(&i) => {
            "zsh syntax"
        }
        ("python3" | "bpython", "py_bang") => "`!cmd` is IPython's and ptpython's syntax",
        ("dash" | "python3" | "ipython" | "irb", "long_line") => {
            "its line reader does not take a 10,000-character line (cut, or not drawn in time)"
        }
        ("fish" | "ipython" | "ptpython" | "irb", "paste_end") => {
            "typed raw, `ESC [201~` is a key sequence that its line editor swallows with the line"
        }
        ("fish", "split_quote") | ("ipython" | "ptpython", "split_triple" | "split_backslash") => {
            "the first message stays in the editor (it waits for the rest) and its delivery does not end"
        }
        ("ptpython", "backslash" | "py_triple") => {
            "ptpython keeps a continued input typed at once in its editor"
        }
        ("irb", "rb_end") => "irb stops reading at `__END__`",
        ("irb", "rb_begin") => {
            "irb (reline) loses `=begin`/`=end` typed at once: seen to run in one run, not the next"
        }
        _ => return None,
    })
}
