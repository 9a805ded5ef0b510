"""End-to-end check of `courier mcp` with a real MCP client (the `mcp` package).

Run by crates/courier/tests/mcp.rs against a real broker. Environment:
  COURIER_BIN         the courier binary
  BROKER_URL          the broker's URL (from connection.json)
  OWNER_TOKEN         the owner's token (from connection.json)

It spawns two shell agents through the API (alice, bob) and carol, whose
screen shows a dialog so that nothing is ever typed into her terminal (her
deliveries stay queued until something claims them). It takes alice's and
carol's own tokens from /proc/<pid>/environ, starts `courier mcp` as each
over stdio, performs the handshake, lists the tools and calls every one.
Prints one line per check; exits non-zero on the first failure. Lines
`fact NAME=VALUE` are for mcp.rs, which checks the event log itself.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

from contextlib import asynccontextmanager

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

BIN = os.environ["COURIER_BIN"]
URL = os.environ["BROKER_URL"].rstrip("/")
OWNER = os.environ["OWNER_TOKEN"]
ME, PEER, HELD = "alice", "bob", "carol"
# Carol prints this and then waits; as a dialog pattern it keeps her not
# ready forever (no fallback lifts a dialog), so her queue never moves alone.
DIALOG = "courier-e2e: hold on"
CHANNEL = "#mcp-e2e"
TOOLS = {
    "set_delivery_mode",
    "flush_inbox",
    "message_status",
    "send_message",
    "list_agents",
    "list_channels",
    "join_channel",
    "leave_channel",
    "read_inbox",
    "report_done",
    "whoami",
}


def check(condition, what, detail=""):
    if not condition:
        raise AssertionError(f"{what}: {detail}")
    print(f"ok - {what}", flush=True)


def http(method, path, token, body=None):
    """(status, decoded JSON or None) of one API call."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    return status, (json.loads(text) if text else None)


def agent_token(name):
    """The agent's own COURIER_TOKEN, read from its process environment."""
    deadline = time.monotonic() + 10
    while True:
        status, agent = http("GET", f"/v1/agents/{name}", OWNER)
        if status == 200 and agent.get("pid"):
            with open(f"/proc/{agent['pid']}/environ", "rb") as f:
                env = dict(
                    item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item
                )
            if b"COURIER_TOKEN" in env:
                return env[b"COURIER_TOKEN"].decode()
        if time.monotonic() > deadline:
            raise AssertionError(f"no COURIER_TOKEN for agent {name}")
        time.sleep(0.1)


def delivery_of(msg_id, agent):
    """The delivery of message `msg_id` to `agent`, as the owner sees it."""
    status, answer = http("GET", f"/v1/messages/{msg_id}", OWNER)
    assert status == 200, (status, answer)
    return next(d for d in answer["deliveries"] if d["agent"] == agent)


def wait_delivery(msg_id, agent, states):
    """Waits (bounded, no timing asserted) until the delivery is in `states`."""
    deadline = time.monotonic() + 30
    while True:
        delivery = delivery_of(msg_id, agent)
        if delivery["state"] in states:
            return delivery
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery to {agent} stayed {delivery['state']}: {delivery}")
        time.sleep(0.1)


def mode_of(name):
    status, agent = http("GET", f"/v1/agents/{name}", OWNER)
    assert status == 200, (status, agent)
    return agent["mode"]


def shows_mode(name, mode):
    """Whether the API comes to show `mode` for the agent. The change is
    stored (and obeyed) before PUT answers, but the agent's listed status
    follows from its task a moment later, so wait (bounded) for it."""
    deadline = time.monotonic() + 10
    while mode_of(name) != mode:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def owner_send(sender, to, body, **extra):
    status, answer = http("POST", "/v1/messages", OWNER, {"from": sender, "to": to, "body": body, **extra})
    check(status == 201, f"{sender} writes to {to}", answer)
    return answer["message_id"]


@asynccontextmanager
async def mcp_session(name, token):
    params = StdioServerParameters(
        command=BIN,
        args=["mcp"],
        env={"COURIER_URL": URL, "COURIER_AGENT": name, "COURIER_TOKEN": token},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            yield session


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(session, tool, arguments=None, error=False):
    result = await session.call_tool(tool, arguments or {})
    text = text_of(result)
    check(
        bool(result.is_error) == error,
        f"{tool} {'fails' if error else 'succeeds'}",
        f"is_error={result.is_error} text={text!r}",
    )
    return result, text


async def run(token, held_token):
    async with mcp_session(ME, token) as session:
        init = await session.initialize()
        check(init.server_info.name == "courier", "server is named courier", init.server_info)
        check(ME in (init.instructions or ""), "instructions name the agent", init.instructions)

        tools = {t.name: t for t in (await session.list_tools()).tools}
        check(set(tools) == TOOLS, "all tools are listed", sorted(tools))
        for tool in tools.values():
            check(len(tool.description or "") > 40, f"{tool.name} has a description")
        send_props = tools["send_message"].input_schema.get("properties", {})
        check("from" not in send_props, "send_message has no `from`", send_props.keys())
        check(
            set(tools["send_message"].input_schema.get("required", [])) == {"to", "body"},
            "send_message requires to and body",
        )

        _, text = await call(session, "whoami")
        check(f'agent "{ME}"' in text, "whoami names me", text)

        _, text = await call(session, "report_done", {"result": "mcp checks under way"})
        check("you are done" in text, "report_done answers", text)
        status, me = http("GET", f"/v1/agents/{ME}", OWNER)
        check(
            status == 200 and me.get("done") is True and me.get("result") == "mcp checks under way",
            "report_done shows in the agent's listing",
            me,
        )

        _, text = await call(session, "list_agents")
        check(f"- {ME} (you):" in text and f"- {PEER}:" in text, "list_agents", text)

        _, text = await call(session, "join_channel", {"channel": CHANNEL})
        check(text.startswith(f"Joined {CHANNEL}"), "joined the channel", text)
        _, text = await call(session, "join_channel", {"channel": CHANNEL})
        check("already a member" in text, "joining twice changes nothing", text)
        _, text = await call(session, "list_channels")
        check(f"{CHANNEL} (you are a member): {ME}" in text, "list_channels", text)

        body = "hello bob from mcp"
        result, text = await call(session, "send_message", {"to": PEER, "body": body})
        sent = result.structured_content or {}
        msg_id = sent.get("message_id", "")
        check(msg_id and f"Sent msg {msg_id} to {PEER}" in text, "send_message gives an id", text)
        check(f"Recipients (1): {PEER}" in text, "send_message names the recipient", text)

        status, inbox = http("GET", f"/v1/agents/{PEER}/inbox?limit=10", OWNER)
        mine = [d for d in inbox["deliveries"] if d["message"]["id"] == msg_id]
        check(
            status == 200 and len(mine) == 1
            and mine[0]["message"]["from"] == ME
            and mine[0]["message"]["body"] == body,
            "the message is in the recipient's inbox, from me",
            inbox,
        )

        args = {"to": PEER, "body": "a reply", "thread": msg_id, "idempotency_key": "k-1"}
        first, _ = await call(session, "send_message", args)
        again, text = await call(session, "send_message", args)
        check(
            again.structured_content["message_id"] == first.structured_content["message_id"]
            and again.structured_content["duplicate"] is True
            and "nothing new was sent" in text,
            "an idempotency key sends once",
            text,
        )

        _, text = await call(session, "send_message", {"to": CHANNEL, "body": "anyone?"})
        check("Nobody received it" in text, "a channel of one reaches nobody", text)

        _, text = await call(
            session, "send_message", {"to": "nobody-here", "body": "hi"}, error=True
        )
        check("nobody-here" in text and "unknown_agent" in text, "broker errors reach the model", text)

        # Impersonation: the tool has no `from`, and an extra one is refused.
        before = len(http("GET", f"/v1/agents/{PEER}/inbox?limit=100", OWNER)[1]["deliveries"])
        _, text = await call(
            session, "send_message", {"to": PEER, "body": "forged", "from": ME}, error=True
        )
        after = len(http("GET", f"/v1/agents/{PEER}/inbox?limit=100", OWNER)[1]["deliveries"])
        check(
            "no `from`" in text and before == after,
            "send_message refuses a `from` and sends nothing",
            text,
        )
        status, answer = http("POST", "/v1/messages", token, {"from": PEER, "to": ME, "body": "x"})
        check(
            status == 403 and answer["error"]["code"] == "forged_sender",
            "over HTTP, the agent token cannot send as another agent",
            (status, answer),
        )

        # Typed into alice's terminal first, then read through MCP: a
        # read receipt after the screen proved it.
        reply_id = owner_send(PEER, ME, "hi alice", thread=msg_id)
        wait_delivery(reply_id, ME, {"verified", "unverified"})
        result, text = await call(session, "read_inbox", {"limit": 5})
        check(
            f"[courier] from {PEER} to you (direct) | msg {reply_id} | thread {msg_id}" in text
            and "hi alice" in text
            and "state: " in text,
            "read_inbox shows sender, ids, body and state",
            text,
        )
        items = result.structured_content["deliveries"]
        check(items[0]["message"]["body"] == "hi alice", "read_inbox is newest first", items)
        delivery = delivery_of(reply_id, ME)
        check(
            delivery["state"] == "read" and delivery["channel"] == "pty" and delivery["read_at"],
            "read_inbox marks a typed-in message read",
            delivery,
        )
        result, text = await call(session, "message_status", {"message_id": reply_id})
        check(
            f"Read by 1 of 1: {ME}." in text and result.structured_content["read_by"] == [ME],
            "message_status shows my own read receipt",
            text,
        )

        await held_messages(session)
        await claimed_messages(session, held_token)
        _, text = await call(session, "message_status", {"message_id": "01NOSUCHMESSAGE"}, error=True)
        check("unknown_message" in text, "message_status of an unknown id is a tool error", text)

        _, text = await call(session, "leave_channel", {"channel": CHANNEL})
        check(text.startswith(f"Left {CHANNEL}"), "left the channel", text)
        _, text = await call(session, "leave_channel", {"channel": CHANNEL})
        check("not a member" in text, "leaving twice changes nothing", text)
        _, text = await call(session, "join_channel", {"channel": "bad name!"}, error=True)
        check("invalid" in text, "a bad channel name is a tool error", text)


async def held_messages(session):
    """Manual mode holds a message, read_inbox does not leak it, a flush lets it through."""
    _, text = await call(session, "set_delivery_mode", {"mode": "manual"})
    check(text.startswith("Your delivery mode is now manual"), "set_delivery_mode says so", text)
    check(shows_mode(ME, "manual"), "the API shows the manual mode", mode_of(ME))

    held_id = owner_send(PEER, ME, "held until flushed")
    check(delivery_of(held_id, ME)["state"] == "queued", "manual mode holds it", delivery_of(held_id, ME))
    result, text = await call(session, "read_inbox")
    check(
        f"msg {held_id}" in text
        and "held because your delivery mode is manual" in text
        and "held until flushed" not in text,
        "read_inbox lists a held message without its text",
        text,
    )
    listed = [d for d in result.structured_content["deliveries"] if d["message_id"] == held_id]
    check(
        len(listed) == 1 and listed[0]["body_withheld"] is True and listed[0]["message"]["body"] == "",
        "its text is withheld from the structured result too",
        listed,
    )
    check(delivery_of(held_id, ME)["state"] == "queued", "a held message is not claimed", delivery_of(held_id, ME))

    _, text = await call(session, "flush_inbox")
    check(text.startswith("Released 1 held message."), "flush_inbox releases it", text)
    delivery = wait_delivery(held_id, ME, {"verified", "unverified"})
    check(delivery["channel"] == "pty", "the flushed message is typed in", delivery)
    check(mode_of(ME) == "manual", "a flush keeps the mode", mode_of(ME))

    for mode in ("immediate", "idle"):
        _, text = await call(session, "set_delivery_mode", {"mode": mode})
        check(f"now {mode}" in text and shows_mode(ME, mode), f"mode {mode} is set and visible", text)
    try:
        result = await session.call_tool("set_delivery_mode", {"mode": "later"})
        refused = bool(result.is_error)
    except Exception as e:  # a JSON-RPC invalid-params error
        refused = "later" in str(e) or "variant" in str(e)
    check(refused and mode_of(ME) == "idle", "an unknown mode is refused and changes nothing")


async def claimed_messages(session, held_token):
    """A queued message read through MCP is claimed: read, channel hook, never typed."""
    result, text = await call(session, "send_message", {"to": HELD, "body": "for carol, by MCP only"})
    claimed_id = result.structured_content["message_id"]
    result, text = await call(session, "message_status", {"message_id": claimed_id})
    check(
        "Nobody has read it yet" in text and f"- {HELD}: not read yet; queued" in text,
        "message_status before the recipient reads",
        text,
    )
    async with mcp_session(HELD, held_token) as carol:
        await carol.initialize()
        result, text = await call(carol, "read_inbox")
        check(
            text.startswith("1 new message for you, handed over here")
            and f"msg {claimed_id}" in text
            and "for carol, by MCP only" in text,
            "read_inbox hands a queued message over with its text",
            text,
        )
        claimed = result.structured_content["claimed"]
        check(
            len(claimed) == 1 and claimed[0]["state"] == "read" and claimed[0]["channel"] == "hook",
            "the claimed delivery is read through the hook channel",
            claimed,
        )
        _, text = await call(carol, "read_inbox")
        check(
            "new message" not in text and "state: read: you took it in already" in text,
            "reading again claims nothing new",
            text,
        )
    delivery = delivery_of(claimed_id, HELD)
    check(delivery["state"] == "read" and delivery["channel"] == "hook", "the API agrees", delivery)
    print(f"fact claimed_delivery={delivery['id']}", flush=True)

    result, text = await call(session, "message_status", {"message_id": claimed_id})
    check(
        f"Read by 1 of 1: {HELD}." in text
        and "handed over by read_inbox or a hook, never typed" in text
        and result.structured_content["read_by"] == [HELD],
        "the sender sees who has read its message",
        text,
    )


async def run_with_timeout(token, held_token):
    with anyio.fail_after(90):
        await run(token, held_token)


def main():
    specs = [{"name": name, "command": ["bash", "--norc", "--noprofile"]} for name in (ME, PEER)]
    specs.append(
        {"name": HELD, "command": ["sh", "-c", f"echo '{DIALOG}'; exec cat"], "dialog_patterns": [DIALOG]}
    )
    for spec in specs:
        status, answer = http("POST", "/v1/agents", OWNER, spec)
        check(status == 201, f"spawned {spec['name']}", answer)
    try:
        token = agent_token(ME)
        check(token != OWNER, "the agent has its own token")
        anyio.run(run_with_timeout, token, agent_token(HELD))
    finally:
        for spec in specs:
            http("DELETE", f"/v1/agents/{spec['name']}", OWNER)
    print("all MCP checks passed", flush=True)


def first_assertion(error):
    """The AssertionError inside (nested) exception groups, if any."""
    if isinstance(error, AssertionError):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = first_assertion(inner)
        if found is not None:
            return found
    return None


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:
        failure = first_assertion(e)
        if failure is None:
            raise
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
