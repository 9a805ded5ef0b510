//! Programs that execute what is typed into them (shells, REPLs): a message
//! typed into one must not be a command. Each line of it is framed as a
//! comment in the program's own syntax, so it arrives as text and runs
//! nothing (`# ` for sh, bash, zsh, python; `// ` for node).
//!
//! A raw command counts only when it is the interactive program itself:
//! `bash -i`, `python3 -q`, but not `bash -c '…'` or `python3 script.py`,
//! whose input goes to something else.

/// Known interactive programs and the comment that makes a line inert.
const KNOWN: &[(&str, &str)] = &[
    ("sh", "# "),
    ("bash", "# "),
    ("zsh", "# "),
    ("dash", "# "),
    ("ksh", "# "),
    ("fish", "# "),
    ("python", "# "),
    ("python3", "# "),
    ("ipython", "# "),
    ("ipython3", "# "),
    ("irb", "# "),
    ("node", "// "),
];

/// The prefix that makes each line of a message inert for `program` run
/// with `args`, when it is a known shell or REPL reading from its terminal.
pub fn inert_prefix_for(program: &str, args: &[String]) -> Option<&'static str> {
    let name = program.rsplit('/').next().unwrap_or(program);
    // python3.12 → python3
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let base = if base.is_empty() { name } else { base };
    let prefix = KNOWN
        .iter()
        .find(|(known, _)| *known == name || *known == base || format!("{base}3") == *known)
        .map(|(_, prefix)| *prefix)?;
    // `-c CODE`, `-m MODULE`, `-e CODE` or a script: the input is not the REPL's.
    let runs_something = args
        .iter()
        .any(|a| matches!(a.as_str(), "-c" | "-m" | "-e" | "--eval") || !a.starts_with('-'));
    (!runs_something).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn interactive_shells_and_repls_get_their_comment() {
        assert_eq!(
            inert_prefix_for("bash", &args(&["--norc", "-i"])),
            Some("# ")
        );
        assert_eq!(
            inert_prefix_for("/usr/bin/python3", &args(&["-i", "-q"])),
            Some("# ")
        );
        assert_eq!(inert_prefix_for("python3.12", &[]), Some("# "));
        assert_eq!(inert_prefix_for("node", &[]), Some("// "));
        assert_eq!(inert_prefix_for("zsh", &[]), Some("# "));
    }

    #[test]
    fn programs_that_run_something_else_or_unknown_ones_keep_plain_text() {
        assert_eq!(inert_prefix_for("bash", &args(&["-c", "cat"])), None);
        assert_eq!(inert_prefix_for("python3", &args(&["script.py"])), None);
        assert_eq!(
            inert_prefix_for("python3", &args(&["-m", "http.server"])),
            None
        );
        assert_eq!(inert_prefix_for("cat", &[]), None);
        assert_eq!(inert_prefix_for("claude", &[]), None);
        assert_eq!(inert_prefix_for("bashful", &[]), None);
    }
}
