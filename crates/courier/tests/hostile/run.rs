//! One column of one interpreter's row: an agent spawned through the real
//! broker (framing left to the broker, or turned off for the control), every
//! body of the language's corpus sent to it as messages, and after each body
//! the question "did its marker appear?".
//!
//! Ordering, not time, decides: after a body's deliveries end, the test types
//! a sentinel line that creates a file of its own, as a person would at the
//! keys (and Ctrl-C before it again, if input was left hanging). The interpreter reads its
//! input in order, so once the sentinel file exists, everything typed before
//! it has been read and run, and the body's marker either exists or never
//! will. An agent whose input is wedged (a delivery that never ends, a
//! sentinel that never runs) is released, and the next body gets a fresh one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::corpus::{Body, Ctx, control_na};
use super::interpreters::{Interpreter, RunDirs};
use crate::common::{Broker, wait_for_within};

/// How long one delivery may take to end (verified or not) before its agent
/// counts as wedged. Generous: 12 agents share 2 cores.
const DELIVERY_LIMIT: Duration = Duration::from_secs(15);
/// How long one sentinel line may take to run before it is typed again.
const SENTINEL_TRY: Duration = Duration::from_secs(3);
const SENTINEL_TRIES: usize = 4;
/// How many times a control body is typed raw before it counts as not run.
const RAW_TRIES: usize = 2;
/// How long a raw try waits between its text and its Enter.
const RAW_ENTER_AFTER: Duration = Duration::from_millis(300);

/// Framing left to the broker, or turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    Framed,
    Control,
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Column::Framed => "framed",
            Column::Control => "control",
        }
    }
}

/// What happened to one body in one column.
#[derive(Debug, Clone)]
pub struct Cell {
    pub body: &'static str,
    /// Its marker file appeared: the interpreter ran (part of) it.
    pub executed: bool,
    /// Control only: the body did not run as a message with framing off, but
    /// did when the test typed it raw (no header line, Enter for each line):
    /// the attack works in this interpreter, and what stopped the message is
    /// the header or the way the broker types a line.
    pub raw: bool,
    /// The final state of each of its deliveries (`verified`, …).
    pub states: Vec<String>,
    /// Why the agent had to be replaced after this body, if it had to.
    pub wedged: Option<String>,
}

/// Drives one interpreter × column.
pub struct Runner<'a> {
    broker: &'a Broker,
    interp: &'a Interpreter,
    column: Column,
    root: PathBuf,
    agent: Option<String>,
    generation: usize,
}

impl<'a> Runner<'a> {
    pub fn new(broker: &'a Broker, interp: &'a Interpreter, column: Column, root: &Path) -> Self {
        let root = root.join(format!("{}-{}", interp.id, column.name()));
        for dir in ["markers", "sentinels"] {
            std::fs::create_dir_all(root.join(dir)).expect("create the run's dirs");
        }
        Runner {
            broker,
            interp,
            column,
            root,
            agent: None,
            generation: 0,
        }
    }

    /// Every body of `bodies`, in order; one cell each.
    pub fn run(mut self, bodies: &[Body]) -> Vec<Cell> {
        let cells = bodies.iter().map(|b| self.one(b)).collect();
        self.finish();
        cells
    }

    /// Releases the agent, if one is running.
    pub fn finish(&mut self) {
        if let Some(name) = self.agent.take() {
            self.release(&name);
        }
    }

    /// Every file in the markers directory: what bodies sent so far created,
    /// whatever name they gave it.
    pub fn created(&self) -> Vec<String> {
        std::fs::read_dir(self.root.join("markers"))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn marker(&self, body: &str) -> PathBuf {
        self.root
            .join("markers")
            .join(format!("{}-{}-{body}", self.interp.id, self.column.name()))
    }

    /// Sends one body (its messages, in order) and says what it did.
    pub fn one(&mut self, body: &Body) -> Cell {
        if self.column == Column::Control && control_na(self.interp.id, body.id).is_some() {
            // Not in this interpreter's control row: it cannot run there even
            // unframed (and some of these wedge the input for seconds).
            return Cell {
                body: body.id,
                executed: false,
                raw: false,
                states: Vec::new(),
                wedged: None,
            };
        }
        let marker = self.marker(body.id);
        let ctx = Ctx {
            lang: self.interp.lang,
            p: self.interp.lang.payload(&marker),
            touch: format!("touch {}", marker.display()),
        };
        let agent = match &self.agent {
            Some(name) => name.clone(),
            None => self.spawn(),
        };
        let mut states = Vec::new();
        let mut wedged = None;
        for text in (body.build)(&ctx) {
            let id = self.send(&agent, &text);
            match self.wait_ended(&id) {
                Some(state) => states.push(state),
                None => {
                    states.push("(did not end)".into());
                    wedged = Some(format!("delivery {id} did not end"));
                    break;
                }
            }
        }
        if wedged.is_none() {
            wedged = self.sentinel(&agent, body.id).err();
        }
        let mut raw = false;
        if self.column == Column::Control && wedged.is_none() && !marker.exists() {
            match self.type_raw(&agent, body, &ctx, &marker) {
                Ok(ran) => raw = ran,
                Err(why) => wedged = Some(why),
            }
        }
        if wedged.is_some() {
            // Ending the agent ends anything it started: after that the
            // marker cannot appear any more.
            self.release(&agent);
            self.agent = None;
        }
        Cell {
            body: body.id,
            executed: marker.exists(),
            raw,
            states,
            wedged,
        }
    }

    /// The control's second chance: the body typed raw, as keystrokes with
    /// no header line and Enter for each line. Whether its marker appeared;
    /// an error if the input wedged.
    fn type_raw(&self, agent: &str, body: &Body, ctx: &Ctx, marker: &Path) -> Result<bool, String> {
        // A line editor may still be drawing a long line when its Enter
        // comes; the control only has to show the body *can* run, so it gets
        // a second try.
        for attempt in 0..RAW_TRIES {
            for text in (body.build)(ctx) {
                // The last Enter on its own, once the editor had time to
                // draw the text (a 10,000-character line in prompt_toolkit,
                // on a loaded machine): sent with it, both tries were
                // dropped once in CI.
                let keys = text.replace('\n', "\r");
                if !self.input(agent, &keys) {
                    return Err("raw input refused".into());
                }
                std::thread::sleep(RAW_ENTER_AFTER);
                if !self.input(agent, "\r") {
                    return Err("raw input refused".into());
                }
            }
            self.sentinel(agent, &format!("{}-raw{attempt}", body.id))?;
            if marker.exists() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A fresh agent for this run, ready for input.
    fn spawn(&mut self) -> String {
        let name = format!(
            "{}-{}-{}",
            self.interp.id,
            self.column.name(),
            self.generation
        );
        let gen_dir = self.root.join(format!("gen-{}", self.generation));
        self.generation += 1;
        let dirs = RunDirs {
            cwd: gen_dir.join("cwd"),
            home: gen_dir.join("home"),
        };
        for dir in [&dirs.cwd, &dirs.home, &dirs.home.join(".ipython")] {
            std::fs::create_dir_all(dir).expect("create the agent's dirs");
        }
        let mut spec = json!({
            "name": name,
            "command": self.interp.command(&dirs),
            "cwd": dirs.cwd.display().to_string(),
            "env": self.interp.env(&dirs),
        });
        if self.column == Column::Control {
            // `framing: none` is the spawn field of issue 19; `inert_prefix: ""`
            // the one before it. Both mean "type the text as it is"; a broker
            // that knows only one of them refuses or ignores the other.
            spec["framing"] = json!("none");
            spec["inert_prefix"] = json!("");
        }
        let (status, v) = self.broker.post("/v1/agents", &spec);
        if status == 400 || status == 422 {
            let fallback = spec.as_object_mut().map(|o| o.remove("inert_prefix"));
            assert!(fallback.is_some(), "spawn {spec}: {v}");
            let (status, v) = self.broker.post("/v1/agents", &spec);
            assert_eq!(status, 201, "spawn {spec}: {v}");
        } else {
            assert_eq!(status, 201, "spawn {spec}: {v}");
        }
        self.broker.agents();
        wait_for_within(
            Duration::from_secs(60),
            &format!("agent {name} ({}) to be ready", self.interp.label),
            || {
                let (status, v) = self.broker.get(&format!("/v1/agents/{name}"));
                (status == 200 && v["status"]["ready"] == json!(true)).then_some(())
            },
        );
        self.agent = Some(name.clone());
        name
    }

    fn send(&self, agent: &str, body: &str) -> String {
        let (status, v) = self.broker.post(
            "/v1/messages",
            &json!({"from": "mallory", "to": agent, "body": body}),
        );
        assert_eq!(status, 201, "send to {agent}: {v}");
        v["message_id"].as_str().unwrap_or_default().to_string()
    }

    /// The final state of message `id`'s delivery, or `None` if it did not
    /// end within [`DELIVERY_LIMIT`].
    fn wait_ended(&self, id: &str) -> Option<String> {
        let start = std::time::Instant::now();
        loop {
            let deliveries = self.broker.deliveries(id);
            if let Some(state) = deliveries.first().and_then(|d| d["state"].as_str())
                && !matches!(state, "queued" | "injecting" | "injected")
            {
                return Some(state.to_string());
            }
            if start.elapsed() > DELIVERY_LIMIT {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types the sentinel line (then Ctrl-C and the line again) until the sentinel's file exists
    /// (Ctrl-C may flush what follows it from the terminal's input queue, so
    /// one try is not always enough). An error: the interpreter never ran
    /// it, with the screen's last rows.
    fn sentinel(&self, agent: &str, body: &str) -> Result<(), String> {
        let file = self.root.join("sentinels").join(body);
        let line = format!("{}\r", self.interp.sentinel(&file));
        for attempt in 0..SENTINEL_TRIES {
            // No Ctrl-C before the first try: it would signal a command the
            // body may still be running, and the terminal would flush input
            // the interpreter has not read yet. Only input left hanging (an
            // open quote, a continuation) needs it, and a first try that did
            // not run shows that.
            if attempt > 0 && !self.input(agent, "\u{3}") {
                return Err("input refused".into());
            }
            if !self.input(agent, &line) {
                return Err("input refused".into());
            }
            let start = std::time::Instant::now();
            while start.elapsed() < SENTINEL_TRY {
                if file.exists() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        let screen = self.broker.screen(agent);
        let rows: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = rows[rows.len().saturating_sub(3)..].join(" ⏎ ");
        Err(format!(
            "the sentinel line never ran (screen ends: {tail:.200})"
        ))
    }

    /// Raw keystrokes, as a person types them (not a message).
    fn input(&self, agent: &str, text: &str) -> bool {
        let (status, _) = self.broker.call(
            self.broker
                .req(Method::POST, &format!("/v1/agents/{agent}/input"))
                .json(&json!({"text": text})),
        );
        status == 204
    }

    fn release(&self, agent: &str) {
        let (status, v): (u16, Value) = self.broker.delete(&format!("/v1/agents/{agent}"));
        assert!(
            status == 200 || status == 204 || status == 404,
            "release {agent}: {status} {v}"
        );
    }
}
