//! Which interpreter reads an agent's terminal, from the executable and
//! the arguments of the process that reads it, and so how a message must
//! be framed to stay text ([`Framing`]).
//!
//! The process is looked up at delivery time (the PTY's foreground
//! process, see `courier_terminal::foreground`); this module only judges
//! (exe, argv), purely:
//!
//! - a wrapper (`env`, `sudo`, `nice`, `nohup`, `timeout`, `stdbuf`,
//!   `setsid`, `script -c`) is looked through to the command it runs
//!   ([`wrappers`]);
//! - a known interpreter's arguments are parsed with its real option
//!   grammar ([`grammar`]): a command (`-c`, `-e`, `-m`, `-p`) or a script
//!   means its terminal is not its program, unless `-i` forces a REPL;
//!   `-s` or `-` reads the program from the terminal; an option it cannot
//!   classify keeps the framing (the safe side);
//! - a Python running a script named like an enhanced REPL
//!   (`python3 /usr/bin/ipython`) is that REPL;
//! - anything else is not an interpreter: its text goes as it is.

mod grammar;
mod wrappers;

use courier_core::framing::Framing;
use serde::Serialize;

use grammar::Verdict;

/// An interpreter that runs what is typed into its terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpreter {
    Bash,
    Sh,
    Dash,
    Ksh,
    Zsh,
    Fish,
    Python,
    IPython,
    Ptpython,
    Bpython,
    Node,
    Ruby,
    Irb,
}

impl Interpreter {
    /// Every interpreter, for listings and overrides.
    pub const ALL: [Interpreter; 13] = [
        Interpreter::Bash,
        Interpreter::Sh,
        Interpreter::Dash,
        Interpreter::Ksh,
        Interpreter::Zsh,
        Interpreter::Fish,
        Interpreter::Python,
        Interpreter::IPython,
        Interpreter::Ptpython,
        Interpreter::Bpython,
        Interpreter::Node,
        Interpreter::Ruby,
        Interpreter::Irb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Interpreter::Bash => "bash",
            Interpreter::Sh => "sh",
            Interpreter::Dash => "dash",
            Interpreter::Ksh => "ksh",
            Interpreter::Zsh => "zsh",
            Interpreter::Fish => "fish",
            Interpreter::Python => "python",
            Interpreter::IPython => "ipython",
            Interpreter::Ptpython => "ptpython",
            Interpreter::Bpython => "bpython",
            Interpreter::Node => "node",
            Interpreter::Ruby => "ruby",
            Interpreter::Irb => "irb",
        }
    }

    /// The framing that is inert in this interpreter's grammar.
    pub fn framing(self) -> Framing {
        match self {
            // zsh leaves `interactive_comments` off unless told: `#` is
            // not a comment there.
            Interpreter::Zsh => Framing::ZshQuoted,
            Interpreter::Node => Framing::SlashComment,
            _ => Framing::HashComment,
        }
    }

    /// The interpreter a program file is, by its name (`python3.12`,
    /// `ksh93`, `ipython3`, `nodejs`); None for anything else.
    pub fn from_program(path: &str) -> Option<Interpreter> {
        let name = basename(path);
        // python3.12 → python, ipython3 → ipython, ksh93 → ksh.
        let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match (name, stem) {
            ("bash" | "rbash", _) => Interpreter::Bash,
            ("sh", _) => Interpreter::Sh,
            ("dash", _) => Interpreter::Dash,
            ("ksh" | "mksh" | "lksh" | "pdksh" | "oksh", _) | (_, "ksh") => Interpreter::Ksh,
            ("zsh", _) => Interpreter::Zsh,
            ("fish", _) => Interpreter::Fish,
            (_, "python" | "pypy") => Interpreter::Python,
            (_, "ipython" | "ptipython") => Interpreter::IPython,
            (_, "ptpython") => Interpreter::Ptpython,
            (_, "bpython" | "bpython-curses" | "bpython-urwid") => Interpreter::Bpython,
            ("node" | "nodejs", _) => Interpreter::Node,
            (_, "ruby") => Interpreter::Ruby,
            (_, "irb") => Interpreter::Irb,
            _ => return None,
        })
    }

    /// An override's name (`"sh"`, `"zsh"`, `"python"`, `"node"`, …).
    pub fn from_name(name: &str) -> Option<Interpreter> {
        match name {
            "python3" => Some(Interpreter::Python),
            "nodejs" | "javascript" => Some(Interpreter::Node),
            _ => Interpreter::ALL.into_iter().find(|i| i.name() == name),
        }
    }
}

/// A spawn's or a preset's `framing` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingChoice {
    /// Decided per delivery from what reads the terminal (the default).
    Auto,
    /// Never framed.
    None,
    /// Always framed as for this interpreter.
    As(Interpreter),
}

impl FramingChoice {
    /// Parses the field; the error lists the accepted values.
    pub fn parse(value: &str) -> Result<FramingChoice, String> {
        match value {
            "auto" => Ok(FramingChoice::Auto),
            "none" => Ok(FramingChoice::None),
            other => Interpreter::from_name(other)
                .map(FramingChoice::As)
                .ok_or_else(|| {
                    let names: Vec<_> = Interpreter::ALL.iter().map(|i| i.name()).collect();
                    format!(
                        "{other:?} is not a framing: use \"auto\", \"none\" or one of {}",
                        names.join(", ")
                    )
                }),
        }
    }
}

/// What reads a terminal, judged from its (exe, argv).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The interpreter that runs what it reads; None: the text is only
    /// text to it.
    pub interpreter: Option<Interpreter>,
    /// The program's name as shown (`bash`, `node`, `ipython`, `claude`).
    pub program: String,
    /// Wrappers looked through, outermost first (`env`, `sudo`, `script`).
    pub via: Vec<String>,
    /// Why, in a few words (`interactive`, `runs a script`, …).
    pub why: String,
}

impl Identified {
    /// The framing this reader needs.
    pub fn framing(&self) -> Framing {
        self.interpreter.map_or(Framing::None, Interpreter::framing)
    }
}

/// The last path component of `path`.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Identifies the reader whose executable is `exe` (None when it cannot
/// be read) and whose arguments, `argv[0]` included, are `argv`.
pub fn identify(exe: Option<&str>, argv: &[String]) -> Identified {
    let mut via = Vec::new();
    let mut exe = exe.map(str::to_string);
    let mut argv = argv.to_vec();
    // Wrappers nest (`env nice bash`); each level is one exec'd name.
    for _ in 0..8 {
        let name = exe
            .as_deref()
            .or(argv.first().map(String::as_str))
            .unwrap_or("");
        let Some(wrapper) = wrappers::Wrapper::from_program(name) else {
            break;
        };
        via.push(wrapper.name().to_string());
        match wrapper.command(argv.get(1..).unwrap_or_default()) {
            Ok(inner) if !inner.is_empty() => {
                exe = None;
                argv = inner;
            }
            Ok(_) => return unknown(basename(name), via, "runs no command it names"),
            Err(why) => return unknown(basename(name), via, &why),
        }
    }
    let program_path = exe
        .as_deref()
        .or(argv.first().map(String::as_str))
        .unwrap_or("");
    let by_exe = Interpreter::from_program(program_path);
    // busybox, or an exe that cannot be read: argv[0] names the applet.
    let kind = by_exe.or_else(|| argv.first().and_then(|a| Interpreter::from_program(a)));
    let Some(kind) = kind else {
        return unknown(basename(program_path), via, "not an interpreter");
    };
    let args = argv.get(1..).unwrap_or_default();
    judge(kind, args, via)
}

/// `kind` run with `args`: an interpreter of its terminal or not.
fn judge(kind: Interpreter, args: &[String], via: Vec<String>) -> Identified {
    let verdict = grammar::parse(kind, args);
    let (interpreter, why) = match verdict {
        Verdict::Interactive(why) => (Some(kind), why.to_string()),
        Verdict::Unclassified(arg) => (
            Some(kind),
            format!("cannot classify the argument {arg:?}: framed to be safe"),
        ),
        Verdict::Runs(what) => (None, format!("runs {what}, not its terminal")),
        Verdict::Script { path, rest } => {
            // `python3 /usr/bin/ipython`: an enhanced REPL started as a script.
            if kind == Interpreter::Python
                && let Some(repl) = Interpreter::from_program(&path).filter(|i| {
                    matches!(
                        i,
                        Interpreter::IPython | Interpreter::Ptpython | Interpreter::Bpython
                    )
                })
            {
                return judge(repl, &rest, via);
            }
            (None, format!("runs the script {}", basename(&path)))
        }
        Verdict::Module { name, rest } => {
            // `python3 -m IPython`, `-m ptpython`, `-m bpython`.
            let repl = match name.as_str() {
                "IPython" => Some(Interpreter::IPython),
                "ptpython" => Some(Interpreter::Ptpython),
                "bpython" => Some(Interpreter::Bpython),
                _ => None,
            };
            match repl {
                Some(repl) => return judge(repl, &rest, via),
                None => (
                    None,
                    format!("runs the module {name} (-m), not its terminal"),
                ),
            }
        }
    };
    Identified {
        interpreter,
        program: kind.name().to_string(),
        via,
        why,
    }
}

fn unknown(program: &str, via: Vec<String>, why: &str) -> Identified {
    Identified {
        interpreter: None,
        program: program.to_string(),
        via,
        why: why.to_string(),
    }
}

#[cfg(test)]
mod tests;
