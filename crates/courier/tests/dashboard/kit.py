"""What the dashboard's browser scripts share (e2e.py, conversation.py):
the environment crates/courier/tests/dashboard.rs gives them, the login of
`courier open`, the send box, and waits with a deadline.

  COURIER_EXE          the courier binary (for `courier open --no-browser --json`)
  COURIER_STATE_DIR    the broker's state directory (connection.json)
  COURIER_CHROMIUM     the browser (default /usr/bin/chromium)

Every wait has a deadline (DEADLINE_MS) but nothing depends on timing to pass.
"""

import json
import os
import subprocess
import time

from playwright.sync_api import expect

DEADLINE_MS = 20_000
expect.set_options(timeout=DEADLINE_MS)

EXE = os.environ["COURIER_EXE"]
STATE_DIR = os.environ["COURIER_STATE_DIR"]
CHROMIUM = os.environ.get("COURIER_CHROMIUM", "/usr/bin/chromium")
# The header that marks a cookie-authenticated request as the page's own.
MARKED = {"X-Courier-Request": "1"}


def ok(what):
    print(f"ok: {what}", flush=True)


def launch_args():
    """Chromium's sandbox does not run as root."""
    return ["--no-sandbox"] if os.geteuid() == 0 else []


def courier_open():
    """`courier open --no-browser --json`: the login URL with its one-time code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    env["COURIER_STATE_DIR"] = STATE_DIR
    out = subprocess.run(
        [EXE, "open", "--no-browser", "--json"],
        env=env, check=True, capture_output=True, text=True, timeout=30,
    )
    v = json.loads(out.stdout)
    assert v["opened"] is False, v
    assert "/ui/login?code=" in v["url"], v
    return v


def send_from_box(page, to, body, thread=None):
    """Sends with the dashboard's send box; returns the new message id."""
    result = page.locator("#compose-result")
    before = result.get_attribute("data-message-id")
    page.fill("#compose input[name=to]", to)
    page.fill("#compose input[name=thread]", thread or "")
    page.fill("#compose textarea[name=body]", body)
    page.click("#compose button[type=submit]")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).not_to_have_attribute("data-message-id", before or "-")
    return result.get_attribute("data-message-id")


def chip(page, message_id, agent):
    return page.locator(f'li.msg[data-message-id="{message_id}"] .delivery[data-agent="{agent}"]')


def until(what, probe):
    """Polls `probe` until it returns something truthy; fails at the deadline."""
    deadline = time.monotonic() + DEADLINE_MS / 1000
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_MS} ms"
        time.sleep(0.05)


def api_agent(context, base, name):
    answer = context.request.get(f"{base}/v1/agents/{name}")
    assert answer.status == 200, answer.text()
    return answer.json()
