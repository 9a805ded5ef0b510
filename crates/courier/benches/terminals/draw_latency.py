"""Output byte → drawn in the dashboard's terminal pane, in a real browser.

Run by crates/courier/benches/terminals.rs against a real `courier up` with
one agent, COURIER_AGENT, running `agent.py marks`. Logs in with
`courier open --no-browser --json`, waits for the agent's interactive pane
(the real dashboard pane: vendored xterm.js, its DOM renderer, the terminal
WebSocket), watches the pane's rows with a MutationObserver, and types a
line into the pane to start the marks. Each `MARK <epoch-ns> <i> .` line is
stamped by the agent with time.time_ns() just before its write; the page
takes performance.timeOrigin + performance.now() when the renderer first
puts that line into the pane's rows (the DOM renderer updates rows in a
requestAnimationFrame, so this is the frame that paints it). Both clocks
are this machine's wall clock.

Environment: COURIER_EXE, COURIER_STATE_DIR, COURIER_CHROMIUM, COURIER_AGENT,
COURIER_MARKS (how many marks the agent writes). Prints one JSON line:
{"latencies_ms": [...], "clock_skew_ms": ..., "missing": ...}.
"""

import json
import os
import subprocess
import sys
import time

from playwright.sync_api import expect, sync_playwright

DEADLINE_MS = 20_000
expect.set_options(timeout=DEADLINE_MS)

EXE = os.environ["COURIER_EXE"]
STATE_DIR = os.environ["COURIER_STATE_DIR"]
CHROMIUM = os.environ.get("COURIER_CHROMIUM", "/usr/bin/chromium")
AGENT = os.environ["COURIER_AGENT"]
MARKS = int(os.environ["COURIER_MARKS"])

OBSERVE = """(agent) => {
    const pane = document.querySelector(`.pane[data-agent="${agent}"][data-read-only="false"]`);
    const rows = pane.querySelector('.xterm-rows');
    const drawn = new Map();
    window.__drawn = drawn;
    const re = /^MARK (\\d+) (\\d+) \\./;
    const check = () => {
        const now = performance.timeOrigin + performance.now();
        for (const row of rows.children) {
            const m = re.exec(row.textContent);
            if (m && !drawn.has(m[2])) drawn.set(m[2], now - Number(BigInt(m[1]) / 1000n) / 1000);
        }
    };
    new MutationObserver(check).observe(rows, {childList: true, subtree: true, characterData: true});
}"""


def main():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    env["COURIER_STATE_DIR"] = STATE_DIR
    login = json.loads(subprocess.run(
        [EXE, "open", "--no-browser", "--json"],
        env=env, check=True, capture_output=True, text=True, timeout=30,
    ).stdout)
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(login["url"])
        pane = page.locator(f'.pane[data-agent="{AGENT}"][data-read-only="false"]')
        expect(pane).to_have_attribute("data-writable", "true")
        expect(pane.locator(".xterm-rows")).to_contain_text("type a line to start")
        # xterm.js draws only what is on screen.
        pane.scroll_into_view_if_needed()
        page.evaluate(OBSERVE, AGENT)
        pane.locator(".xterm-screen").click(position={"x": 20, "y": 10})
        page.keyboard.type("go")
        page.keyboard.press("Enter")
        expect(pane.locator(".xterm-rows")).to_contain_text("marks done", timeout=MARKS * 100 + DEADLINE_MS)
        latencies = page.evaluate("[...window.__drawn.values()]")
        # The page's clock against the wall clock (Date.now(), 1 ms steps).
        skew = page.evaluate("performance.timeOrigin + performance.now() - Date.now()")
        browser.close()
    print(json.dumps({
        "latencies_ms": latencies,
        "clock_skew_ms": skew,
        "missing": MARKS - len(latencies),
    }), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise
