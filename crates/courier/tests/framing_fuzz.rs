//! Fuzzing the framing (issue 19): proptest builds hostile bodies from the
//! dangerous tokens of shells and JavaScript (`;`, `&&`, `|`, `$(`, backticks,
//! quotes, backslashes, heredocs, history expansion, `/*`, `${`, bracketed
//! paste ends), random Unicode (every line terminator included) and a payload
//! that starts a process creating a marker file; each body is sent through a
//! real broker to a real `bash --norc -i`, `zsh -f -i` and `node -i` with the
//! broker's default framing, and no marker may appear.
//!
//! Each case is one message, so the default case count is small (the test
//! runs in CI): `FUZZ_CASES` (default 16 per interpreter) for longer runs,
//! e.g. `FUZZ_CASES=500 cargo test -p courier --test framing_fuzz --
//! --nocapture`. Needs `cargo build -p courier --bins -p courier-fake-agent`
//! first, and zsh and node installed (`scripts/test.sh` installs them; under
//! `CI=true` a missing one fails the test). A failure names the body after
//! shrinking, and the interpreter.

mod common;
mod hostile;

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use common::Broker;
use hostile::corpus::Body;
use hostile::interpreters::{self, Interpreter, Lang};
use hostile::run::{Column, Runner};

/// Where the generated body puts the payload; replaced per case.
const PAYLOAD: &str = "\u{0}P\u{0}";

/// The tokens that open, close or chain something in a shell or in JS.
const DANGEROUS: &[&str] = &[
    ";",
    "&&",
    "||",
    "|",
    "&",
    "$(",
    ")",
    "(",
    "`",
    "'",
    "\"",
    "\\",
    "\n",
    "\r",
    "\r\n",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{b}",
    "\u{c}",
    "<<EOF\n",
    "\nEOF\n",
    "!!",
    "!-1",
    "^a^b",
    "#",
    "# ",
    "//",
    "/*",
    "*/",
    "${",
    "}",
    "=(",
    "$'",
    "\u{1b}[201~",
    "\u{1b}",
    "\u{9b}",
    "\t",
    " ",
    "{",
    "<(",
    ">",
    "<",
    "\\\n",
    "'''",
    ":",
    "=begin\n",
    "\n=end\n",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(DANGEROUS).prop_map(str::to_string),
        2 => Just(PAYLOAD.to_string()),
        2 => "[a-z ]{0,6}",
        // Any character but NUL (which no JSON body carries to a terminal
        // anyway, and which marks the payload here).
        1 => any::<char>().prop_filter("not NUL", |c| *c != '\u{0}').prop_map(String::from),
    ]
}

/// What puts a payload in a position to run if the framing let it: a
/// separator before it, or a construct around it.
const AROUND_PAYLOAD: &[(&str, &str)] = &[
    (";", ""),
    ("; ", ""),
    ("|", ""),
    ("||", ""),
    ("&&", ""),
    ("&", ""),
    ("\n", ""),
    ("\r", ""),
    // JavaScript's own line terminators twice: the likeliest hole in `// `.
    ("\u{2028}", ""),
    ("\u{2029}", ""),
    ("\u{2028}", ""),
    ("\u{2029}", ""),
    ("\u{85}", ""),
    ("\u{b}", ""),
    ("\u{c}", ""),
    ("$(", ")"),
    ("`", "`"),
    ("=(", ")"),
    ("<(", ")"),
    ("${", "}"),
    ("*/", ""),
    ("'\n';", ""),
    ("\"\n\";", ""),
    ("\\\n;", ""),
    ("\u{1b}[201~\n", ""),
    ("\n!!\n", ""),
    ("<<EOF\nEOF\n", ""),
];

/// Noise, a payload in one of the positions above, more noise.
fn body() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(token(), 0..8),
        proptest::sample::select(AROUND_PAYLOAD),
        proptest::collection::vec(token(), 0..6),
    )
        .prop_map(|(before, (open, close), after)| {
            format!(
                "{}{open}{PAYLOAD}{close}{}",
                before.concat(),
                after.concat()
            )
        })
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(16)
}

static CASE: AtomicUsize = AtomicUsize::new(0);

/// Runs the fuzz cases against one interpreter; the shrunk failing body, if
/// one ran anything.
fn fuzz(broker: &Broker, interp: &Interpreter, root: &std::path::Path) -> Result<(), String> {
    let runner = RefCell::new(Runner::new(broker, interp, Column::Framed, root));
    let mut proptest = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 24,
        ..Config::default()
    });
    let lang: Lang = interp.lang;
    let outcome = proptest.run(&body(), |text| {
        let n = CASE.fetch_add(1, Ordering::Relaxed);
        let id: &'static str = Box::leak(format!("fuzz{n}").into_boxed_str());
        let case = Body {
            id,
            what: "fuzzed",
            build: Box::new(move |c| vec![text.replace(PAYLOAD, &c.p)]),
        };
        let mut runner = runner.borrow_mut();
        let before = runner.created();
        let cell = runner.one(&case);
        // Any new file counts, whatever its name: noise after the payload
        // may have changed the marker's name.
        let created: Vec<String> = runner
            .created()
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if cell.executed || !created.is_empty() {
            return Err(TestCaseError::fail(format!(
                "{lang:?} ran a framed body: created {created:?}"
            )));
        }
        Ok(())
    });
    runner.borrow_mut().finish();
    outcome.map_err(|e| format!("{}: {e}", interp.label))
}

#[test]
fn fuzzed_bodies_run_nothing_in_bash_zsh_and_node() {
    let wanted = interpreters::all()
        .into_iter()
        .filter(|i| matches!(i.id, "bash" | "zsh-f" | "node"))
        .collect();
    let (interps, _) = interpreters::available(wanted);
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &["--typing-hold-ms", "0"]);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = interps
            .iter()
            .map(|interp| s.spawn(|| fuzz(&broker, interp, root.path())))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    eprintln!(
        "framing fuzz: {} case(s) per interpreter, {} interpreter(s), {} failure(s)",
        cases(),
        interps.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    broker.stop_and_check();
}
