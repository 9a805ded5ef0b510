"""End-to-end check of `courier mcp` with a real MCP client (the `mcp` package).

Run by crates/courier/tests/mcp.rs against a real broker. Environment:
  COURIER_BIN         the courier binary
  BROKER_URL          the broker's URL (from connection.json)
  OWNER_TOKEN         the owner's token (from connection.json)

It spawns two shell agents through the API (alice, bob), takes alice's own
token from /proc/<pid>/environ, starts `courier mcp` as alice over stdio,
performs the handshake, lists the tools and calls every one of them.
Prints one line per check; exits non-zero on the first failure.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

BIN = os.environ["COURIER_BIN"]
URL = os.environ["BROKER_URL"].rstrip("/")
OWNER = os.environ["OWNER_TOKEN"]
ME, PEER = "alice", "bob"
CHANNEL = "#mcp-e2e"
TOOLS = {
    "send_message",
    "list_agents",
    "list_channels",
    "join_channel",
    "leave_channel",
    "read_inbox",
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


async def run(token):
    params = StdioServerParameters(
        command=BIN,
        args=["mcp"],
        env={"COURIER_URL": URL, "COURIER_AGENT": ME, "COURIER_TOKEN": token},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
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

            status, answer = http(
                "POST", "/v1/messages", OWNER, {"from": PEER, "to": ME, "body": "hi alice", "thread": msg_id}
            )
            check(status == 201, "bob writes to me", answer)
            reply_id = answer["message_id"]
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

            _, text = await call(session, "leave_channel", {"channel": CHANNEL})
            check(text.startswith(f"Left {CHANNEL}"), "left the channel", text)
            _, text = await call(session, "leave_channel", {"channel": CHANNEL})
            check("not a member" in text, "leaving twice changes nothing", text)
            _, text = await call(session, "join_channel", {"channel": "bad name!"}, error=True)
            check("invalid" in text, "a bad channel name is a tool error", text)


async def run_with_timeout(token):
    with anyio.fail_after(60):
        await run(token)


def main():
    for name in (ME, PEER):
        status, answer = http(
            "POST", "/v1/agents", OWNER, {"name": name, "command": ["bash", "--norc", "--noprofile"]}
        )
        check(status == 201, f"spawned {name}", answer)
    try:
        token = agent_token(ME)
        check(token != OWNER, "the agent has its own token")
        anyio.run(run_with_timeout, token)
    finally:
        for name in (ME, PEER):
            http("DELETE", f"/v1/agents/{name}", OWNER)
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
