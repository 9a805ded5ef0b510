"""Takes the dashboard's screenshot for scripts/screenshot.sh (see there).

Usage: screenshot.py OUT.png MESSAGE_ID...

Logs in with `courier open --no-browser --json` against the running broker
of COURIER_STATE_DIR, in headless Chromium driven by Playwright (the
browser of COURIER_CHROMIUM; Playwright never downloads one), and saves
the page once it shows what the picture is for: every agent with the state
the API serves, every given message's deliveries verified in the timeline,
the event stream live, health ok, every terminal pane live with a message
typed into it on its screen, and every headless agent's conversation pane
with the agent's reply in it. Every wait has a deadline; nothing is taken from a
page that is not ready.

Environment:
  COURIER_EXE          the courier binary
  COURIER_STATE_DIR    the broker's state directory (connection.json)
  COURIER_CHROMIUM     the browser (default /usr/bin/chromium)
"""

import json
import os
import subprocess
import sys

from playwright.sync_api import expect, sync_playwright

DEADLINE_MS = 30_000
expect.set_options(timeout=DEADLINE_MS)

EXE = os.environ["COURIER_EXE"]
STATE_DIR = os.environ["COURIER_STATE_DIR"]
CHROMIUM = os.environ.get("COURIER_CHROMIUM", "/usr/bin/chromium")
# The size of the picture in the README.
VIEWPORT = {"width": 1500, "height": 1000}


def login_url():
    out = subprocess.run(
        [EXE, "--state-dir", STATE_DIR, "open", "--no-browser", "--json"],
        check=True, capture_output=True, text=True, timeout=30,
    )
    return json.loads(out.stdout)["url"]


def main(out, message_ids):
    url = login_url()
    base = url.split("/ui/")[0]
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url)
        expect(page).to_have_url(f"{base}/ui/")

        agents = context.request.get(f"{base}/v1/agents").json()["agents"]
        rows = page.locator("#agents tbody tr[data-agent]")
        expect(rows).to_have_count(len(agents))
        for agent in agents:
            row = page.locator(f'#agents tr[data-agent="{agent["name"]}"]')
            expect(row.locator(".state")).to_have_text(agent["state"])
        for message_id in message_ids:
            chips = page.locator(f'li.msg[data-message-id="{message_id}"] .delivery')
            expect(chips.first).to_be_visible()
            for i in range(chips.count()):
                expect(chips.nth(i)).to_have_attribute("data-state", "verified")
        expect(page.locator("#stream")).to_have_attribute("data-status", "live")
        expect(page.locator("#health")).to_have_attribute("data-status", "ok")
        for agent in agents:
            pane = page.locator(f'.pane[data-agent="{agent["name"]}"]')
            expect(pane).to_have_attribute("data-status", "live")
            if agent.get("delivery") == "native":
                # A headless agent: its conversation, with its reply.
                expect(pane.locator("li.conv-reply").first).to_be_visible()
                continue
            # xterm.js draws only what is on screen: a pane below the fold
            # is brought into view, then the page goes back to its top.
            pane.scroll_into_view_if_needed()
            # Each agent of the demo got a message: its framed header shows.
            expect(pane.locator(".xterm-rows")).to_contain_text("[courier]")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
