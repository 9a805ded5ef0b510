//! Programs that run another program (`env bash`, `sudo -u x node`,
//! `script -qc zsh /dev/null`): the command they run, found through their
//! own option grammar.
//!
//! On the live terminal most of them are gone (they exec) or stay as the
//! parent of the real reader, which the process walk finds; this reads
//! them where only their arguments are known (a spawn's command, a
//! process caught before its exec).

/// A known wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wrapper {
    Env,
    Sudo,
    Nice,
    Nohup,
    Timeout,
    Stdbuf,
    Setsid,
    Script,
}

/// One wrapper's options: those with a value (short letters and long
/// names), and those without.
struct Options {
    short_values: &'static [char],
    short_flags: &'static [char],
    long_values: &'static [&'static str],
    long_flags: &'static [&'static str],
}

impl Wrapper {
    pub(super) fn from_program(path: &str) -> Option<Wrapper> {
        Some(match path.rsplit('/').next().unwrap_or(path) {
            "env" => Wrapper::Env,
            "sudo" => Wrapper::Sudo,
            "nice" => Wrapper::Nice,
            "nohup" => Wrapper::Nohup,
            "timeout" => Wrapper::Timeout,
            "stdbuf" => Wrapper::Stdbuf,
            "setsid" => Wrapper::Setsid,
            "script" => Wrapper::Script,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Wrapper::Env => "env",
            Wrapper::Sudo => "sudo",
            Wrapper::Nice => "nice",
            Wrapper::Nohup => "nohup",
            Wrapper::Timeout => "timeout",
            Wrapper::Stdbuf => "stdbuf",
            Wrapper::Setsid => "setsid",
            Wrapper::Script => "script",
        }
    }

    fn options(self) -> Options {
        match self {
            Wrapper::Env => Options {
                short_values: &['u', 'C', 'S', 'P'],
                short_flags: &['i', '0', 'v'],
                long_values: &["--unset", "--chdir", "--split-string"],
                long_flags: &[
                    "--ignore-environment",
                    "--null",
                    "--debug",
                    "--default-signal",
                    "--ignore-signal",
                    "--block-signal",
                ],
            },
            Wrapper::Sudo => Options {
                short_values: &['u', 'g', 'C', 'D', 'p', 'r', 't', 'T', 'U', 'c', 'h', 'R'],
                short_flags: &['A', 'b', 'E', 'H', 'k', 'K', 'n', 'P', 'S', 'B', 'N'],
                long_values: &[
                    "--user",
                    "--group",
                    "--close-from",
                    "--chdir",
                    "--prompt",
                    "--role",
                    "--type",
                    "--command-timeout",
                    "--other-user",
                    "--login-class",
                    "--host",
                    "--chroot",
                ],
                long_flags: &[
                    "--askpass",
                    "--background",
                    "--preserve-env",
                    "--set-home",
                    "--reset-timestamp",
                    "--non-interactive",
                    "--preserve-groups",
                    "--stdin",
                    "--bell",
                    "--no-update",
                ],
            },
            Wrapper::Nice => Options {
                short_values: &['n'],
                short_flags: &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
                long_values: &["--adjustment"],
                long_flags: &[],
            },
            Wrapper::Nohup => Options {
                short_values: &[],
                short_flags: &[],
                long_values: &[],
                long_flags: &[],
            },
            Wrapper::Timeout => Options {
                short_values: &['k', 's'],
                short_flags: &['p', 'v', 'f'],
                long_values: &["--kill-after", "--signal"],
                long_flags: &["--foreground", "--preserve-status", "--verbose"],
            },
            Wrapper::Stdbuf => Options {
                short_values: &['i', 'o', 'e'],
                short_flags: &[],
                long_values: &["--input", "--output", "--error"],
                long_flags: &[],
            },
            Wrapper::Setsid => Options {
                short_values: &[],
                short_flags: &['c', 'f', 'w'],
                long_values: &[],
                long_flags: &["--ctty", "--fork", "--wait"],
            },
            Wrapper::Script => Options {
                short_values: &['c', 'E', 'I', 'O', 'B', 'T', 'm', 'o'],
                short_flags: &['a', 'e', 'f', 'q', 't'],
                long_values: &[
                    "--command",
                    "--echo",
                    "--log-in",
                    "--log-out",
                    "--log-io",
                    "--log-timing",
                    "--logging-format",
                    "--output-limit",
                ],
                long_flags: &["--append", "--return", "--flush", "--force", "--quiet"],
            },
        }
    }

    /// The argv the wrapper runs, given its own arguments (without its
    /// argv\[0\]). Empty: it runs nothing it names (`env` alone prints
    /// the environment; `script` without `-c` starts `$SHELL`). Err: an
    /// option it does not know.
    pub(super) fn command(self, args: &[String]) -> Result<Vec<String>, String> {
        let options = self.options();
        // The values of the options that name the command: env -S, script -c.
        let mut command_string = None;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            if arg == "--" {
                i += 1;
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((name, value)) => (format!("--{name}"), Some(value.to_string())),
                    None => (arg.to_string(), None),
                };
                if options.long_values.contains(&name.as_str()) {
                    let value = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            args.get(i).cloned().unwrap_or_default()
                        }
                    };
                    if matches!(name.as_str(), "--split-string" | "--command") {
                        command_string = Some(value);
                    }
                } else if !options.long_flags.contains(&name.as_str()) {
                    return Err(format!("{}: unknown option {arg:?}", self.name()));
                }
                i += 1;
                continue;
            }
            if !(arg.starts_with('-') && arg.len() > 1) {
                break;
            }
            let letters: Vec<char> = arg.chars().skip(1).collect();
            for (at, c) in letters.iter().copied().enumerate() {
                if options.short_values.contains(&c) {
                    let value = if at + 1 < letters.len() {
                        letters[at + 1..].iter().collect()
                    } else {
                        i += 1;
                        args.get(i).cloned().unwrap_or_default()
                    };
                    if matches!((self, c), (Wrapper::Env, 'S') | (Wrapper::Script, 'c')) {
                        command_string = Some(value);
                    }
                    break;
                }
                if !options.short_flags.contains(&c) {
                    return Err(format!("{}: unknown option {arg:?}", self.name()));
                }
            }
            i += 1;
        }
        let mut rest: Vec<String> = args.get(i..).unwrap_or_default().to_vec();
        match self {
            // NAME=VALUE before the command.
            Wrapper::Env | Wrapper::Sudo => {
                let assignments = rest
                    .iter()
                    .take_while(|a| a.split_once('=').is_some_and(|(k, _)| !k.is_empty()))
                    .count();
                rest.drain(..assignments);
            }
            // `timeout DURATION COMMAND`.
            Wrapper::Timeout if !rest.is_empty() => {
                rest.remove(0);
            }
            _ => {}
        }
        if let Some(string) = command_string {
            // `env -S 'bash --norc' x`: the words of the string, then the rest.
            // `script -c CMD [file]`: the file is script's log, not an argument.
            let mut words: Vec<String> = string.split_whitespace().map(str::to_string).collect();
            if self == Wrapper::Env {
                words.extend(rest);
            }
            return Ok(words);
        }
        if self == Wrapper::Script {
            return Ok(Vec::new());
        }
        Ok(rest)
    }
}
