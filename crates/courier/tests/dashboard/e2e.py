"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

Run by crates/courier/tests/dashboard.rs against a real `courier up` with
three fake agents (alice and carol: line REPLs, bob: a TUI) that are ready,
and a queue cap of 2 (near the end it spawns a fourth, dave, that crashes).
The environment and the helpers it shares with conversation.py (a headless
agent's conversation pane) are in kit.py.

The README's screenshot is not made here: scripts/screenshot.sh makes it
from a demo team.

Every wait has a deadline (kit.DEADLINE_MS) but nothing depends on timing to pass.
Prints one line per check, and last a JSON line the Rust test checks against
the broker's own record.
"""

import json
import os
import socket
import sys
from urllib.parse import urlparse

from playwright.sync_api import expect, sync_playwright

from kit import (CHROMIUM, EXE, MARKED, STATE_DIR, api_agent, chip, courier_open, launch_args, ok,
                 send_from_box, until)

REQUIRED_CSP = [
    "default-src 'self'",
    "script-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
]


def ws_handshake(base, path, cookie, origin):
    """A raw WebSocket upgrade with the session cookie and a chosen Origin
    (a browser always sends its own, so a foreign one needs a raw client).
    Returns the HTTP status of the answer."""
    u = urlparse(base)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Cookie: courier_session_{urlparse(base).port}={cookie}\r\n"
        )
        if origin is not None:
            request += f"Origin: {origin}\r\n"
        s.sendall((request + "\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(1024)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def shows_the_api_state(page, context, base, name):
    """The label the table shows for `name` is the `state` the API serves for
    it (the page computes none of its own); returns that state."""
    state = api_agent(context, base, name)["state"]
    row = page.locator(f'#agents tr[data-agent="{name}"]')
    expect(row).to_have_attribute("data-state", state)
    expect(row.locator(".state")).to_have_text(state)
    return state


def main():
    token = json.load(open(os.path.join(STATE_DIR, "connection.json")))["token"]
    login = courier_open()
    base = login["url"].split("/ui/")[0]
    report = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=launch_args())
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        # Watches every request, response and CSP violation of the session.
        context.add_init_script(
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        urls, ui_responses, errors = [], [], []
        context.on("request", lambda r: urls.append(r.url))
        context.on("response", lambda r: ui_responses.append(r) if "/ui" in r.url else None)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: d.accept())

        # Log in with the one-time code: a cookie, a redirect, no code left.
        page.goto(login["url"])
        expect(page).to_have_url(f"{base}/ui/")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies[f"courier_session_{urlparse(base).port}"]
        assert session["httpOnly"] and session["sameSite"] == "Strict", session
        assert page.evaluate("document.cookie") == "", "the session cookie is readable by scripts"
        ok("logged in with the code from `courier open --no-browser --json`; HttpOnly SameSite=Strict cookie")

        # Three agents.
        rows = page.locator("#agents tbody tr[data-agent]")
        expect(rows).to_have_count(3)
        for name in ["alice", "bob", "carol"]:
            state = shows_the_api_state(page, context, base, name)
            assert state == "idle", f"{name}: {state}"
        expect(page.locator("#stream")).to_have_attribute("data-status", "live")
        ok("three agents, each shown with the API's state: idle; the event stream is live")

        # The send box, and a delivery followed to verified in the timeline.
        sent = send_from_box(page, "alice", "hello alice, from the dashboard")
        expect(chip(page, sent, "alice")).to_have_attribute("data-state", "verified")
        report["sent_message_id"] = sent
        ok(f"sent {sent} from the send box; its delivery reached verified in the timeline")

        # Filters: by agent, and by thread.
        page.select_option("#filter-agent", "bob")
        expect(page.locator(f'li.msg[data-message-id="{sent}"]')).to_be_hidden()
        page.select_option("#filter-agent", "alice")
        expect(page.locator(f'li.msg[data-message-id="{sent}"]')).to_be_visible()
        page.fill("#filter-thread", "no-such-thread")
        expect(page.locator(f'li.msg[data-message-id="{sent}"]')).to_be_hidden()
        page.click("#filter-clear")
        expect(page.locator(f'li.msg[data-message-id="{sent}"]')).to_be_visible()
        ok("the timeline filters by agent and thread")

        # A bidi override and a zero-width space in a body are shown, not
        # obeyed (Trojan Source: "txt<U+202E>cod.exe" reads "txtexe.doc").
        hidden = send_from_box(page, "alice", "txt\u202ecod.exe \u200bzero")
        body = page.locator(f'li.msg[data-message-id="{hidden}"] pre.body')
        expect(body).to_have_text("txt\\u{202e}cod.exe \\u{200b}zero")
        ok("a bidi override and a zero-width space in a body are shown as \\u{202e} and \\u{200b}")

        # A dead letter, made through the dashboard: carol in manual mode,
        # three messages over the queue cap of 2 drop the oldest.
        carol = page.locator('#agents tr[data-agent="carol"]')
        carol.locator("select.mode").select_option("manual")
        expect(carol.locator("select.mode")).to_have_value("manual")
        held = [send_from_box(page, "carol", f"note {i} for carol") for i in range(3)]
        expect(chip(page, held[0], "carol")).to_have_attribute("data-state", "dropped")
        dropped_id = chip(page, held[0], "carol").get_attribute("data-delivery-id")
        expect(carol.locator("td.queue")).to_have_text("2")
        carol.locator("button.flush").click()
        for m in held[1:]:
            expect(chip(page, m, "carol")).to_have_attribute("data-state", "verified")
        ok("manual mode, queue cap: the oldest of three became a dead letter; flush delivered the rest")

        letter = page.locator(f'#dlq tr[data-delivery-id="{dropped_id}"]')
        expect(letter).to_have_attribute("data-state", "dropped")
        letter.locator("button.replay").click()
        expect(page.locator("#dlq-result")).to_have_attribute("data-ok", "true")
        expect(chip(page, held[0], "carol")).to_have_attribute("data-state", "queued")
        carol.locator("select.mode").select_option("idle")
        expect(chip(page, held[0], "carol")).to_have_attribute("data-state", "verified")
        expect(page.locator(f'#dlq tr[data-delivery-id="{dropped_id}"]')).to_have_count(0)
        report["replayed_delivery_id"] = dropped_id
        ok(f"replayed dead letter {dropped_id} from the dashboard; back to idle mode, it was verified")

        # Health: metrics highlights and no stuck delivery.
        expect(page.locator("#health")).to_have_attribute("data-status", "ok")
        expect(page.locator('#metrics dd[data-metric="courier_agents"]')).to_have_text("3")
        ok("health ok; metrics shown")

        # Terminals: typing with the echo, and a read-only viewer.
        terminals(page, report)
        a_draft_shows_held(page, context, base, report)

        # Security checks.
        for url in urls + [page.url]:
            assert token not in url, f"the owner's token is in a URL: {url}"
        assert token not in page.content(), "the owner's token is in the page"
        assert token not in json.dumps(page.evaluate("Object.entries(localStorage)"))
        ok(f"the owner's token is in none of {len(urls)} request URLs, the page or its storage")

        assert ui_responses, "no /ui responses seen"
        for r in ui_responses:
            csp = r.headers.get("content-security-policy", "")
            for directive in REQUIRED_CSP:
                assert directive in csp, f"{r.url}: CSP {csp!r} lacks {directive!r}"
        violations = page.evaluate("window.__cspViolations")
        assert violations == [], f"CSP violations: {violations}"
        ok(f"CSP on all {len(ui_responses)} /ui responses; no violation in the page")

        csrf = page.evaluate(
            """async () => {
                const r = await fetch('/v1/messages', {method: 'POST',
                    headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify({from: 'you', to: 'alice', body: 'forged'})});
                return [r.status, (await r.json()).error.code];
            }"""
        )
        assert csrf == [403, "csrf_header_required"], csrf
        direct = context.request.post(f"{base}/v1/messages",
                                      data={"from": "you", "to": "alice", "body": "forged"})
        assert direct.status == 403, direct.status
        marked = context.request.post(f"{base}/v1/messages",
                                      headers={"X-Courier-Request": "1"},
                                      data={"from": "you", "to": "bob", "body": "marked"})
        assert marked.status == 201, marked.status
        report["marked_message_id"] = marked.json()["message_id"]
        ok("a cookie-only POST without X-Courier-Request is refused (403); with it, accepted")

        cookie = session["value"]
        assert ws_handshake(base, "/v1/events/ws", cookie, "http://evil.example") == 403
        assert ws_handshake(base, "/v1/events/ws", cookie, None) == 403
        port = urlparse(base).port
        assert ws_handshake(base, "/v1/events/ws", cookie, f"http://127.0.0.1:{port + 1}") == 403
        assert ws_handshake(base, "/v1/events/ws", cookie, base) == 101
        ok("a cookie WebSocket upgrade with a foreign or missing Origin is refused; its own is accepted")

        # The state shown is the broker's `state`: an agent whose restart
        # policy gave up is `dead` (the table once said `exited`).
        spawned = context.request.post(
            f"{base}/v1/agents", headers={"X-Courier-Request": "1"},
            data={"name": "dave", "command": [EXE, "fake-agent", "--crash-after", "1"],
                  "restart": {"policy": "on-failure", "max_restarts": 0}})
        assert spawned.status == 201, spawned.text()
        dave = page.locator('#agents tr[data-agent="dave"]')
        expect(dave).to_have_attribute("data-state", "idle")
        crash = context.request.post(f"{base}/v1/messages", headers=MARKED,
                                     data={"from": "you", "to": "dave", "body": "crash"})
        assert crash.status == 201, crash.text()
        expect(dave).to_have_attribute("data-state", "dead")
        state = shows_the_api_state(page, context, base, "dave")
        assert state == "dead", state
        ok("a crashed agent whose restart policy gave up shows the broker's state: dead")

        # The code worked once.
        again = browser.new_context()
        answer = again.request.get(login["url"], max_redirects=0)
        assert answer.status == 401, answer.status
        assert answer.json()["error"]["code"] == "bad_login_code"
        again.close()
        ok("the login code works only once")

        assert errors == [], f"page errors: {errors}"
        browser.close()
    print(json.dumps(report), flush=True)


# Where a person clicks to type into a pane: inside its visible part (the
# terminal may be larger than the pane, which scrolls).
TOP_LEFT = {"x": 20, "y": 10}


def terminals(page, report):
    """Typing into a terminal pane shows the echo; a read-only pane cannot type."""
    pane = page.locator('.pane[data-agent="alice"][data-read-only="false"]')
    expect(pane).to_have_attribute("data-writable", "true")
    pane.locator(".xterm-screen").click(position=TOP_LEFT)
    page.keyboard.type("typed-in-the-browser")
    expect(pane.locator(".xterm-rows")).to_contain_text("typed-in-the-browser")
    page.keyboard.press("Enter")
    expect(pane.locator(".xterm-rows")).to_contain_text("you: typed-in-the-browser")
    report["typed"] = "typed-in-the-browser"
    ok("typed into alice's terminal pane; the echo and the submission are on its screen")

    page.locator('#agents tr[data-agent="bob"] button.watch-terminal').click()
    viewer = page.locator('.pane[data-agent="bob"][data-read-only="true"]')
    expect(viewer).to_have_attribute("data-status", "live")
    expect(viewer).to_have_attribute("data-writable", "false")
    viewer.locator(".xterm-screen").click(position=TOP_LEFT)
    page.keyboard.type("read-only-must-not-arrive")
    # A raw read-only socket from the page cannot type either: the broker
    # answers its input with an error frame.
    refused = page.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/v1/agents/bob/terminal?read_only=1`);
            ws.binaryType = 'arraybuffer';
            ws.onmessage = (m) => {
                if (typeof m.data !== 'string') return;
                const frame = JSON.parse(m.data);
                if (frame.type === 'hello') {
                    ws.send(new TextEncoder().encode('raw-read-only-must-not-arrive'));
                } else if (frame.type === 'error') {
                    ws.close();
                    resolve([frame.code, m.data]);
                }
            };
            ws.onclose = (c) => resolve(['closed', String(c.code)]);
        })"""
    )
    assert refused[0] == "read_only", refused
    # A barrier through the interactive pane: once it shows, anything typed
    # before it would have shown too.
    writer = page.locator('.pane[data-agent="bob"][data-read-only="false"]')
    writer.locator(".xterm-screen").click(position=TOP_LEFT)
    page.keyboard.type("barrier")
    expect(writer.locator(".xterm-rows")).to_contain_text("barrier")
    # xterm.js draws only what is on screen: bring the viewer into view.
    viewer.scroll_into_view_if_needed()
    expect(viewer.locator(".xterm-rows")).to_contain_text("barrier")
    for pane_text in [viewer.locator(".xterm-rows").inner_text(), writer.locator(".xterm-rows").inner_text()]:
        assert "must-not-arrive" not in pane_text, pane_text
    for _ in "barrier":
        page.keyboard.press("Backspace")
    expect(writer.locator(".xterm-rows")).not_to_contain_text("barrier")
    ok("a read-only viewer cannot type (neither its pane nor a raw read-only socket)")


def a_draft_shows_held(page, context, base, report):
    """A draft left in bob's input holds a message to him: the table shows
    the broker's `held` and, as the label's tooltip, the reason the API
    serves; clearing the draft lets the message in."""
    writer = page.locator('.pane[data-agent="bob"][data-read-only="false"]')
    writer.locator(".xterm-screen").click(position=TOP_LEFT)
    draft = "a-draft-left-in-the-box"
    page.keyboard.type(draft)
    expect(writer.locator(".xterm-rows")).to_contain_text(draft)
    body = "waits until the draft is gone"
    sent = context.request.post(f"{base}/v1/messages", headers=MARKED,
                                data={"from": "you", "to": "bob", "body": body})
    assert sent.status == 201, sent.text()
    message_id = sent.json()["message_id"]

    def held_for_the_draft():
        held = api_agent(context, base, "bob")["status"].get("held")
        return held if held and "draft" in held else None

    # Typing holds first (a person just typed), then the draft it left.
    reason = until("held reason naming the draft", held_for_the_draft)
    state = shows_the_api_state(page, context, base, "bob")
    assert state == "held", state
    row = page.locator('#agents tr[data-agent="bob"]')
    expect(row.locator(".state")).to_have_attribute("title", reason)
    expect(chip(page, message_id, "bob")).to_have_attribute("data-state", "queued")
    for _ in draft:
        page.keyboard.press("Backspace")
    expect(writer.locator(".xterm-rows")).not_to_contain_text(draft)
    expect(chip(page, message_id, "bob")).to_have_attribute("data-state", "verified")
    report["held_message_id"] = message_id
    report["held_body"] = body
    report["held_draft"] = draft
    ok("a draft in bob's input: the table shows the API's state, held, with its reason; "
       "cleared, the message went in")

if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a clear last line for the Rust test's report
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise
