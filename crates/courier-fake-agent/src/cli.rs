//! `courier-fake-agent`: a program that behaves like the agent terminals Courier must drive (full
//! screen TUIs and plain REPLs), with one flag per quirk. See docs/fake-agent.md.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser, ValueEnum};

use crate::app::{App, Config, Mode, Outcome};
use crate::config::Multiline;
use crate::remote::Link;
use crate::tty;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// Full-screen: alternate screen, whole-screen redraw on every keystroke, input box at the bottom.
    Tui,
    /// A plain prompt that echoes typed characters itself, like a REPL.
    Line,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MultilineArg {
    /// Enter on an input of more than one line whose last line is not blank adds a line (Python's
    /// REPL); on a single line, or after a blank last line, it submits.
    BlankLine,
    /// Enter always adds a line; Esc immediately followed by Enter (Alt+Enter: ESC \r in one
    /// read, or \r within the 30 ms escape timeout) submits.
    EscEnter,
}

/// With --multiline and no --continuation, continued lines start with this (Python's REPL).
const MULTILINE_CONTINUATION: &str = "... ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProtocolArg {
    /// The Agent Client Protocol v1 (JSON-RPC 2.0), as `gemini --acp` serves it.
    Acp,
    /// Codex's app server (`codex app-server`): JSON-RPC without the `jsonrpc` member.
    CodexAppServer,
    /// Claude Code headless: `claude -p --input-format stream-json --output-format stream-json`.
    ClaudeStreamJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RefuseAsArg {
    /// The request carrying the input fails with a JSON-RPC error; no turn starts and the input
    /// is not accepted (stream-json has no requests: same as `turn` there).
    Error,
    /// The turn starts and ends refused: ACP stopReason "refusal", a Codex turn completed
    /// "failed", a stream-json result with is_error.
    Turn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

/// A fake agent terminal for Courier's tests: puts its tty in raw mode, draws its own screen, and
/// reproduces on demand the quirks of real agent CLIs (redraw instead of echo, collapsed pastes,
/// lost early input, Enter that does not submit or becomes a newline or is lost, multi-line editors,
/// continuation prompts, programs that draw nothing, trust dialogs, detached helpers, crashes, busy
/// output, queued input). Exits 0 on Ctrl-D in an empty input, on end of input, and on SIGTERM/SIGHUP
/// (130 on SIGINT/Ctrl-C, 2 when the trust dialog is refused, 101 for --crash-after).
#[derive(Debug, Parser)]
#[command(name = "courier-fake-agent", version)]
struct Args {
    /// Append every submitted message as one JSON line {"n":N,"text":"..."} to PATH (n counts from
    /// 1; flushed and fsync'd before the screen shows the message as submitted). With --protocol:
    /// every accepted input, before it is acknowledged, with "via" (the method or message type
    /// that carried it), "turn" (null while queued) and "refused". Default: none.
    #[arg(long, value_name = "PATH")]
    transcript: Option<PathBuf>,

    /// Screen style: tui (full-screen redraw) or line (REPL-like prompt with self-echo).
    #[arg(long, value_enum, default_value = "tui")]
    mode: ModeArg,

    /// The prompt glyph before the input, e.g. "❯", "›", "┃". A space (or NBSP with --nbsp) follows it.
    #[arg(long, value_name = "STR", default_value = ">")]
    prompt: String,

    /// Put a no-break space (U+00A0) after the prompt glyph instead of a space.
    #[arg(long)]
    nbsp: bool,

    /// Draw the input box (tui mode) with borders ╭─╮ │ text │ ╰─╯.
    #[arg(long)]
    border: bool,

    /// Width in columns of the input box (tui mode); text wraps inside it. Default: terminal width.
    #[arg(long, value_name = "N")]
    width: Option<usize>,

    /// on: enable bracketed paste (ESC[?2004h) and take ESC[200~ … ESC[201~ as one paste whose
    /// newlines stay in the input. off: never enable it; every bare \r or \n submits.
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    bracketed_paste: OnOff,

    /// Draw nothing for N ms and discard every byte read meanwhile (input before the first render
    /// is lost).
    #[arg(long, value_name = "N", default_value_t = 0)]
    first_render_delay_ms: u64,

    /// Show a paste of more than N lines as "[Pasted text #k +M lines]" (k counts collapsed pastes
    /// from 1, M = its line count); submitting still records the full text. Default: never.
    #[arg(long, value_name = "N")]
    collapse_over: Option<usize>,

    /// Swallow the first Enter after a paste (the text stays in the box); the next Enter submits.
    #[arg(long)]
    needs_second_enter: bool,

    /// An Enter less than N ms after the end of a bracketed paste becomes a newline in the input
    /// (the text stays; a new, empty continued line is added); a later Enter submits.
    /// Default: off.
    #[arg(long, value_name = "N")]
    enter_newline_ms: Option<u64>,

    /// An Enter less than N ms after the end of a bracketed paste is silently lost; a paste that
    /// follows is appended to the same input, with nothing between. Checked before
    /// --enter-newline-ms. Default: off.
    #[arg(long, value_name = "N")]
    enter_drop_ms: Option<u64>,

    /// A multi-line editor: blank-line (Enter adds a line while the input has more than one line
    /// and its last line is not blank, like Python's REPL) or esc-enter (Enter always adds a line;
    /// Esc then Enter within 30 ms submits). Continued lines start with "... " unless --continuation.
    /// Default: off (Enter submits).
    #[arg(long, value_enum, value_name = "RULE")]
    multiline: Option<MultilineArg>,

    /// The prefix drawn before each continued line of the input (every line of a paste after the
    /// first, and lines added by Enter), e.g. "... " or "   ...: ". Default: "... " with
    /// --multiline; otherwise the prompt's width in spaces (tui) or nothing (line mode).
    #[arg(long, value_name = "STR")]
    continuation: Option<String>,

    /// Behave like `cat`: leave the tty in canonical mode with the kernel's echo, print nothing at
    /// all, and record each line read (without its newline) as one submission; exit 0 at end of
    /// input. Only --transcript and --spawn-grandchild apply.
    #[arg(long)]
    draw_nothing: bool,

    /// First show "Do you trust the files in this folder?" with "❯ 1. Yes, proceed" / "  2. No,
    /// exit": 1 or Enter accepts, 2 or Esc exits with code 2, any other key is ignored.
    #[arg(long)]
    trust_dialog: bool,

    /// At start, double-fork a grandchild that outlives this process (re-parented to init, ignores
    /// SIGHUP and SIGINT, stdio on /dev/null, sleeps 3600 s) and write its pid to PIDFILE. It stays
    /// in this process's process group (so killing the group kills it) unless --grandchild-setsid.
    #[arg(long, value_name = "PIDFILE")]
    spawn_grandchild: Option<PathBuf>,

    /// With --spawn-grandchild: the grandchild calls setsid(), leaving our process group and session.
    #[arg(long, requires = "spawn_grandchild")]
    grandchild_setsid: bool,

    /// Draw the prompt once, then read and silently discard all input forever.
    #[arg(long)]
    black_hole: bool,

    /// When the Nth message starts arriving (first byte of the Nth paste or typed line), exit at
    /// once with code 101 without submitting it. With --protocol: the Nth accepted input is
    /// recorded and its turn starts, then the process exits 101 without answering. Default: never.
    #[arg(long, value_name = "N")]
    crash_after: Option<usize>,

    /// After each submission show "thinking…" output for N ms, then the prompt again.
    #[arg(long, value_name = "N", default_value_t = 0)]
    busy_ms: u64,

    /// While busy, Enter moves the input into a queue shown as "queued: <first line>" rows above
    /// the input (line mode: printed, then a fresh prompt); each end of a busy period submits the
    /// next queued item, which starts a new busy period. Without it, Enter submits while busy (tui)
    /// or keys wait for the prompt (line). Has no effect unless busy (--busy-ms, --busy-forever).
    #[arg(long)]
    busy_queue: bool,

    /// The first submission starts a busy period that never ends: the "thinking…" output goes on
    /// forever (a CLI retrying an unreachable API).
    #[arg(long)]
    busy_forever: bool,

    /// While busy (tui): the busy line is a status line "⠋ Working (Ns · esc to interrupt)"
    /// redrawn once a second, and Enter merges the input into the running turn instead of
    /// starting a new one (the transcript gives each line its `turn` and `merged`).
    #[arg(long)]
    merge_while_busy: bool,

    /// After each submission (and the busy time) show "assistant: TEXT". Default: no reply. With
    /// --protocol: the reply of every turn, "{input}" standing for its inputs (default
    /// "echo: {input}").
    #[arg(long, value_name = "TEXT")]
    reply: Option<String>,

    /// (tui) A multi-line editor that checks its input on Enter, like ptpython: input that does not
    /// parse stays in the box with "SyntaxError: invalid syntax" drawn under it and the cursor left
    /// in the text; nothing is submitted until it is edited. Parses: every line that is not a
    /// comment (first non-blank character `#`) does not start with `[`, and the brackets ()[]{}
    /// pair up; so Courier's framed header `[courier] from …` is refused and `# [courier] …`
    /// accepted. Default: off (Enter submits whatever the input holds).
    #[arg(long)]
    reject_unparsable: bool,

    /// Serve an agent CLI's own protocol as JSON lines on stdin/stdout instead of drawing a
    /// terminal screen. Each turn's reply is "echo: <its inputs>" (see --reply). Of the terminal
    /// flags only --transcript (one line per accepted input), --reply and --crash-after apply.
    /// SIGUSR1 makes the running turn answer at once. Exit 0 at end of input once every turn is
    /// answered. Default: none (a terminal program).
    #[arg(
        long,
        value_enum,
        value_name = "PROTOCOL",
        help_heading = "Protocol modes"
    )]
    protocol: Option<ProtocolArg>,

    /// (protocol) Think time: from a turn's start to its answer.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    think_ms: u64,

    /// (protocol) A slow acknowledgement: each message read waits N ms before it is handled (so
    /// its response, or the first message of its turn, comes N ms late).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    ack_delay_ms: u64,

    /// (protocol) Refuse every input that contains TEXT (see --refuse-as). Default: refuse none.
    #[arg(
        long,
        value_name = "TEXT",
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    refuse: Option<String>,

    /// (protocol) How --refuse refuses.
    #[arg(
        long,
        value_enum,
        default_value = "turn",
        value_name = "HOW",
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    refuse_as: RefuseAsArg,

    /// (protocol) The reason a refusal gives.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "refused by courier-fake-agent",
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    refuse_reason: String,

    /// (protocol) After N answered turns, close stdout (the client reads end of file) while the
    /// process lives on until end of input. Default: never.
    #[arg(
        long,
        value_name = "N",
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    close_stdout_after: Option<usize>,

    /// (codex-app-server) Serve WebSocket clients on the Unix socket PATH (given as unix://PATH;
    /// a stale file there is removed) instead of stdio, as `codex app-server --listen` does: one
    /// JSON-RPC message per text frame, any number of clients sharing the threads. Runs until
    /// SIGTERM/SIGHUP (exit 0) or --crash-after (exit 101).
    #[arg(
        long,
        value_name = "unix://PATH",
        value_parser = unix_socket,
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    listen: Option<PathBuf>,

    /// (tui) Join a Codex app server as its TUI does (`codex --remote unix://PATH`): connect to the
    /// WebSocket on the Unix socket PATH (retrying for up to 10 s), start a thread, send each
    /// submitted message as a turn on it and show every user message and reply of that thread.
    /// When the connection is lost the screen says "app server disconnected" and the fake goes
    /// on as a plain local TUI.
    #[arg(
        long,
        value_name = "unix://PATH",
        value_parser = unix_socket,
        conflicts_with_all = ["protocol", "draw_nothing"]
    )]
    remote: Option<PathBuf>,

    /// (tui, --remote) Show no user message of the thread (only the replies): a TUI that does not
    /// follow what other clients send, for tests of what the screen witnesses.
    #[arg(long, requires = "remote")]
    remote_hides_user_messages: bool,

    /// (claude-stream-json) Echo each accepted user message back at once, "isReplay": true.
    #[arg(long, requires = "protocol", help_heading = "Protocol modes")]
    replay_user_messages: bool,

    /// (acp) Each answered turn runs a tool before its reply: a `tool_call` titled TITLE (kind
    /// "execute", status "in_progress"), then a `tool_call_update` with status "completed".
    /// Default: no tool calls.
    #[arg(
        long,
        value_name = "TITLE",
        requires = "protocol",
        help_heading = "Protocol modes"
    )]
    tool_call: Option<String>,

    /// On every submitted prompt run CMD (`sh -c`) as Claude Code runs a UserPromptSubmit
    /// command hook: its JSON on stdin; `hookSpecificOutput.additionalContext` from its stdout is
    /// shown and written to the transcript. Default: no hook.
    #[arg(long, value_name = "CMD")]
    hook_command: Option<String>,
}

/// `unix://PATH` → PATH.
fn unix_socket(s: &str) -> Result<PathBuf, String> {
    match s.strip_prefix("unix://") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(format!("expected unix://PATH (a Unix socket), got {s:?}")),
    }
}

/// Runs the fake agent with `args` (the first item is the program name).
/// The `courier` binary also runs it as `courier fake-agent …`.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = Args::parse_from(args);
    if args.listen.is_some() && args.protocol != Some(ProtocolArg::CodexAppServer) {
        Args::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--listen is only served with --protocol codex-app-server",
            )
            .exit();
    }
    if args.remote.is_some() && args.mode != ModeArg::Tui {
        Args::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--remote needs --mode tui (the Codex TUI joins an app server)",
            )
            .exit();
    }
    // Fork before anything else, while single-threaded.
    if let Some(pidfile) = &args.spawn_grandchild
        && let Err(e) = tty::spawn_grandchild(pidfile, args.grandchild_setsid)
    {
        eprintln!(
            "courier-fake-agent: cannot start the grandchild ({}): {e}",
            pidfile.display()
        );
        return ExitCode::from(1);
    }
    let transcript = match &args.transcript {
        Some(p) => match crate::transcript::Transcript::open(p) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!(
                    "courier-fake-agent: cannot open transcript {}: {e} (check that its directory exists)",
                    p.display()
                );
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    if let Some(protocol) = args.protocol {
        return ExitCode::from(run_protocol(protocol, &args, transcript));
    }
    if args.draw_nothing {
        tty::install_signal_handlers();
        return ExitCode::from(crate::draw_nothing::run(transcript));
    }
    if args.reject_unparsable && args.mode == ModeArg::Line {
        eprintln!(
            "courier-fake-agent: --reject-unparsable needs --mode tui (the editor draws its error under the input box)"
        );
        return ExitCode::from(2);
    }
    let continuation = args.continuation.or_else(|| {
        args.multiline
            .is_some()
            .then(|| MULTILINE_CONTINUATION.to_string())
    });
    let cfg = Config {
        mode: match args.mode {
            ModeArg::Tui => Mode::Tui,
            ModeArg::Line => Mode::Line,
        },
        prompt: args.prompt,
        nbsp: args.nbsp,
        border: args.border,
        width: args.width,
        bracketed_paste: args.bracketed_paste == OnOff::On,
        first_render_delay: Duration::from_millis(args.first_render_delay_ms),
        collapse_over: args.collapse_over,
        needs_second_enter: args.needs_second_enter,
        enter_newline: args.enter_newline_ms.map(Duration::from_millis),
        enter_drop: args.enter_drop_ms.map(Duration::from_millis),
        multiline: args.multiline.map(|m| match m {
            MultilineArg::BlankLine => Multiline::BlankLine,
            MultilineArg::EscEnter => Multiline::EscEnter,
        }),
        continuation,
        trust_dialog: args.trust_dialog,
        black_hole: args.black_hole,
        crash_after: args.crash_after,
        busy: Duration::from_millis(args.busy_ms),
        busy_queue: args.busy_queue,
        busy_forever: args.busy_forever,
        merge_while_busy: args.merge_while_busy,
        reply: args.reply,
        hook_command: args.hook_command,
        reject_unparsable: args.reject_unparsable,
    };
    tty::install_signal_handlers();
    let raw = tty::RawMode::enable();
    let mut app = App::new(cfg, transcript, tty::window_size(), Instant::now());
    let link = args.remote.map(|path| {
        app.enable_remote(args.remote_hides_user_messages);
        crate::remote::Link::new(path, Instant::now())
    });
    let code = run_app(&mut app, link);
    if code != 101 {
        // A crash leaves the screen as it was; every other exit cleans up.
        write_out(app.goodbye());
    }
    raw.restore();
    ExitCode::from(code)
}

/// Serves `protocol` on stdio with the protocol flags of `args`.
fn run_protocol(
    protocol: ProtocolArg,
    args: &Args,
    transcript: Option<crate::transcript::Transcript>,
) -> u8 {
    use crate::protocol::{Protocol, policy};
    let settings = policy::Settings {
        think: Duration::from_millis(args.think_ms),
        ack_delay: Duration::from_millis(args.ack_delay_ms),
        reply: args.reply.clone(),
        refuse: args.refuse.clone(),
        refuse_reason: args.refuse_reason.clone(),
        refuse_as: match args.refuse_as {
            RefuseAsArg::Error => policy::RefuseAs::Error,
            RefuseAsArg::Turn => policy::RefuseAs::Turn,
        },
        crash_after: args.crash_after,
        close_stdout_after: args.close_stdout_after,
        replay_user_messages: args.replay_user_messages,
        tool_call: args.tool_call.clone(),
    };
    let protocol = match protocol {
        ProtocolArg::Acp => Protocol::Acp,
        ProtocolArg::CodexAppServer => Protocol::CodexAppServer,
        ProtocolArg::ClaudeStreamJson => Protocol::ClaudeStreamJson,
    };
    crate::protocol::run(protocol, settings, transcript, args.listen.as_deref())
}

/// Writes to the terminal; false when it is gone.
fn write_out(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

/// Runs the hook for each prompt submitted since the last call, as the CLI
/// would before the model sees the prompt.
fn run_hooks(app: &mut App) {
    let Some(command) = app.hook_command().map(str::to_string) else {
        return;
    };
    for prompt in app.take_hook_prompts() {
        match crate::hook::run(&command, &prompt) {
            Ok(Some(context)) => app.add_context(&context),
            Ok(None) => {}
            Err(e) => eprintln!("courier-fake-agent: {e}"),
        }
    }
}

/// The main loop; returns the exit code. With `link` (`--remote`) the app server's socket is
/// polled next to the terminal.
fn run_app(app: &mut App, mut link: Option<Link>) -> u8 {
    let mut buf = [0u8; 8192];
    let mut outcome = app.on_timer(Instant::now());
    loop {
        if let Some(link) = &mut link {
            for out in app.take_outgoing() {
                for ev in link.send(out) {
                    app.on_remote(ev, Instant::now());
                }
            }
        }
        if !write_out(&app.take_output()) {
            return 0; // terminal gone
        }
        if let Outcome::Exit(code) = outcome {
            return u8::try_from(code).unwrap_or(1);
        }
        if let Some(sig) = tty::term_signal() {
            return if sig == libc::SIGINT { 130 } else { 0 };
        }
        if tty::take_winch() {
            app.resize(tty::window_size());
            continue;
        }
        let deadline = match (app.next_deadline(), link.as_ref().and_then(Link::deadline)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = deadline.map_or(-1, |d| {
            let ms = d.saturating_duration_since(Instant::now()).as_millis();
            i32::try_from(ms.saturating_add(1)).unwrap_or(i32::MAX)
        });
        let (stdin_ready, link_ready) =
            match tty::poll_stdin_and(link.as_ref().and_then(Link::poll_fd), timeout) {
                Ok(ready) => ready,
                Err(_) => return 0,
            };
        if let Some(l) = &mut link {
            let now = Instant::now();
            if link_ready || l.deadline().is_some_and(|d| now >= d) {
                for ev in l.pump(now) {
                    app.on_remote(ev, now);
                }
            }
        }
        outcome = if stdin_ready {
            match tty::read_stdin(&mut buf) {
                Ok(Some(0)) | Err(_) => return 0, // end of input or hang-up
                Ok(Some(n)) => app.on_bytes(&buf[..n], Instant::now()),
                Ok(None) => Outcome::Continue,
            }
        } else {
            app.on_timer(Instant::now())
        };
        if outcome == Outcome::Continue {
            outcome = app.on_timer(Instant::now());
        }
        run_hooks(app);
    }
}
