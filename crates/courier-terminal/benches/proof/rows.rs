//! The rows of the proof bench: which program, with which options, and
//! what each row expects.

use std::time::Duration;

use courier_terminal::DeliverOptions;

use super::FEW_MESSAGES;

/// Messages of the idle-while-working row: each waits out a turn of
/// [`WORKING_TURN_MS`], so fewer than the other rows.
pub(crate) const WORKING_MESSAGES: usize = 10;
/// The turn each message of that row starts.
const WORKING_TURN_MS: &str = "1200";

/// What the program is.
pub(crate) enum Program {
    /// The fake agent with these flags (and `--transcript`).
    Fake(Vec<&'static str>),
    Bash,
    Python,
    Cat,
}

/// What the row expects, besides "every delivery proved".
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// ≥ 99 % verified.
    Deliverable,
    /// Input vanishes: nothing verified, everything unverified.
    BlackHole,
    /// Busy for good after the first submission: one verified, then not ready.
    BusyForever,
    /// The editor keeps every message (it does not parse) with an error
    /// under it: nothing verified, everything `not_submitted`.
    Rejected,
}

/// How a submission is compared with the message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The submission is the framed text.
    Text,
    /// No bracketed paste: the one-line form.
    OneLine,
    /// Only the header line is known (python's SyntaxError text): it names
    /// the message id and no other.
    IdOnly,
}

pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) program: Program,
    pub(crate) opts: DeliverOptions,
    pub(crate) form: Form,
    pub(crate) expect: Expect,
    /// The row's own window (a quirk's Enter window, a preset's gap): the
    /// p50 target is this plus [`LATENCY_MARGIN`].
    pub(crate) window: Duration,
    pub(crate) messages: usize,
    /// Readiness from spawn is a target (programs that draw nothing).
    pub(crate) ready_target: bool,
}

pub(crate) fn rows(n: usize) -> Vec<Row> {
    let base = DeliverOptions::default();
    let gap = DeliverOptions {
        enter_gap: Duration::from_millis(160),
        ..base.clone()
    };
    let ms = Duration::from_millis;
    let fake = |name, flags: &[&'static str], opts: &DeliverOptions, window| Row {
        name,
        program: Program::Fake(flags.to_vec()),
        opts: opts.clone(),
        form: Form::Text,
        expect: Expect::Deliverable,
        window,
        messages: n,
        ready_target: false,
    };
    vec![
        fake("fake tui", &[], &base, ms(0)),
        fake(
            "fake tui `--border --width 60`",
            &["--border", "--width", "60"],
            &base,
            ms(0),
        ),
        fake("fake `--mode line`", &["--mode", "line"], &base, ms(0)),
        fake(
            "`--enter-newline-ms 150` (no gap)",
            &["--enter-newline-ms", "150"],
            &base,
            ms(150),
        ),
        fake(
            "`--enter-newline-ms 150`, gap 160 ms",
            &["--enter-newline-ms", "150"],
            &gap,
            ms(150),
        ),
        fake(
            "`--enter-drop-ms 150` (no gap)",
            &["--enter-drop-ms", "150"],
            &base,
            ms(150),
        ),
        fake(
            "`--enter-drop-ms 150`, gap 160 ms",
            &["--enter-drop-ms", "150"],
            &gap,
            ms(150),
        ),
        fake(
            "`--multiline blank-line --mode line`",
            &["--multiline", "blank-line", "--mode", "line"],
            &base,
            ms(0),
        ),
        fake(
            "`--multiline esc-enter`, submit keys Esc+Enter",
            &["--multiline", "esc-enter"],
            &DeliverOptions {
                submit_keys: b"\x1b\r".to_vec(),
                ..base.clone()
            },
            ms(0),
        ),
        fake(
            "`--mode line --continuation \"... \"`",
            &["--mode", "line", "--continuation", "... "],
            &base,
            ms(0),
        ),
        fake(
            "`--mode line --continuation \"   ...: \"`",
            &["--mode", "line", "--continuation", "   ...: "],
            &base,
            ms(0),
        ),
        Row {
            form: Form::OneLine,
            ready_target: true,
            ..fake("`--draw-nothing`", &["--draw-nothing"], &base, ms(0))
        },
        fake(
            "`--busy-ms 300 --busy-queue`, immediate",
            &["--busy-ms", "300", "--busy-queue"],
            &DeliverOptions {
                ready_timeout: None,
                ..base.clone()
            },
            ms(0),
        ),
        Row {
            expect: Expect::BlackHole,
            messages: FEW_MESSAGES,
            ..fake("`--black-hole`", &["--black-hole"], &base, ms(0))
        },
        Row {
            expect: Expect::BusyForever,
            messages: FEW_MESSAGES,
            ..fake(
                "`--busy-forever`, ready timeout 1 s",
                &["--busy-forever"],
                &DeliverOptions {
                    ready_timeout: Some(Duration::from_secs(1)),
                    ..base.clone()
                },
                ms(0),
            )
        },
        // Issue 19 case 4: a status line redrawn once a second (slower than
        // the quiet window) and a turn that takes what is typed meanwhile.
        // Idle delivery with the preset's busy pattern must type nothing
        // into a running turn (the oracle groups each turn's submissions:
        // a merged turn names several messages).
        Row {
            messages: n.min(WORKING_MESSAGES),
            ..fake(
                "`--merge-while-busy --busy-ms 1200`, idle, busy pattern",
                &["--merge-while-busy", "--busy-ms", WORKING_TURN_MS],
                &DeliverOptions {
                    readiness: base
                        .readiness
                        .clone()
                        .with_busy(&["esc to interrupt".to_string()], &[])
                        .expect("a literal pattern compiles"),
                    ..base.clone()
                },
                ms(0),
            )
        },
        Row {
            expect: Expect::Rejected,
            messages: FEW_MESSAGES,
            ..fake(
                "`--reject-unparsable` (error under kept text)",
                &["--reject-unparsable"],
                &base,
                ms(0),
            )
        },
        Row {
            name: "bash",
            program: Program::Bash,
            ..fake("", &[], &base, ms(0))
        },
        Row {
            name: "python3",
            program: Program::Python,
            form: Form::IdOnly,
            ..fake("", &[], &base, ms(0))
        },
        Row {
            name: "cat",
            program: Program::Cat,
            form: Form::OneLine,
            ready_target: true,
            ..fake("", &[], &base, ms(0))
        },
    ]
}
