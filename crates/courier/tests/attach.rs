//! `courier attach` end to end, as a person runs it: in a real PTY (this
//! test is the person's terminal emulator), against a real broker and agent.
//! The agent's screen comes up, keystrokes reach it, the local size and its
//! changes become the agent's, Ctrl-] detaches with exit 0 and the terminal
//! restored; `--read-only` sends nothing; the agent's exit ends attach too.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use common::viewer::parser;
use common::*;
use portable_pty::{CommandBuilder, MasterPty, PtySize};
use serde_json::json;

/// `courier attach ARGS` run by `sh` in a PTY of 30×100, followed by
/// `echo attach-exit=$?` and `stty -a` (how the terminal was left).
struct Person {
    master: Box<dyn MasterPty + Send>,
    keys: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Person {
    fn attach(broker: &Broker, args: &str) -> Person {
        let pair = portable_pty::native_pty_system()
            .openpty(PtySize {
                rows: 30,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let script = format!(
            "'{EXE}' --url '{}' --token '{}' attach {args}; echo attach-exit=$?; stty -a; \
             s=$?; echo stty-done; exit $s",
            broker.url, broker.token
        );
        let mut cmd = CommandBuilder::new("sh");
        cmd.args(["-c", &script]);
        for var in [
            "COURIER_STATE_DIR",
            "COURIER_URL",
            "COURIER_TOKEN",
            "COURIER_AGENT",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("TERM", "xterm-256color");
        let child = pair.slave.spawn_command(cmd).expect("spawn courier attach");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let keys = pair.master.take_writer().expect("pty writer");
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Person {
            master: pair.master,
            keys,
            output,
            child,
        }
    }

    fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output()).into_owned()
    }

    /// What a 30×100 terminal shows after everything written so far.
    fn screen(&self) -> String {
        let mut term = parser(30, 100);
        term.process(&self.output());
        term.screen().contents()
    }

    fn wait_screen(&self, needle: &str) {
        wait_for(&format!("{needle:?} on the person's screen"), || {
            self.screen().contains(needle).then_some(())
        });
    }

    fn wait_text(&self, needle: &str) {
        wait_for(&format!("{needle:?} in attach's output"), || {
            self.text().contains(needle).then_some(())
        });
    }

    fn press(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).expect("type into the pty");
        self.keys.flush().expect("flush the pty");
    }

    /// Exit status of `sh` (that of `stty`), and whether the
    /// terminal was left in canonical mode with echo.
    fn finish(mut self) -> bool {
        let status = wait_for("the shell to end", || self.child.try_wait().ok().flatten());
        assert!(status.success(), "{status:?}\n{}", self.text());
        // The shell may end before its last output is read from the PTY.
        self.wait_text("stty-done");
        let text = self.text();
        let stty = text.split("attach-exit=").nth(1).unwrap_or_default();
        let flags: Vec<&str> = stty.split_whitespace().collect();
        flags.contains(&"icanon") && flags.contains(&"echo")
    }
}

fn screen_size(broker: &Broker, name: &str) -> serde_json::Value {
    broker.get_ok(&format!("/v1/agents/{name}/screen"))["size"].clone()
}

#[test]
fn attach_drives_an_agent_and_ctrl_close_bracket_detaches() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let bob = broker.spawn_fake("bob", &["--prompt", "❯"], &[]);
    broker.wait_ready("bob");
    let mut person = Person::attach(&broker, "bob");
    person.wait_screen("courier-fake-agent");
    person.wait_screen("❯");
    // The person's terminal size is the agent's now.
    wait_for("bob at 30×100", || {
        (screen_size(&broker, "bob") == json!([30, 100])).then_some(())
    });
    person.press("typed through attach ✓\r".as_bytes());
    wait_for("the keys in bob's transcript", || {
        (transcript(&bob.transcript) == ["typed through attach ✓"]).then_some(())
    });
    person.wait_screen("you: typed through attach ✓");
    // A resized window (SIGWINCH) resizes the agent.
    person
        .master
        .resize(PtySize {
            rows: 25,
            cols: 90,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("resize the pty");
    wait_for("bob at 25×90", || {
        (screen_size(&broker, "bob") == json!([25, 90])).then_some(())
    });
    person.press(&[0x1d]);
    person.wait_text("attach-exit=0");
    let text = person.text();
    assert!(text.contains("detached from bob"), "{text}");
    assert!(text.contains("\x1b[?1049l"), "left the alternate screen");
    assert!(
        person.finish(),
        "the terminal is back in canonical mode with echo"
    );
    assert_eq!(transcript(&bob.transcript).len(), 1, "Ctrl-] is not sent");
    broker.stop_and_check();
}

#[test]
fn attach_read_only_watches_and_sends_nothing() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let bob = broker.spawn_fake("bob", &["--mode", "line"], &[]);
    broker.wait_ready("bob");
    let mut person = Person::attach(&broker, "bob --read-only");
    person.wait_screen(">");
    // Live output typed by someone else shows up.
    let (status, v) = broker.post("/v1/agents/bob/input", &json!({"text": "from elsewhere\r"}));
    assert_eq!(status, 204, "{v}");
    person.wait_screen("you: from elsewhere");
    person.press(b"not sent\r");
    person.press(&[0x1d]);
    person.wait_text("attach-exit=0");
    assert!(person.finish(), "terminal restored");
    let (status, v) = broker.post("/v1/agents/bob/input", &json!({"text": "marker\r"}));
    assert_eq!(status, 204, "{v}");
    wait_for("the marker", || {
        (transcript(&bob.transcript).len() >= 2).then_some(())
    });
    assert_eq!(transcript(&bob.transcript), ["from elsewhere", "marker"]);
    assert_eq!(
        screen_size(&broker, "bob"),
        json!([40, 120]),
        "size left alone"
    );
    broker.stop_and_check();
}

#[test]
fn the_agents_exit_ends_attach_with_a_line_that_says_so() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    broker.spawn_command(
        "short",
        vec![
            "sh".into(),
            "-c".into(),
            "echo ready-to-go; read x; exit 4".into(),
        ],
        &[],
        broker.transcript_path("short"),
    );
    broker.wait_ready("short");
    let mut person = Person::attach(&broker, "short");
    person.wait_screen("ready-to-go");
    person.press(b"\r");
    person.wait_text("attach-exit=0");
    assert!(
        person.text().contains("short exited with code 4"),
        "{}",
        person.text()
    );
    assert!(person.finish(), "terminal restored");
    broker.stop_and_check();
}

#[test]
fn attach_to_an_unknown_agent_says_so_and_leaves_the_terminal_alone() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let person = Person::attach(&broker, "nobody");
    person.wait_text("attach-exit=1");
    let text = person.text();
    assert!(text.contains("no agent named \"nobody\""), "{text}");
    assert!(!text.contains("\x1b[?1049h"), "never switched screens");
    assert!(person.finish());
    broker.stop_and_check();
}
