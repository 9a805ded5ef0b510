//! The dashboard's files, embedded in the binary at build time: plain HTML,
//! CSS and JavaScript modules from `crates/courier-broker/ui/` (no build
//! step) and the vendored xterm.js (`ui/vendor/xterm/README.md`).

/// One embedded file, served at `/ui/{path}`.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../../ui/", $path)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file of the dashboard.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("app.css", CSS),
    asset!("favicon.svg", SVG),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/main.js", JS),
    asset!("js/events.js", JS),
    asset!("js/agents.js", JS),
    asset!("js/spawn.js", JS),
    asset!("js/timeline.js", JS),
    asset!("js/compose.js", JS),
    asset!("js/terminal.js", JS),
    asset!("js/conversation.js", JS),
    asset!("js/panes.js", JS),
    asset!("js/health.js", JS),
    asset!("vendor/xterm/xterm.js", JS),
    asset!("vendor/xterm/xterm.css", CSS),
    asset!("vendor/xterm/LICENSE", "text/plain; charset=utf-8"),
];

/// The file at `path` (relative to `/ui/`; empty is the index).
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_and_typed() {
        for asset in ASSETS {
            assert!(std::ptr::eq(find(asset.path).unwrap(), asset));
            assert!(!asset.body.is_empty(), "{} is empty", asset.path);
            let typed = match asset.path.rsplit('.').next() {
                Some("html") => asset.content_type == HTML,
                Some("js") => asset.content_type == JS,
                Some("css") => asset.content_type == CSS,
                Some("svg") => asset.content_type == SVG,
                _ => asset.content_type.starts_with("text/plain"),
            };
            assert!(typed, "{} is served as {}", asset.path, asset.content_type);
        }
        assert_eq!(find("").map(|a| a.path), Some("index.html"));
        assert!(find("../Cargo.toml").is_none());
    }

    #[test]
    fn pages_have_no_inline_script_or_style_attribute() {
        let handler = regex::Regex::new(r"\son[a-z]+\s*=").unwrap();
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".html")) {
            let text = String::from_utf8_lossy(asset.body);
            for tag in text.split("<script").skip(1) {
                let open = tag.split('>').next().unwrap_or_default();
                assert!(
                    open.contains("src="),
                    "{}: inline <script{open}>",
                    asset.path
                );
            }
            assert!(
                !text.contains(" style="),
                "{}: a style attribute",
                asset.path
            );
            assert!(
                !text.contains("<style"),
                "{}: a <style> element",
                asset.path
            );
            assert!(
                !handler.is_match(&text),
                "{}: an inline handler",
                asset.path
            );
        }
    }
}
