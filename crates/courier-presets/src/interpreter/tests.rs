use super::*;

fn id(exe: Option<&str>, argv: &[&str]) -> Identified {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    identify(exe, &argv)
}

fn kind(argv: &[&str]) -> Option<Interpreter> {
    id(None, argv).interpreter
}

#[test]
fn interactive_shells_are_found_through_options_that_take_a_value() {
    use Interpreter::*;
    assert_eq!(kind(&["bash", "--rcfile", "/tmp/rc"]), Some(Bash));
    assert_eq!(kind(&["bash", "--init-file", "rc", "-i"]), Some(Bash));
    assert_eq!(kind(&["bash", "--rcfile=rc"]), Some(Bash));
    assert_eq!(kind(&["bash", "-o", "vi", "-O", "extglob"]), Some(Bash));
    assert_eq!(kind(&["bash", "+o", "history"]), Some(Bash));
    assert_eq!(kind(&["bash", "--norc", "--noprofile", "-i"]), Some(Bash));
    assert_eq!(kind(&["bash", "-s", "a", "b"]), Some(Bash));
    assert_eq!(kind(&["/bin/sh"]), Some(Sh));
    assert_eq!(kind(&["dash", "-i"]), Some(Dash));
    assert_eq!(kind(&["ksh93", "-o", "emacs"]), Some(Ksh));
    assert_eq!(kind(&["mksh", "-T", "/dev/tty2"]), Some(Ksh));
    assert_eq!(kind(&["zsh", "-f"]), Some(Zsh));
    assert_eq!(
        kind(&["zsh", "--no-rcs", "-o", "interactive_comments"]),
        Some(Zsh)
    );
    assert_eq!(kind(&["fish", "--no-config", "-C", "set x 1"]), Some(Fish));
    assert_eq!(kind(&["fish", "--init-command", "echo hi"]), Some(Fish));
}

#[test]
fn shells_that_run_a_command_or_a_script_are_not_interpreters_of_their_terminal() {
    assert_eq!(kind(&["bash", "-c", "cat"]), None);
    assert_eq!(kind(&["bash", "-xc", "cat"]), None);
    assert_eq!(kind(&["bash", "--rcfile", "rc", "script.sh"]), None);
    assert_eq!(kind(&["bash", "-o", "errexit", "script.sh"]), None);
    assert_eq!(kind(&["bash", "--", "script.sh"]), None);
    assert_eq!(kind(&["zsh", "-c", "cat"]), None);
    assert_eq!(kind(&["fish", "-c", "cat"]), None);
    assert_eq!(kind(&["fish", "--command=cat"]), None);
    assert_eq!(kind(&["bash", "--version"]), None);
    // -i forces the REPL back.
    assert_eq!(kind(&["bash", "-i", "-c", "x"]), Some(Interpreter::Bash));
}

#[test]
fn python_and_its_enhanced_repls() {
    use Interpreter::*;
    assert_eq!(kind(&["python3"]), Some(Python));
    assert_eq!(
        kind(&["python3.12", "-q", "-W", "ignore", "-X", "dev"]),
        Some(Python)
    );
    assert_eq!(kind(&["python3", "-Wignore", "-i", "x.py"]), Some(Python));
    assert_eq!(kind(&["python3", "-"]), Some(Python));
    assert_eq!(kind(&["python3", "-c", "print(1)"]), None);
    assert_eq!(
        kind(&["python3", "-c", "print(1)", "-i"]),
        None,
        "-i is the code's"
    );
    assert_eq!(kind(&["python3", "-i", "-c", "print(1)"]), Some(Python));
    assert_eq!(kind(&["python3", "-m", "http.server"]), None);
    assert_eq!(kind(&["python3", "-m", "IPython"]), Some(IPython));
    assert_eq!(kind(&["python3", "-q", "-mptpython"]), Some(Ptpython));
    assert_eq!(kind(&["python3", "-m", "bpython", "-c", "1"]), None);
    assert_eq!(kind(&["python3", "-m", "IPython", "x.py"]), None);
    assert_eq!(
        kind(&["python3", "-W", "x.py"]),
        Some(Python),
        "x.py is -W's"
    );
    assert_eq!(kind(&["python3", "script.py"]), None);
    let ipython = id(
        Some("/usr/bin/python3.11"),
        &["/usr/bin/python3", "/usr/local/bin/ipython", "--no-banner"],
    );
    assert_eq!(ipython.interpreter, Some(IPython));
    assert_eq!(ipython.program, "ipython");
    assert_eq!(kind(&["python3", "/x/bin/ptpython"]), Some(Ptpython));
    assert_eq!(kind(&["python3", "-u", "/x/bin/bpython"]), Some(Bpython));
    assert_eq!(kind(&["python3", "/x/bin/ipython3", "-c", "1"]), None);
    assert_eq!(kind(&["ipython", "run.py"]), None);
    assert_eq!(kind(&["ipython", "-i", "run.py"]), Some(IPython));
}

#[test]
fn node_ruby_and_irb() {
    use Interpreter::*;
    assert_eq!(kind(&["node"]), Some(Node));
    assert_eq!(kind(&["node", "-r", "ts-node/register"]), Some(Node));
    assert_eq!(
        kind(&["node", "--require", "x", "--no-warnings"]),
        Some(Node)
    );
    assert_eq!(kind(&["node", "-e", "1"]), None);
    assert_eq!(kind(&["node", "-p", "1"]), None);
    assert_eq!(kind(&["node", "-i", "-e", "1"]), Some(Node));
    assert_eq!(kind(&["node", "server.js"]), None);
    assert_eq!(
        kind(&["node", "--weird-flag"]),
        Some(Node),
        "unclassified: framed"
    );
    assert_eq!(
        kind(&["ruby"]),
        Some(Ruby),
        "reads its program from the terminal"
    );
    assert_eq!(kind(&["ruby", "-e", "1"]), None);
    assert_eq!(kind(&["ruby", "x.rb"]), None);
    assert_eq!(kind(&["irb", "--noecho"]), Some(Irb));
    assert_eq!(kind(&["irb3.1"]), Some(Irb));
}

#[test]
fn wrappers_are_looked_through() {
    let env = id(None, &["env", "bash", "--norc"]);
    assert_eq!(env.interpreter, Some(Interpreter::Bash));
    assert_eq!(env.via, ["env"]);
    assert_eq!(
        kind(&["env", "-i", "PS1=$ ", "-u", "X", "zsh", "-f"]),
        None,
        "after NAME=VALUE, `-u` is the command"
    );
    assert_eq!(
        kind(&["env", "-i", "-u", "X", "PS1=$ ", "zsh", "-f"]),
        Some(Interpreter::Zsh)
    );
    assert_eq!(kind(&["env", "-S", "bash --norc"]), Some(Interpreter::Bash));
    assert_eq!(kind(&["/usr/bin/env", "node"]), Some(Interpreter::Node));
    assert_eq!(
        kind(&["sudo", "-u", "bob", "-E", "python3"]),
        Some(Interpreter::Python)
    );
    assert_eq!(kind(&["nice", "-n", "5", "bash"]), Some(Interpreter::Bash));
    assert_eq!(kind(&["nohup", "fish"]), Some(Interpreter::Fish));
    assert_eq!(
        kind(&["timeout", "-s", "KILL", "1h", "irb"]),
        Some(Interpreter::Irb)
    );
    assert_eq!(
        kind(&["stdbuf", "-oL", "-e", "0", "ruby"]),
        Some(Interpreter::Ruby)
    );
    assert_eq!(kind(&["setsid", "-w", "dash"]), Some(Interpreter::Dash));
    let script = id(None, &["script", "-q", "-c", "zsh -f", "/dev/null"]);
    assert_eq!(script.interpreter, Some(Interpreter::Zsh));
    assert_eq!(script.via, ["script"]);
    let nested = id(None, &["env", "nice", "timeout", "5", "node"]);
    assert_eq!(nested.via, ["env", "nice", "timeout"]);
    assert_eq!(nested.interpreter, Some(Interpreter::Node));
    assert_eq!(kind(&["env"]), None);
    assert_eq!(
        kind(&["script", "-q"]),
        None,
        "starts $SHELL: the process walk sees it"
    );
}

#[test]
fn unknown_programs_get_no_framing() {
    for argv in [
        &["claude"][..],
        &["cat"],
        &["bashful"],
        &["codex", "--yolo"],
        &[],
    ] {
        let who = id(None, argv);
        assert_eq!(who.interpreter, None, "{argv:?}");
        assert_eq!(who.framing(), Framing::None);
    }
}

#[test]
fn the_exe_decides_the_grammar_and_argv0_the_applet() {
    // bash started as `sh`: bash's grammar.
    assert_eq!(
        id(Some("/usr/bin/bash"), &["sh", "--rcfile", "x"]).interpreter,
        Some(Interpreter::Bash)
    );
    assert_eq!(
        id(Some("/bin/busybox"), &["sh"]).interpreter,
        Some(Interpreter::Sh)
    );
}

#[test]
fn each_interpreter_has_its_framing() {
    assert_eq!(Interpreter::Zsh.framing(), Framing::ZshQuoted);
    assert_eq!(Interpreter::Node.framing(), Framing::SlashComment);
    for i in Interpreter::ALL {
        if !matches!(i, Interpreter::Zsh | Interpreter::Node) {
            assert_eq!(i.framing(), Framing::HashComment, "{i:?}");
        }
        assert_eq!(Interpreter::from_name(i.name()), Some(i));
    }
}

#[test]
fn framing_choices_parse_or_name_the_accepted_values() {
    assert_eq!(FramingChoice::parse("auto"), Ok(FramingChoice::Auto));
    assert_eq!(FramingChoice::parse("none"), Ok(FramingChoice::None));
    assert_eq!(
        FramingChoice::parse("zsh"),
        Ok(FramingChoice::As(Interpreter::Zsh))
    );
    assert_eq!(
        FramingChoice::parse("ruby"),
        Ok(FramingChoice::As(Interpreter::Ruby))
    );
    let err = FramingChoice::parse("cobol").unwrap_err();
    assert!(err.contains("\"cobol\"") && err.contains("node"), "{err}");
}
