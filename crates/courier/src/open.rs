//! `courier open`: the dashboard's URL with a one-time login code, opened in
//! a browser when there is one. The code (`POST /v1/login-codes`, owner's
//! token) works once, within a minute, and becomes an HttpOnly session
//! cookie; the owner's token itself never goes into a URL.

use std::process::{Command, ExitCode, Stdio};

use courier_protocol::tokens::LoginCode;
use serde_json::json;

use crate::cli::{Global, OpenArgs};
use crate::client::{Client, decode};
use crate::output::cell_of;

pub async fn run(global: &Global, args: OpenArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect(global)?;
    let v = client.post("/v1/login-codes", &json!({})).await?;
    let login: LoginCode = decode(&v, "a login code")?;
    // The address this client reached the broker at.
    let url = format!("{}{}", client.base, login.path);
    let opened = !args.no_browser && open_in_browser(&url);
    if global.json {
        crate::output::json(&json!({
            "url": url,
            "code": login.code,
            "expires_at": login.expires_at,
            "opened": opened,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{url}");
    let seconds = login.expires_in_ms / 1000;
    eprintln!(
        "{}a one-time login link: it works once, within {seconds} s (until {}); \
         run `courier open` again for a new one",
        if opened {
            "opened the dashboard in your browser; "
        } else {
            ""
        },
        cell_of(&login.expires_at),
    );
    Ok(ExitCode::SUCCESS)
}

/// Starts `xdg-open URL` (or `$BROWSER URL`) when a desktop session is
/// there to show it; without one, xdg-open may fall back to a text browser
/// in this very terminal, so nothing is started. Does not wait for it.
fn open_in_browser(url: &str) -> bool {
    let has = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    let program = match std::env::var("BROWSER") {
        Ok(browser) if !browser.trim().is_empty() => browser,
        _ if has("DISPLAY") || has("WAYLAND_DISPLAY") => "xdg-open".to_string(),
        _ => return false,
    };
    Command::new(program.trim())
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok()
}
