//! `--hook-command`: on every submitted prompt, run a command the way Claude
//! Code runs a `UserPromptSubmit` command hook (documented at
//! <https://docs.anthropic.com/en/docs/claude-code/hooks>): `sh -c CMD`, the
//! hook's JSON on stdin, and, when it exits 0 and prints
//! `{"hookSpecificOutput": {"additionalContext": TEXT}}`, TEXT is added to
//! the conversation. Here that means: shown on screen and written to the
//! transcript, so tests count what reached the agent through the hook.

use std::io::Write;
use std::process::{Command, Stdio};

/// The hook's input for a submitted `prompt`, as Claude Code sends it.
pub fn input(prompt: &str, cwd: &str) -> serde_json::Value {
    serde_json::json!({
        "session_id": "courier-fake-agent",
        "transcript_path": "",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "UserPromptSubmit",
        "prompt": prompt,
    })
}

/// The context a hook's stdout adds, if any (exit 0 and the documented shape).
pub fn context_of(stdout: &str) -> Option<String> {
    if stdout.trim().is_empty() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).ok()?;
    v["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Runs `command` for `prompt`; the context it adds, or why it added none.
pub fn run(command: &str, prompt: &str) -> Result<Option<String>, String> {
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the hook `{command}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input(prompt, &cwd).to_string().as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("the hook `{command}` failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the hook `{command}` exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(context_of(&String::from_utf8_lossy(&out.stdout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_and_output_in_claude_codes_shapes() {
        let v = input("do it", "/w");
        assert_eq!(v["hook_event_name"], "UserPromptSubmit");
        assert_eq!(v["prompt"], "do it");
        assert_eq!(v["cwd"], "/w");
        let out = r#"{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"hi"}}"#;
        assert_eq!(context_of(out).as_deref(), Some("hi"));
        assert_eq!(context_of(""), None, "nothing printed: nothing added");
        assert_eq!(context_of("not json"), None);
    }

    #[test]
    fn a_command_hook_runs_with_the_input_on_stdin() {
        let echo = r#"python3 -c 'import json,sys; p=json.load(sys.stdin)["prompt"]; print(json.dumps({"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"got "+p}}))'"#;
        assert_eq!(run(echo, "x").unwrap().as_deref(), Some("got x"));
        assert!(run("exit 3", "x").is_err());
        assert_eq!(run("true", "x").unwrap(), None);
    }
}
