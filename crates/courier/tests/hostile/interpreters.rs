//! The interpreters the hostile corpus runs against: how each is started
//! with no user configuration (no rc file, no history file of the person's,
//! cwd and HOME in temp dirs), which language it reads, and whether this
//! machine has it.
//!
//! The enhanced Python REPLs come from `target/pyenv` (installed by
//! `scripts/test.sh`), found through `COURIER_TEST_PYENV_BIN`; the others are
//! Debian packages on `PATH`. Under `CI=true` a missing interpreter fails the
//! test, so CI can never skip a row without anyone noticing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The grammar an interpreter reads, which decides the corpus it gets and
/// how a payload spells "start a process that creates this file".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lang {
    /// POSIX-style shells: bash, dash, zsh, ksh.
    Sh,
    Fish,
    Python,
    Node,
    Ruby,
}

impl Lang {
    /// A statement that starts a process (`touch`) creating `marker`.
    pub fn payload(self, marker: &Path) -> String {
        let m = marker.display();
        match self {
            Lang::Sh | Lang::Fish => format!("touch {m}"),
            Lang::Python => format!("__import__('os').system('touch {m}')"),
            Lang::Node => format!("require('child_process').execSync('touch {m}')"),
            Lang::Ruby => format!("system('touch {m}')"),
        }
    }

    /// A harmless statement that succeeds (so `PRE; PAYLOAD` and
    /// `PRE && PAYLOAD` reach the payload when run).
    pub fn harmless(self) -> &'static str {
        match self {
            Lang::Sh | Lang::Fish => "true",
            Lang::Python | Lang::Ruby => "x = 1",
            Lang::Node => "1",
        }
    }

    /// A statement holding a literal of `len` characters.
    pub fn long_statement(self, len: usize) -> String {
        let filler = "a".repeat(len);
        match self {
            Lang::Sh | Lang::Fish => format!("true {filler}"),
            Lang::Python | Lang::Ruby | Lang::Node => format!("x = '{filler}'"),
        }
    }
}

/// One interpreter as the test starts it.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// Short name used in agent names and the table (`zsh-f`, `ipython`).
    pub id: &'static str,
    /// What the table says it is.
    pub label: &'static str,
    pub lang: Lang,
    /// Program and arguments; `{home}` is replaced by the run's HOME.
    command: Vec<String>,
    /// Extra environment (besides the clean-config variables every run gets).
    env: Vec<(&'static str, &'static str)>,
}

/// Where a run lives: cwd and HOME, both fresh temp dirs.
#[derive(Debug, Clone)]
pub struct RunDirs {
    pub cwd: PathBuf,
    pub home: PathBuf,
}

impl Interpreter {
    /// The program this interpreter's row needs, when it is not on this
    /// machine: a message for the table and for the failure under CI.
    pub fn missing(&self) -> Option<String> {
        let program = &self.command[0];
        let found = if program.contains('/') {
            Path::new(program).is_file()
        } else {
            on_path(program)
        };
        (!found).then(|| format!("{} ({program}) is not installed", self.label))
    }

    /// The spawn request's `command`.
    pub fn command(&self, dirs: &RunDirs) -> Vec<String> {
        let home = dirs.home.display().to_string();
        self.command
            .iter()
            .map(|a| a.replace("{home}", &home))
            .collect()
    }

    /// The spawn request's `env`: every place a shell or REPL looks for a
    /// person's configuration or history points into the run's own HOME.
    pub fn env(&self, dirs: &RunDirs) -> BTreeMap<String, String> {
        let home = dirs.home.display().to_string();
        let mut env: BTreeMap<String, String> = [
            ("HOME", home.clone()),
            ("XDG_CONFIG_HOME", format!("{home}/.config")),
            ("XDG_DATA_HOME", format!("{home}/.local/share")),
            ("XDG_CACHE_HOME", format!("{home}/.cache")),
            ("ZDOTDIR", home.clone()),
            ("HISTFILE", format!("{home}/.history")),
            ("ENV", "/dev/null".to_string()),
            ("BASH_ENV", "/dev/null".to_string()),
            ("INPUTRC", "/dev/null".to_string()),
            ("PYTHONSTARTUP", "/dev/null".to_string()),
            ("IRBRC", "/dev/null".to_string()),
            ("NODE_REPL_HISTORY", String::new()),
            ("TERM", "xterm-256color".to_string()),
            ("NO_COLOR", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in &self.env {
            env.insert(k.to_string(), v.replace("{home}", &home));
        }
        env
    }

    /// The line typed by hand (not a message) after each body: it creates
    /// `file` in this interpreter's own language. Its appearing proves the
    /// interpreter has read and finished everything typed before it.
    pub fn sentinel(&self, file: &Path) -> String {
        let f = file.display();
        match self.lang {
            Lang::Sh | Lang::Fish => format!("touch {f}"),
            Lang::Python => format!("open('{f}', 'w').close()"),
            Lang::Node => format!("require('fs').writeFileSync('{f}', '')"),
            Lang::Ruby => format!("File.write('{f}', '')"),
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// The directory holding ipython, ptpython and bpython:
/// `COURIER_TEST_PYENV_BIN`, else the workspace's `target/pyenv/bin`.
pub fn pyenv_bin() -> PathBuf {
    std::env::var_os("COURIER_TEST_PYENV_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin"))
}

fn interp(
    id: &'static str,
    label: &'static str,
    lang: Lang,
    command: &[&str],
    env: &[(&'static str, &'static str)],
) -> Interpreter {
    Interpreter {
        id,
        label,
        lang,
        command: command.iter().map(|s| s.to_string()).collect(),
        env: env.to_vec(),
    }
}

/// Every interpreter of the conformance table, in table order.
pub fn all() -> Vec<Interpreter> {
    let pyenv = pyenv_bin();
    let py = |name: &str| pyenv.join(name).display().to_string();
    let (ipython, ptpython, bpython) = (py("ipython"), py("ptpython"), py("bpython"));
    vec![
        interp(
            "bash",
            "bash --norc",
            Lang::Sh,
            &["bash", "--norc", "--noprofile", "-i"],
            &[("PS1", "$ ")],
        ),
        // The same bash behind an option that takes a value and behind a
        // wrapper: guessing from the spawn's arguments missed both (issue 19).
        interp(
            "bash-rcfile",
            "bash --rcfile F",
            Lang::Sh,
            &["bash", "--rcfile", "/dev/null", "-i"],
            &[("PS1", "$ ")],
        ),
        interp(
            "env-bash",
            "env bash --norc",
            Lang::Sh,
            &["env", "bash", "--norc", "--noprofile", "-i"],
            &[("PS1", "$ ")],
        ),
        interp(
            "dash",
            "sh (dash)",
            Lang::Sh,
            &["dash", "-i"],
            &[("PS1", "$ ")],
        ),
        // zsh -f: no rc files, so `interactive_comments` is off, as on many
        // machines; `#` then starts no comment at all.
        interp(
            "zsh-f",
            "zsh -f",
            Lang::Sh,
            &["zsh", "-f", "-i"],
            &[("PS1", "%% ")],
        ),
        // -k is `setopt interactive_comments`.
        interp(
            "zsh-ic",
            "zsh -f, interactive_comments",
            Lang::Sh,
            &["zsh", "-f", "-k", "-i"],
            &[("PS1", "%% ")],
        ),
        interp("ksh", "ksh93", Lang::Sh, &["ksh", "-i"], &[("PS1", "$ ")]),
        interp(
            "fish",
            "fish",
            Lang::Fish,
            &["fish", "--no-config", "-i"],
            &[],
        ),
        interp(
            "python3",
            "python3",
            Lang::Python,
            &["python3", "-I", "-i", "-q"],
            &[],
        ),
        Interpreter {
            id: "ipython",
            label: "IPython",
            lang: Lang::Python,
            command: vec![
                ipython,
                "--no-banner".into(),
                "--ipython-dir={home}/.ipython".into(),
                "--HistoryManager.enabled=False".into(),
            ],
            env: vec![],
        },
        Interpreter {
            id: "ptpython",
            label: "ptpython",
            lang: Lang::Python,
            command: vec![ptpython],
            env: vec![],
        },
        Interpreter {
            id: "bpython",
            label: "bpython",
            lang: Lang::Python,
            command: vec![bpython],
            env: vec![],
        },
        interp("node", "node", Lang::Node, &["node", "-i"], &[]),
        interp(
            "irb",
            "irb",
            Lang::Ruby,
            &["irb", "-f", "--nocolorize", "--noautocomplete"],
            &[],
        ),
    ]
}

/// The interpreters this machine has, and a note for each one it lacks.
/// Under `CI=true` a missing one panics: CI must run every row.
pub fn available(wanted: Vec<Interpreter>) -> (Vec<Interpreter>, Vec<String>) {
    let mut have = Vec::new();
    let mut missing = Vec::new();
    for i in wanted {
        match i.missing() {
            None => have.push(i),
            Some(why) => missing.push(why),
        }
    }
    if !missing.is_empty() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true and interpreters are missing: {}; run scripts/test.sh, which installs \
             them (apt-get: zsh fish ksh ruby nodejs; pip into target/pyenv: ipython ptpython \
             bpython), or set COURIER_TEST_PYENV_BIN",
            missing.join("; ")
        );
    }
    for note in &missing {
        eprintln!("!!! hostile corpus: SKIPPING a row: {note} (this fails under CI=true)");
    }
    (have, missing)
}
