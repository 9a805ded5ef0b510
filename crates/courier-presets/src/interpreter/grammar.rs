//! The command-line grammars of the interpreters: does this invocation
//! read its program from its terminal (a REPL, an interactive shell, `-s`,
//! `-`), or run something else (`-c`, `-e`, `-m`, a script)? Options that
//! take a value (`bash --rcfile F`, `-o opt`, `python -W x`, `node -r m`)
//! take it, so the value is never mistaken for a script.

use super::Interpreter;

/// What an interpreter's arguments say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// It reads its program from the terminal; why.
    Interactive(&'static str),
    /// It runs what is named here (`-c`, `-e`, a module…), not its terminal.
    Runs(&'static str),
    /// It runs the script `path` with the arguments `rest`.
    Script { path: String, rest: Vec<String> },
    /// It runs the module `name` (python `-m`) with the arguments `rest`.
    Module { name: String, rest: Vec<String> },
    /// An argument this grammar does not know: framed to be safe.
    Unclassified(String),
}

/// How one interpreter's options are spelled.
struct Grammar {
    /// Single-letter options that take a value (attached or next).
    short_values: &'static [char],
    /// Single-letter options without a value.
    short_flags: &'static [char],
    /// Long options that take a value (`--rcfile F` or `--rcfile=F`).
    long_values: &'static [&'static str],
    /// Long options without a value.
    long_flags: &'static [&'static str],
    /// Options whose value is the program to run (`-c`, `-e`): "runs".
    run_options: &'static [&'static str],
    /// Options that force a REPL after everything else (`-i`).
    interactive_options: &'static [&'static str],
    /// Options that read the program from stdin (`-s`).
    stdin_options: &'static [&'static str],
    /// Options after which the interpreter exits at once (`--version`).
    exit_options: &'static [&'static str],
    /// `+o`-style options exist (shells).
    plus_options: bool,
    /// Any `--long-name` is a flag (zsh spells every option so).
    any_long_flag: bool,
    /// What follows the code of a run option is the code's, not the
    /// interpreter's (python `-c CODE -i` passes `-i` to the code).
    code_ends_options: bool,
}

const SHELL_FLAGS: &[char] = &[
    'a', 'b', 'e', 'f', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 't', 'u', 'v', 'x', 'B', 'C', 'E', 'H',
    'P', 'T', 'D', 'I', 'V', 'q', 'g', 'd', 'w', 'y', 'F', 'G', 'L', 'M', 'N', 'R', 'U', 'X', 'Y',
    'Z', 'J', 'K', 'S', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
];

const BASH: Grammar = Grammar {
    short_values: &['o', 'O'],
    short_flags: SHELL_FLAGS,
    long_values: &["--rcfile", "--init-file"],
    long_flags: &[
        "--debugger",
        "--dump-po-strings",
        "--dump-strings",
        "--login",
        "--noediting",
        "--noprofile",
        "--norc",
        "--posix",
        "--pretty-print",
        "--restricted",
        "--verbose",
    ],
    run_options: &["-c"],
    interactive_options: &["-i"],
    stdin_options: &["-s"],
    exit_options: &["--help", "--version"],
    plus_options: true,
    any_long_flag: false,
    code_ends_options: false,
};

const POSIX_SH: Grammar = Grammar {
    short_values: &['o'],
    long_values: &[],
    long_flags: &[],
    any_long_flag: false,
    exit_options: &[],
    ..BASH
};

const KSH: Grammar = Grammar {
    // mksh -T tty, ksh93 -R file.
    short_values: &['o', 'T', 'R'],
    ..POSIX_SH
};

const ZSH: Grammar = Grammar {
    short_values: &['o'],
    long_values: &["--emulate"],
    long_flags: &["--interactive"],
    interactive_options: &["-i", "--interactive"],
    stdin_options: &["-s", "--shinstdin"],
    any_long_flag: true,
    ..BASH
};

const FISH: Grammar = Grammar {
    short_values: &['C', 'd', 'o', 'p', 'f'],
    short_flags: &['l', 'n', 'N', 'P'],
    long_values: &[
        "--init-command",
        "--debug",
        "--debug-output",
        "--profile",
        "--profile-startup",
        "--features",
    ],
    long_flags: &[
        "--login",
        "--no-execute",
        "--no-config",
        "--private",
        "--print-rusage-self",
        "--print-debug-categories",
    ],
    run_options: &["-c", "--command"],
    interactive_options: &["-i", "--interactive"],
    stdin_options: &[],
    exit_options: &["--help", "--version", "-h", "-v"],
    plus_options: false,
    any_long_flag: false,
    code_ends_options: false,
};

const PYTHON: Grammar = Grammar {
    code_ends_options: true,
    short_values: &['W', 'X'],
    short_flags: &[
        'b', 'B', 'd', 'E', 'I', 'O', 'P', 'q', 'R', 's', 'S', 'u', 'v', 'x',
    ],
    long_values: &["--check-hash-based-pycs"],
    long_flags: &[],
    run_options: &["-c", "-m"],
    interactive_options: &["-i"],
    stdin_options: &[],
    exit_options: &[
        "-h",
        "-?",
        "-V",
        "--help",
        "--version",
        "--help-env",
        "--help-xoptions",
        "--help-all",
    ],
    plus_options: false,
    any_long_flag: false,
};

const NODE: Grammar = Grammar {
    short_values: &['r', 'C'],
    short_flags: &[],
    long_values: &[
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "--conditions",
        "--input-type",
        "--title",
        "--inspect-port",
        "--debug-port",
        "--env-file",
        "--env-file-if-exists",
        "--disable-warning",
        "--redirect-warnings",
        "--icu-data-dir",
        "--openssl-config",
        "--unhandled-rejections",
    ],
    long_flags: &[
        "--no-warnings",
        "--trace-warnings",
        "--no-deprecation",
        "--trace-deprecation",
        "--throw-deprecation",
        "--pending-deprecation",
        "--inspect",
        "--inspect-brk",
        "--enable-source-maps",
        "--expose-gc",
        "--preserve-symlinks",
        "--preserve-symlinks-main",
        "--use-strict",
        "--abort-on-uncaught-exception",
        "--experimental-repl-await",
        "--no-experimental-repl-await",
        "--experimental-vm-modules",
        "--no-addons",
        "--frozen-intrinsics",
        "--jitless",
        "--trace-uncaught",
    ],
    run_options: &["-e", "--eval", "-p", "--print"],
    interactive_options: &["-i", "--interactive"],
    stdin_options: &[],
    exit_options: &[
        "-c",
        "--check",
        "--test",
        "-v",
        "--version",
        "-h",
        "--help",
        "--v8-options",
        "--run",
    ],
    plus_options: false,
    any_long_flag: false,
    code_ends_options: false,
};

const RUBY: Grammar = Grammar {
    short_values: &['r', 'I', 'E', 'C', 'F', 'x', 'T', 'W', '0', 'K'],
    short_flags: &['a', 'd', 'l', 'n', 'p', 's', 'S', 'w', 'y', 'U'],
    long_values: &["--encoding", "--external-encoding", "--internal-encoding"],
    long_flags: &[
        "--verbose",
        "--jit",
        "--yjit",
        "--disable-gems",
        "--disable-all",
        "--backtrace-limit",
    ],
    run_options: &["-e"],
    interactive_options: &[],
    stdin_options: &[],
    exit_options: &["-c", "-v", "-h", "--version", "--help", "--copyright"],
    plus_options: false,
    any_long_flag: false,
    code_ends_options: false,
};

/// Parses `args` (argv without argv\[0\]) as `kind` reads them.
pub(super) fn parse(kind: Interpreter, args: &[String]) -> Verdict {
    match kind {
        Interpreter::Bash => parse_with(&BASH, args),
        Interpreter::Sh | Interpreter::Dash => parse_with(&POSIX_SH, args),
        Interpreter::Ksh => parse_with(&KSH, args),
        Interpreter::Zsh => parse_with(&ZSH, args),
        Interpreter::Fish => parse_with(&FISH, args),
        Interpreter::Python => parse_with(&PYTHON, args),
        Interpreter::Node => parse_with(&NODE, args),
        Interpreter::Ruby => parse_with(&RUBY, args),
        // A REPL, whatever its options say, unless it runs code and exits.
        Interpreter::IPython | Interpreter::Ptpython | Interpreter::Bpython => enhanced_repl(args),
        Interpreter::Irb => Verdict::Interactive("a REPL"),
    }
}

/// The state of a parse.
#[derive(Default)]
struct Seen {
    runs: Option<&'static str>,
    /// python `-m NAME`: the module and the arguments after it.
    module: Option<(String, Vec<String>)>,
    interactive: bool,
    stdin: bool,
    exits: bool,
}

fn parse_with(g: &Grammar, args: &[String]) -> Verdict {
    let mut seen = Seen::default();
    let mut i = 0;
    let mut operand = None;
    let mut stop = false;
    while i < args.len() && !stop {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--" {
            operand = args.get(i).map(|_| i);
            break;
        }
        if arg == "-" {
            // The program comes from stdin: the terminal.
            seen.stdin = true;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline_value) = match long.split_once('=') {
                Some((name, _)) => (format!("--{name}"), true),
                None => (arg.to_string(), false),
            };
            let name = name.as_str();
            if let Some(run) = g.run_options.iter().find(|o| **o == name) {
                seen.runs = Some(run);
                if !inline_value {
                    i += 1;
                }
            } else if g.interactive_options.contains(&name) {
                seen.interactive = true;
            } else if g.stdin_options.contains(&name) {
                seen.stdin = true;
            } else if g.exit_options.contains(&name) {
                seen.exits = true;
            } else if g.long_values.contains(&name) {
                if !inline_value {
                    i += 1;
                }
            } else if !(g.long_flags.contains(&name) || (g.any_long_flag && !inline_value)) {
                return Verdict::Unclassified(arg.to_string());
            }
            continue;
        }
        let plus = g.plus_options && arg.starts_with('+') && arg.len() > 1;
        let dashed_option = arg.starts_with('-') && arg.len() > 1;
        if !(dashed_option || plus) {
            operand = Some(i - 1);
            break;
        }
        // A cluster of single letters: `-il`, `-xo pipefail`, `-Wdefault`.
        let letters: Vec<char> = arg.chars().skip(1).collect();
        for (at, c) in letters.iter().copied().enumerate() {
            let dashed = format!("-{c}");
            let attached = at + 1 < letters.len();
            if !plus && let Some(run) = g.run_options.iter().find(|o| **o == dashed) {
                seen.runs = Some(run);
                // A shell's `-c` is a flag (its command string is the first
                // operand); python's, node's and ruby's take the code,
                // attached or next.
                if g.plus_options {
                    continue;
                }
                if dashed == "-m" {
                    let (name, after) = if attached {
                        (letters[at + 1..].iter().collect(), i)
                    } else {
                        (args.get(i).cloned().unwrap_or_default(), i + 1)
                    };
                    seen.module = Some((name, args.get(after..).unwrap_or_default().to_vec()));
                }
                if !attached {
                    i += 1;
                }
                if g.code_ends_options {
                    stop = true;
                }
                break;
            }
            if g.short_values.contains(&c) {
                if !attached {
                    i += 1;
                }
                break;
            }
            if !plus && g.interactive_options.contains(&dashed.as_str()) {
                seen.interactive = true;
            } else if !plus && g.stdin_options.contains(&dashed.as_str()) {
                seen.stdin = true;
            } else if g.exit_options.contains(&dashed.as_str()) && letters.len() == 1 {
                seen.exits = true;
            } else if !(g.short_flags.contains(&c) || plus && c.is_ascii_alphabetic()) {
                return Verdict::Unclassified(arg.to_string());
            }
        }
    }
    if seen.interactive {
        return Verdict::Interactive("interactive (-i)");
    }
    if let Some((name, rest)) = seen.module {
        return Verdict::Module { name, rest };
    }
    if let Some(run) = seen.runs {
        return Verdict::Runs(run_what(run));
    }
    if seen.exits {
        return Verdict::Runs("an option that exits at once");
    }
    if seen.stdin {
        return Verdict::Interactive("reads its program from the terminal");
    }
    match operand.and_then(|at| args.get(at)) {
        Some(path) => Verdict::Script {
            path: path.clone(),
            rest: args
                .get(operand.unwrap_or(0) + 1..)
                .unwrap_or_default()
                .to_vec(),
        },
        None => Verdict::Interactive("interactive"),
    }
}

fn run_what(option: &str) -> &'static str {
    match option {
        "-m" => "a module (-m)",
        "-e" | "--eval" => "code given with -e",
        "-p" | "--print" => "code given with -p",
        "--command" => "a command (--command)",
        _ => "a command (-c)",
    }
}

/// IPython, ptpython, bpython: a REPL unless told to run code (`-c`,
/// `-m`) or a file (`x.py`) without `-i`. Their other options are many
/// and change between releases; none of them makes the terminal's input
/// anything but Python, so they are not parsed further.
fn enhanced_repl(args: &[String]) -> Verdict {
    let interactive = args.iter().any(|a| a == "-i" || a == "--interactive");
    let runs = args.iter().any(|a| {
        matches!(
            a.as_str(),
            "-c" | "-m" | "--version" | "-V" | "--help" | "-h"
        ) || (!a.starts_with('-') && (a.ends_with(".py") || a.ends_with(".ipy")))
    });
    if runs && !interactive {
        Verdict::Runs("code or a file given on its command line")
    } else {
        Verdict::Interactive("a REPL")
    }
}
