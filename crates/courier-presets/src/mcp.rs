//! Rendering the Courier MCP server into each CLI's documented form.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::PresetError;
use crate::plan::PlannedFile;
use crate::preset::{EntryShape, FileFormat, HookSettings, McpInjection};

/// The name the Courier server gets in every CLI's config.
pub const SERVER_NAME: &str = "courier";

/// The MCP server to inject: `<command> <args…>` with `env`.
#[derive(Debug, Clone)]
pub(crate) struct McpServer {
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
}

/// What an injection adds to a launch.
#[derive(Debug, Default)]
pub(crate) struct Injected {
    pub(crate) args: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) files: Vec<PlannedFile>,
}

fn entry(server: &McpServer, shape: EntryShape) -> Value {
    match shape {
        EntryShape::Standard => json!({
            "command": server.command,
            "args": server.args,
            "env": server.env,
        }),
        EntryShape::Opencode => {
            let mut command = vec![server.command.clone()];
            command.extend(server.args.iter().cloned());
            json!({
                "type": "local",
                "command": command,
                "environment": server.env,
                "enabled": true,
            })
        }
    }
}

/// `extra` settings with `{key: {"courier": entry}}` merged in.
fn document(
    preset: &str,
    server: &McpServer,
    key: &str,
    shape: EntryShape,
    extra: &toml::Table,
) -> Result<Value, PresetError> {
    let mut doc = serde_json::to_value(extra).map_err(|e| PresetError::Render {
        preset: preset.to_owned(),
        message: format!("mcp.extra: {e}"),
    })?;
    let mut servers = Map::new();
    servers.insert(SERVER_NAME.to_owned(), entry(server, shape));
    let mut patch = Map::new();
    patch.insert(key.to_owned(), Value::Object(servers));
    crate::plan::merge_json(&mut doc, Value::Object(patch));
    Ok(doc)
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn file(
    preset: &str,
    path: &str,
    format: FileFormat,
    doc: Value,
    key: &str,
) -> Result<PlannedFile, PresetError> {
    let render_err = |message: String| PresetError::Render {
        preset: preset.to_owned(),
        message,
    };
    let content = match format {
        FileFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&doc).map_err(|e| render_err(e.to_string()))?;
            text.push('\n');
            text
        }
        FileFormat::Toml => toml::to_string(&doc).map_err(|e| render_err(e.to_string()))?,
    };
    Ok(PlannedFile {
        path: path.into(),
        format,
        mcp_key: key.to_owned(),
        content,
    })
}

/// The hook settings file that makes the CLI run `<courier_exe> hook EVENT` at each of
/// `hooks.events`, in Claude Code's documented shape (merged into an existing file).
pub(crate) fn hook_file(
    preset: &str,
    hooks: &HookSettings,
    courier_exe: &str,
) -> Result<PlannedFile, PresetError> {
    let mut events = serde_json::Map::new();
    for event in &hooks.events {
        events.insert(
            event.clone(),
            json!([{"hooks": [{"type": "command", "command": format!("{courier_exe} hook {event}")}]}]),
        );
    }
    file(
        preset,
        &hooks.path,
        FileFormat::Json,
        json!({ "hooks": events }),
        "hooks",
    )
}

/// Renders `server` the way `injection` says.
pub(crate) fn inject(
    preset: &str,
    injection: &McpInjection,
    server: &McpServer,
) -> Result<Injected, PresetError> {
    let mut out = Injected::default();
    match injection {
        McpInjection::None => {}
        McpInjection::FlagJson { flag } => {
            let doc = document(
                preset,
                server,
                "mcpServers",
                EntryShape::Standard,
                &toml::Table::new(),
            )?;
            out.args.push(flag.clone());
            out.args.push(doc.to_string());
        }
        McpInjection::ConfigOverrides { flag, table } => {
            let prefix = format!("{table}.{SERVER_NAME}");
            let args: Vec<String> = server.args.iter().map(|a| toml_string(a)).collect();
            let mut pairs = vec![
                format!("{prefix}.command={}", toml_string(&server.command)),
                format!("{prefix}.args=[{}]", args.join(", ")),
            ];
            for (k, v) in &server.env {
                pairs.push(format!("{prefix}.env.{k}={}", toml_string(v)));
            }
            for pair in pairs {
                out.args.push(flag.clone());
                out.args.push(pair);
            }
        }
        McpInjection::SettingsFile {
            path,
            format,
            key,
            entry,
            extra,
        }
        | McpInjection::ProjectFile {
            path,
            format,
            key,
            entry,
            extra,
        } => {
            let doc = document(preset, server, key, *entry, extra)?;
            out.files.push(file(preset, path, *format, doc, key)?);
        }
        McpInjection::EnvJson {
            var,
            key,
            entry,
            extra,
        } => {
            let doc = document(preset, server, key, *entry, extra)?;
            out.env.insert(var.clone(), doc.to_string());
        }
    }
    Ok(out)
}
