"""A headless agent's conversation pane, in a real browser (Debian's Chromium
driven by Playwright).

Run by crates/courier/tests/dashboard.rs against a real `courier up` with a
terminal agent, tom (the fake agent as a line REPL), and a headless one, gem
(`courier fake-agent --protocol acp --tool-call TOOL_TITLE`: each turn runs
a tool titled TOOL_TITLE, then answers `echo: <input>`), both ready. The
environment and the shared helpers are in kit.py.

Checks: the table marks gem headless and offers its conversation, not a
terminal; gem's pane is a conversation pane and no xterm (nor terminal
WebSocket) is made for it while tom gets his; a message from the page's send
box shows in the pane as the prompt (from whom) then gem's reply, live; the
timeline shows the delivery verified and the reply under the message; each
turn's tool call is one entry between its prompt and its reply, completed,
its hostile title (an escape sequence, a bidi override) shown escaped; a reply
sent in the message's thread is shown and linked; the pane's own send box
sends; a bidi override in a body is shown, not obeyed; the pane reopened and
the page reloaded show each entry (tool calls too) once, from the transcript;
a headless agent spawned from the spawn form gets a conversation pane, closed
when released.

Prints one line per check, and last a JSON line the Rust test checks against
the broker's own record.
"""

import json
import sys

from playwright.sync_api import expect, sync_playwright

from kit import CHROMIUM, EXE, chip, courier_open, launch_args, ok, send_from_box


# gem's --tool-call title (the same in dashboard.rs): an escape sequence that
# would turn text red in a terminal and a bidi override that would reverse it.
TOOL_TITLE = "ls -la \x1b[31m\u202eevil"
# How the pane must show it: every hidden character written out.
TOOL_SHOWN = "ls -la \\u{1b}[31m\\u{202e}evil"


def conversation(page):
    return page.locator('.pane.conversation[data-agent="gem"]')


def entry(page, kind, message_id):
    return conversation(page).locator(f'li.conv-{kind}[data-message-id="{message_id}"]')


def kinds_in_order(page):
    """Each entry of gem's pane as kind:message_id, top to bottom."""
    return conversation(page).locator("li.conv").evaluate_all(
        "nodes => nodes.map(n => `${n.dataset.kind}:${n.dataset.messageId}`)")


def table_says_headless(page):
    gem = page.locator('#agents tr[data-agent="gem"]')
    expect(gem).to_have_attribute("data-headless", "true")
    expect(gem.locator("td.command")).to_contain_text("headless")
    expect(gem.locator("button.open-conversation")).to_be_visible()
    expect(gem.locator("button.open-terminal")).to_be_hidden()
    expect(gem.locator("button.watch-terminal")).to_be_hidden()
    tom = page.locator('#agents tr[data-agent="tom"]')
    expect(tom).to_have_attribute("data-headless", "false")
    expect(tom.locator("button.open-terminal")).to_be_visible()
    expect(tom.locator("button.open-conversation")).to_be_hidden()
    ok("the table marks gem headless (its delivery channel is native) and offers its conversation, "
       "not a terminal; tom keeps his terminal buttons")


def panes_are_right(page, sockets):
    expect(conversation(page)).to_have_attribute("data-status", "live")
    expect(conversation(page).locator(".pane-status")).to_have_text("idle")
    expect(page.locator('.pane[data-agent="tom"] .xterm')).to_have_count(1)
    expect(page.locator('.pane[data-agent="gem"] .xterm')).to_have_count(0)
    expect(page.locator(".xterm")).to_have_count(1)
    assert not any(u.endswith("/v1/agents/gem/terminal") or "/v1/agents/gem/terminal?" in u
                   for u in sockets), sockets
    ok("gem's pane is a conversation pane showing the API's state (idle): no xterm and no terminal "
       "WebSocket for it; tom has his xterm")


def prompt_then_reply(page, message_id, sender, body):
    prompt = entry(page, "prompt", message_id)
    expect(prompt.locator(".who")).to_have_text(f"{sender} → gem")
    expect(prompt.locator("pre.text")).to_contain_text(body)
    reply = entry(page, "reply", message_id)
    expect(reply.locator("pre.text")).to_contain_text("echo: ")
    expect(reply.locator("pre.text")).to_contain_text(body)
    order = kinds_in_order(page)
    assert order.index(f"prompt:{message_id}") < order.index(f"reply:{message_id}"), order


def tool_call_once(page, message_id):
    """The tool call of message_id's turn: one entry (its start and its
    completion fold into it), between the prompt and the reply, completed,
    its hostile title shown as text."""
    call = entry(page, "tool_call", message_id)
    expect(call).to_have_count(1)
    expect(call.locator(".who")).to_have_text(f"tool: {TOOL_SHOWN}")
    expect(call.locator(".tool-status")).to_have_text("completed")
    text = call.inner_text()
    assert "\x1b" not in text and "\u202e" not in text, text
    order = kinds_in_order(page)
    assert order.count(f"tool_call:{message_id}") == 1, order
    assert (order.index(f"prompt:{message_id}") < order.index(f"tool_call:{message_id}")
            < order.index(f"reply:{message_id}")), order


def spawn_headless_from_the_form(page):
    """The spawn form's headless box: the new agent is headless, its pane a
    conversation pane (empty: it got nothing yet); released, the pane goes."""
    page.locator("#spawn summary").click()
    form = page.locator("#spawn-form")
    form.locator("input[name=name]").fill("gem2")
    form.locator("input[name=command]").fill(f'"{EXE}" fake-agent --protocol acp')
    form.locator("input[name=headless]").check()
    form.locator("select[name=protocol]").select_option("acp")
    form.locator("button[type=submit]").click()
    expect(page.locator("#spawn-result")).to_have_attribute("data-ok", "true")
    row = page.locator('#agents tr[data-agent="gem2"]')
    expect(row).to_have_attribute("data-headless", "true")
    row.locator("button.open-conversation").click()
    pane = page.locator('.pane.conversation[data-agent="gem2"]')
    expect(pane).to_have_attribute("data-status", "live")
    expect(pane.locator("li.conv")).to_have_count(0)
    expect(page.locator('.pane[data-agent="gem2"] .xterm')).to_have_count(0)
    row.locator("button.release").click()
    expect(row).to_have_count(0)
    expect(pane).to_have_count(0)
    ok("gem2, spawned headless from the spawn form, got a conversation pane; released, the pane closed")


def main():
    login = courier_open()
    base = login["url"].split("/ui/")[0]
    report = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=launch_args())
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        errors, sockets = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.on("dialog", lambda d: d.accept())
        page.goto(login["url"])
        expect(page).to_have_url(f"{base}/ui/")
        expect(page.locator("#stream")).to_have_attribute("data-status", "live")

        table_says_headless(page)
        panes_are_right(page, sockets)

        # The page's send box, to a headless agent like to any other; the
        # pane was open before, so what it shows came live from the feed.
        body = "hello gem, from the dashboard"
        sent = send_from_box(page, "gem", body)
        prompt_then_reply(page, sent, "you", body)
        ok(f"sent {sent} from the send box: gem's pane shows the prompt from you, then gem's reply, live")
        tool_call_once(page, sent)
        ok("the turn's tool call is one entry between the prompt and the reply, completed, its title's "
           "escape sequence and bidi override shown as \\u{1b} and \\u{202e}, not obeyed")

        expect(chip(page, sent, "gem")).to_have_attribute("data-state", "verified")
        message = page.locator(f'li.msg[data-message-id="{sent}"]')
        expect(message).to_have_attribute("data-replies", "1")
        reply = message.locator('.reply[data-from="gem"][data-via="protocol"]')
        expect(reply.locator(".reply-text")).to_contain_text("echo: ")
        expect(reply.locator(".reply-text")).to_contain_text(body)
        ok("the timeline: the delivery to gem verified (by its protocol), gem's reply shown under the message")

        # A reply that is a message (sent in the message's thread, here as
        # tom) is shown with a link to the thread.
        page.fill("#compose input[name=from]", "tom")
        threaded = send_from_box(page, "gem", "tom answers in the thread", thread=sent)
        page.fill("#compose input[name=from]", "you")
        expect(message).to_have_attribute("data-replies", "2")
        linked = message.locator(f'.reply[data-from="tom"][data-via="message"][data-reply-id="{threaded}"]')
        expect(linked.locator(".reply-text")).to_have_text("tom answers in the thread")
        page.select_option("#filter-agent", "tom")
        expect(message).to_be_hidden()
        expect(page.locator(f'li.msg[data-message-id="{threaded}"]')).to_be_visible()
        page.click("#filter-clear")
        linked.locator("a.reply-link").click()
        expect(page.locator("#filter-thread")).to_have_value(sent)
        expect(message).to_be_visible()
        expect(page.locator(f'li.msg[data-message-id="{threaded}"]')).to_be_visible()
        page.click("#filter-clear")
        ok(f"a reply sent in the thread ({threaded}) is listed under the message and links to the thread")

        # The pane's own send box; a bidi override and a zero-width space
        # are shown, never obeyed.
        pane = conversation(page)
        pane.locator("textarea[name=body]").fill("from the pane \u202eevil\u200b")
        pane.locator("button[type=submit]").click()
        result = pane.locator(".result")
        expect(result).to_have_attribute("data-ok", "true")
        second = result.get_attribute("data-message-id")
        shown = "from the pane \\u{202e}evil\\u{200b}"
        expect(entry(page, "prompt", second).locator("pre.text")).to_contain_text(shown)
        expect(entry(page, "reply", second).locator("pre.text")).to_contain_text(shown)
        text = pane.inner_text()
        assert "\u202e" not in text and "\u200b" not in text and "\x1b" not in text, text
        ok(f"sent {second} from the pane's own box; the bidi override is shown as \\u{{202e}}, not obeyed")

        # A click on an entry's message link shows that message in the timeline.
        entry(page, "prompt", sent).locator("a.msg-link").click()
        expect(page.locator("#filter-thread")).to_have_value(sent)
        page.click("#filter-clear")

        # Reopened, then after a reload: read from the transcript (and the
        # replayed feed), each entry once.
        pane.locator("button.close").click()
        expect(conversation(page)).to_have_count(0)
        page.locator('#agents tr[data-agent="gem"] button.open-conversation').click()
        expect(conversation(page)).to_have_attribute("data-status", "live")
        prompt_then_reply(page, sent, "you", body)
        page.reload()
        expect(conversation(page)).to_have_attribute("data-status", "live")
        prompt_then_reply(page, second, "you", shown)
        order = kinds_in_order(page)
        for m in [sent, threaded, second]:
            for kind in ["prompt", "tool_call", "reply"]:
                assert order.count(f"{kind}:{m}") == 1, (kind, m, order)
            tool_call_once(page, m)
        expect(page.locator(".xterm")).to_have_count(1)
        ok("reopened and after a reload, the pane shows each prompt, tool call and reply once, in order, "
           "from the transcript")

        spawn_headless_from_the_form(page)
        assert not any("/v1/agents/gem/terminal" in u or "/v1/agents/gem2/terminal" in u
                       for u in sockets), sockets
        assert errors == [], f"page errors: {errors}"
        browser.close()
    report.update(sent_message_id=sent, threaded_message_id=threaded, pane_message_id=second)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a clear last line for the Rust test's report
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise
