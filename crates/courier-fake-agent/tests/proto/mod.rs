//! Helpers shared by the protocol-mode tests: the fake agent as a child process on real pipes,
//! every message it writes checked against the schema kept in `protocols/`, and the transcript.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Generous: tests only wait this long when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// A think time no test waits out: turns end when the test sends SIGUSR1 ([`Server::hurry`]).
pub const FOREVER_MS: &str = "600000";

/// A protocol's kept schema, compiled: the whole message, and the definitions by name.
pub struct Schema {
    root: Value,
    whole: jsonschema::Validator,
    defs: HashMap<String, jsonschema::Validator>,
    /// Upstream, where an environment variable points at it (see `upstream`).
    upstream: Option<Upstream>,
}

/// The real protocol's published schema, checked too when a test run is given it.
enum Upstream {
    /// A JSON schema file whose `$defs` carry the same names as ours (ACP's `schema.json`).
    File(Value, jsonschema::Validator),
    /// A directory `codex app-server generate-json-schema --out DIR` wrote: one file per type.
    Dir(PathBuf),
}

fn compile(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

/// A schema that is `root`'s definition `name`.
fn def_schema(root: &Value, name: &str) -> Value {
    json!({
        "$schema": root["$schema"],
        "$ref": format!("#/$defs/{name}"),
        "$defs": root["$defs"],
    })
}

fn check(validator: &jsonschema::Validator, v: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate: {errors:#?}\n{v:#}"
    );
}

impl Schema {
    /// `protocols/<dir>/schema.json`; with `env` set, also the upstream schema it names.
    pub fn load(dir: &str, env: &str) -> Schema {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("protocols")
            .join(dir)
            .join("schema.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let root: Value = serde_json::from_str(&text).expect("schema is JSON");
        let whole = compile(&root);
        let defs = root["$defs"]
            .as_object()
            .expect("$defs")
            .keys()
            .map(|name| (name.clone(), compile(&def_schema(&root, name))))
            .collect();
        let upstream = std::env::var_os(env).map(PathBuf::from).map(|p| {
            if p.is_dir() {
                Upstream::Dir(p)
            } else {
                let text = std::fs::read_to_string(&p).expect("upstream schema");
                let v: Value = serde_json::from_str(&text).expect("upstream schema is JSON");
                let validator = compile(&v);
                Upstream::File(v, validator)
            }
        });
        Schema {
            root,
            whole,
            defs,
            upstream,
        }
    }

    /// The name of the definition a map of the schema (`x-results`, …) gives `key`.
    pub fn name_in(&self, map: &str, key: &str) -> Option<String> {
        self.root[map][key].as_str().map(str::to_string)
    }

    /// Every name a map of the schema gives.
    pub fn names_in(&self, map: &str) -> BTreeSet<String> {
        self.root[map]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn check_whole(&self, msg: &Value) {
        check(&self.whole, msg, "message");
        if let Some(Upstream::File(_, v)) = &self.upstream {
            check(v, msg, "message (upstream schema)");
        }
    }

    /// Checks one message a server wrote: the whole of it, and its params or result against their
    /// definition (a response's by the method of its request in `methods`, keyed by the request
    /// id's JSON); the name of that definition.
    pub fn check_message(&self, msg: &Value, methods: &HashMap<String, String>) -> Option<String> {
        self.check_whole(msg);
        let def = if let Some(method) = msg.get("method").and_then(Value::as_str) {
            let name = self.name_in("x-notifications", method);
            let name = name.unwrap_or_else(|| panic!("a notification not in the schema: {msg}"));
            Some((name, &msg["params"]))
        } else if let Some(id) = msg.get("id").filter(|_| msg.get("result").is_some()) {
            let method = methods.get(&id.to_string()).cloned();
            let method = method.unwrap_or_else(|| panic!("a response to no request: {msg}"));
            let name = self.name_in("x-results", &method);
            Some((
                name.unwrap_or_else(|| panic!("no result type for {method}")),
                &msg["result"],
            ))
        } else if let Some(t) = msg.get("type").and_then(Value::as_str) {
            let name = self.name_in("x-types", t);
            Some((
                name.unwrap_or_else(|| panic!("a message type not in the schema: {msg}")),
                msg,
            ))
        } else {
            None // a JSON-RPC error: the whole-message check covers it
        };
        let (name, v) = def?;
        self.check_def(&name, v);
        Some(name)
    }

    /// Checks `v` against definition `name`, ours and upstream's.
    pub fn check_def(&self, name: &str, v: &Value) {
        let validator = self
            .defs
            .get(name)
            .unwrap_or_else(|| panic!("no definition {name}"));
        check(validator, v, name);
        match &self.upstream {
            Some(Upstream::File(root, _)) => {
                let up = compile(&def_schema(root, name));
                check(&up, v, &format!("{name} (upstream schema)"));
            }
            Some(Upstream::Dir(dir)) => {
                let file = ["v2", "v1", "."]
                    .iter()
                    .map(|sub| dir.join(sub).join(format!("{name}.json")))
                    .find(|f| f.exists());
                if let Some(file) = file {
                    let text = std::fs::read_to_string(&file).expect("upstream schema file");
                    let up = compile(&serde_json::from_str(&text).expect("upstream JSON"));
                    check(&up, v, &format!("{name} ({})", file.display()));
                }
            }
            None => {}
        }
    }
}

/// The fake agent serving a protocol, on pipes.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    schema: Schema,
    /// JSON-RPC: the method of each request sent, by id, to check its response's result.
    methods: HashMap<String, String>,
    /// The definitions every message read so far was checked against.
    pub checked: BTreeSet<String>,
    /// Every message read so far.
    pub seen: Vec<Value>,
}

impl Server {
    /// Starts `courier-fake-agent --protocol <protocol> <args>`; `schema` is the kept schema's
    /// directory under `protocols/`, `upstream_env` the variable that may name the upstream one.
    pub fn start(protocol: &str, schema: &str, upstream_env: &str, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_courier-fake-agent"))
            .arg("--protocol")
            .arg(protocol)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the fake agent");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            schema: Schema::load(schema, upstream_env),
            methods: HashMap::new(),
            checked: BTreeSet::new(),
            seen: Vec::new(),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Writes one message as a JSON line. A JSON-RPC request's method is remembered.
    pub fn send(&mut self, msg: Value) {
        if let (Some(id), Some(method)) = (msg.get("id"), msg.get("method").and_then(Value::as_str))
        {
            self.methods.insert(id.to_string(), method.to_string());
        }
        let mut line = msg.to_string();
        line.push('\n');
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(line.as_bytes())
            .expect("write to the fake agent");
        stdin.flush().expect("flush");
    }

    /// The next message, checked against the schema; `None` at end of stdout.
    pub fn next(&mut self) -> Option<Value> {
        let line = match self.lines.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no message within {TIMEOUT:?}; seen: {:#?}", self.seen)
            }
        };
        let msg: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        self.check(&msg);
        self.seen.push(msg.clone());
        Some(msg)
    }

    fn check(&mut self, msg: &Value) {
        if let Some(name) = self.schema.check_message(msg, &self.methods) {
            self.checked.insert(name);
        }
    }

    /// Reads until a message matches `pred`; panics at end of stdout.
    pub fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next() {
                Some(msg) if pred(&msg) => return msg,
                Some(_) => {}
                None => panic!("stdout ended before {what}; seen: {:#?}", self.seen),
            }
        }
    }

    /// JSON-RPC: reads until the response to request `id`.
    pub fn response(&mut self, id: i64) -> Value {
        self.until(&format!("the response to {id}"), |m| {
            m.get("id") == Some(&json!(id)) && m.get("method").is_none()
        })
    }

    /// Reads until a notification of `method` (JSON-RPC).
    pub fn notification(&mut self, method: &str) -> Value {
        self.until(method, |m| m.get("method") == Some(&json!(method)))
    }

    /// Reads until a message of `type` (stream-json).
    pub fn of_type(&mut self, t: &str) -> Value {
        self.until(t, |m| m.get("type") == Some(&json!(t)))
    }

    /// Asserts stdout ends before any further message.
    pub fn expect_eof(&mut self) {
        if let Some(msg) = self.next() {
            panic!("expected end of stdout, got {msg}");
        }
    }

    /// SIGUSR1: the running turn answers now.
    pub fn hurry(&self) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: a plain kill(2) of our own child.
        let r = unsafe { libc::kill(pid, libc::SIGUSR1) };
        assert_eq!(r, 0, "kill -USR1");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the fake agent did not exit within {TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The transcript's lines.
pub fn transcript(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("transcript line is JSON"))
        .collect()
}

/// The texts of the transcript, in order.
pub fn texts(path: &Path) -> Vec<String> {
    transcript(path)
        .iter()
        .map(|l| l["text"].as_str().unwrap_or_default().to_string())
        .collect()
}
