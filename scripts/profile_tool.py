#!/usr/bin/env python3
"""The helpers of scripts/profile.sh (stdlib only; see `profile.sh --help`).

  profile_tool.py latency STATE_DIR AGENT COUNT WINDOWS_TSV
      Sends COUNT messages one at a time to an idle AGENT of the broker whose
      state dir is STATE_DIR; per send writes to WINDOWS_TSV the CLOCK_MONOTONIC
      times (s) of: POST start, 201 answered, text on the screen, verified, and
      the delivery's event times (ms after POST start, from the event log).
  profile_tool.py fold PERF_SCRIPT_TXT [WINDOWS_TSV PHASE [PID]]
      Folds `perf script` output (perf record -k CLOCK_MONOTONIC -e cpu-clock)
      into a summary: CPU time by thread, by crate/module of the leaf frame, by
      syscall, by the innermost courier frame, and the top folded stacks. With
      WINDOWS_TSV, only samples within each send's window count: PHASE `screen`
      (POST start → text on screen) or `verified` (POST start → verified); with
      PID only that process's samples (WINDOWS_TSV and PHASE may be "").
  profile_tool.py heap STACKS_TXT COST
      Sums a heaptrack flamegraph stack file (`heaptrack_print -F`, cost
      `peak` in bytes or `allocations` in calls) by the crate that asked for
      the memory (the first frame off the allocator and std), by innermost
      courier module, and lists the top stacks.
  profile_tool.py mem PID
      A per-mapping breakdown of /proc/PID/smaps (markdown), with its threads
      and the stack each one runs on.
"""

import collections
import http.client
import json
import os
import re
import sys
import time
import urllib.parse


# ---------------------------------------------------------------- latency --

class Api:
    def __init__(self, state_dir):
        with open(os.path.join(state_dir, "connection.json")) as f:
            conn = json.load(f)
        url = urllib.parse.urlparse(conn["url"])
        self.host, self.port = url.hostname, url.port
        self.token = conn["token"]
        self.http = http.client.HTTPConnection(self.host, self.port)

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.http.request(method, path, body=data, headers=headers)
        resp = self.http.getresponse()
        text = resp.read()
        if resp.status >= 300:
            raise SystemExit(f"profile_tool: {method} {path}: {resp.status} {text[:300]!r}")
        return json.loads(text) if text else None


def wait_idle(api, agent, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        a = api.call("GET", f"/v1/agents/{agent}")
        s = a.get("status", {})
        if s.get("ready") and not s.get("busy") and a.get("queue_depth") == 0 \
                and s.get("delivering") is None:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"profile_tool: {agent} never became idle: {a}")
        time.sleep(0.005)


def rfc3339_ms(text):
    # 2026-12-07T15:10:33.123Z → epoch ms
    base, frac = text.rstrip("Z").split(".")
    t = time.strptime(base, "%Y-%m-%dT%H:%M:%S")
    return (time.mktime(t) - time.timezone) * 1000 + int(frac[:3].ljust(3, "0"))


def latency(state_dir, agent, count, out):
    api = Api(state_dir)
    poll = 0.0003  # as the daemon bench: poll, don't spin
    rows = []
    for i in range(count):
        wait_idle(api, agent)
        time.sleep(0.03)
        token = f"prof-token-{i}-x"
        wall0, t0 = time.time(), time.monotonic()
        sent = api.call("POST", "/v1/messages", {"from": "prof", "to": agent, "body": token})
        t_ack = time.monotonic()
        mid = sent["message_id"]
        while True:
            screen = api.call("GET", f"/v1/agents/{agent}/screen")
            if any(token in r for r in screen.get("rows", []) if isinstance(r, str)):
                t_screen = time.monotonic()
                break
            if time.monotonic() - t0 > 20:
                raise SystemExit("profile_tool: text never reached the screen")
            time.sleep(poll)
        while True:
            m = api.call("GET", f"/v1/messages/{mid}")
            if m["deliveries"][0]["state"] == "verified":
                t_ver = time.monotonic()
                break
            if time.monotonic() - t0 > 20:
                raise SystemExit(f"profile_tool: never verified: {m}")
            time.sleep(poll)
        rows.append([i, t0, t_ack, t_screen, t_ver, mid, wall0 * 1000])
    # The delivery's events, as ms after its POST started (ms precision).
    events = collections.defaultdict(dict)
    since = 0
    while True:
        page = api.call("GET", f"/v1/events?since={since}&limit=10000")
        evs = page.get("events", page) if isinstance(page, dict) else page
        if not evs:
            break
        for e in evs:
            since = max(since, e.get("seq", since))
            if e.get("message_id") and e.get("type") not in events[e["message_id"]]:
                events[e["message_id"]][e["type"]] = rfc3339_ms(e["time"])
        if len(evs) < 10000:
            break
    kinds = ["message_accepted", "delivery_injecting", "delivery_injected", "delivery_verified"]
    with open(out, "w") as f:
        f.write("i\tpost_s\tack_s\tscreen_s\tverified_s\tmessage_id\t"
                + "\t".join(k + "_ms" for k in kinds) + "\n")
        for i, t0, ta, ts, tv, mid, wall0 in rows:
            ev = [events[mid].get(k) for k in kinds]
            ev = ["" if v is None else f"{v - wall0:.0f}" for v in ev]
            f.write(f"{i}\t{t0:.6f}\t{ta:.6f}\t{ts:.6f}\t{tv:.6f}\t{mid}\t" + "\t".join(ev) + "\n")
    summarize_latency(out)


def pct(xs, p):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * p)] if xs else float("nan")


def summarize_latency(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    f = lambda col: [float(r[col]) for r in rows if r[col] != ""]
    ms = lambda a, b: [(float(r[b]) - float(r[a])) * 1000 for r in rows]
    print(f"sends: {len(rows)} (one at a time to an idle agent; p50 / p90 in ms)")
    for name, xs in [("POST → 201", ms(1, 2)), ("POST → text on screen (polled every 0.3 ms)", ms(1, 3)),
                     ("POST → verified (polled every 0.3 ms)", ms(1, 4)),
                     ("event message_accepted (ms precision)", f(6)),
                     ("event delivery_injecting", f(7)),
                     ("event delivery_injected (text typed, before Enter)", f(8)),
                     ("event delivery_verified", f(9))]:
        print(f"  {name:52} {pct(xs, 0.5):7.2f} {pct(xs, 0.9):7.2f}")


# ------------------------------------------------------------------- fold --

SYSCALL = re.compile(r"^(?:__x64_sys|__se_sys|__do_sys|ksys)_(\w+)$")


def crate_of(sym, dso):
    """The crate (or library/kernel part) a frame belongs to."""
    if dso.startswith("[kernel") or dso == "[unknown]" and sym.startswith(("entry_", "__x64")):
        if sym.startswith("finish_task_switch"):
            return "kernel: context switch (finish_task_switch)"
        return "kernel"
    base = os.path.basename(dso)
    if sym.startswith("sqlite3") or "sqlite" in base:
        return "sqlite3"
    if base.startswith(("libc.so", "libc-")) or base.startswith("ld-linux"):
        if re.match(r"^(__libc_)?(malloc|free|calloc|realloc|_int_|cfree|tcache|malloc_consolidate|unlink_chunk)", sym):
            return "libc malloc/free"
        if sym.startswith(("__memmove", "__memcpy", "__memset", "__memcmp", "__strlen", "memcpy", "memmove", "__memchr")):
            return "libc mem*/str*"
        return "libc (other)"
    if "::" not in sym and not sym.startswith(("<", "[")) and (base == "courier" or base.startswith("store-")):
        # C compiled into the binary: the bundled SQLite (sqlite3*, and its static camelCase helpers).
        if sym.startswith("sqlite3") or re.match(r"^[a-z][a-z0-9]*[A-Z][A-Za-z0-9_]*(\.\w+)*$", sym):
            return "sqlite3"
        return f"C in the binary: {sym[:30]}"
    sym = re.sub(r"^[<\[]+(&mut |&|dyn |\*const |\*mut )?", "", sym)  # <a::B as c::D>::f → a
    sym = re.sub(r"^[A-Z]\w* as ", "", sym)  # <F as axum::Handler>::call → axum
    sym = re.sub(r"^(core::ptr::drop_in_place|core::ops::function::\w+::\w+)<", "", sym)
    m = re.match(r"^_?([A-Za-z_][A-Za-z0-9_]*)::", sym)
    if m:
        c = m.group(1)
        return "std/core/alloc" if c in ("core", "alloc", "std", "hashbrown") else c
    if sym.startswith("[unknown]") or sym == "":
        return f"[unknown] ({base})"
    return f"{sym.split('(')[0][:40]} ({base})"


def module_of(sym):
    """courier_x::a::b of a courier frame (two path segments after the crate)."""
    s = sym[1:] if sym.startswith("<") else sym
    m = re.match(r"^(courier_\w+(?:::[a-z_0-9]+){0,2})", s)
    return m.group(1) if m else None


ENTRY_RULES = [
    (re.compile(r"courier_broker::api::(\w+)::(\w+)"), "API handler api::{0}::{1}"),
    (re.compile(r"courier_broker::(delivery|agents|lifecycle|terminals|federation|pruner|bus)::(\w+)"), "broker {0}::{1}"),
    (re.compile(r"courier_store::(writer|read_pool)"), "store thread: {0}"),
    (re.compile(r"courier_broker::(connections|server)|^hyper::|axum::"), "HTTP: hyper/axum and handlers inlined into them"),
    (re.compile(r"courier_terminal::(host::\w+|pty|\w+)"), "terminal {0}"),
]


def entry_of(stack, comm):
    """What the sample's work was for: the first rule any frame matches."""
    syms = [re.sub(r"^[<\[]+(&mut |&)?", "", s) for s, _ in stack]
    for rule, label in ENTRY_RULES:
        for s in reversed(syms):
            m = rule.search(s)
            if m:
                return label.format(*[g for g in m.groups() if g] or [""])
    return f"other, thread {re.sub(r'[-_]?[0-9]+$', '', comm)}"


def parse_perf_script(path):
    """Yields (comm, pid, time_s, period, [(sym, dso) leaf first])."""
    head, stack = None, []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if head:
                    yield head + (stack,)
                head, stack = None, []
                continue
            if not line[0].isspace():
                m = re.match(r"^(.*?)\s+(\d+)/(\d+)\s+(\d+\.\d+):\s+(\d+)\s", line)
                if m:
                    head = (m.group(1).strip(), int(m.group(2)), float(m.group(4)), int(m.group(5)))
                continue
            m = re.match(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
            if m:
                sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
                stack.append((sym, m.group(2)))
    if head:
        yield head + (stack,)


def load_windows(path, phase):
    col = {"screen": 3, "verified": 4}[phase]
    rows = [l.split("\t") for l in open(path)][1:]
    return sorted((float(r[1]), float(r[col])) for r in rows)


def fold(script, windows=None, phase=None, pid=None):
    wins = load_windows(windows, phase) if windows else None
    pid = int(pid) if pid else None
    by_thread, by_crate, by_sys, by_mod, stacks, leaf, by_entry = (collections.Counter() for _ in range(7))
    total = 0
    n = 0
    for comm, p, t, period, stack in parse_perf_script(script):
        if pid is not None and p != pid:
            continue
        if wins is not None and not any(a <= t <= b for a, b in wins):
            continue
        n += 1
        total += period
        by_thread[re.sub(r"[-_]?\d+$", "", comm) or comm] += period
        sym, dso = stack[0] if stack else ("[no stack]", "")
        by_crate[crate_of(sym, dso)] += period
        leaf[f"{sym[:110]}  [{crate_of(sym, dso)}]"] += period
        sc = next((SYSCALL.match(s).group(1) for s, _ in stack if SYSCALL.match(s)), None)
        by_sys[sc or ("(user space)" if not dso.startswith("[kernel") else "(kernel, no syscall: irq/fault/sched)")] += period
        by_entry[entry_of(stack, comm)] += period
        mod = next((module_of(s) for s, _ in stack if module_of(s)), None)
        by_mod[mod or "(no courier frame: runtime, std, libs)"] += period
        # Folded stack by crate, root first, repeated crates merged: the shape of the path.
        path, last = [], None
        for s, d in reversed(stack):
            c = module_of(s) or crate_of(s, d)
            if c != last and (path or not c.startswith(("libc", "std/", "[unknown]", "unknown]"))):
                path.append(c)
                last = c
        stacks[";".join(path[-8:])] += period

    out = []
    ms = total / 1e6
    scope = f"{len(wins)} windows ({phase})" if wins is not None else "the whole recording"
    out.append(f"samples: {n}, CPU time: {ms:.1f} ms over {scope}"
               + (f", {ms / len(wins):.2f} ms CPU per send" if wins else ""))

    def table(title, counter, k=25):
        out.append("")
        out.append(f"## {title}")
        out.append("")
        out.append("| % | CPU ms | what |")
        out.append("|---:|---:|---|")
        for what, v in counter.most_common(k):
            out.append(f"| {100 * v / max(total, 1):.1f} | {v / 1e6:.1f} | {what.replace('|', '/')} |")
        rest = sum(counter.values()) - sum(v for _, v in counter.most_common(k))
        if rest > 0:
            out.append(f"| {100 * rest / max(total, 1):.1f} | {rest / 1e6:.1f} | (the rest) |")

    table("By thread (comm, numbers stripped)", by_thread, 15)
    table("Self time by crate/library of the leaf frame", by_crate, 25)
    table("By syscall on the stack (kernel time inside it, user time as `(user space)`)", by_sys, 15)
    table("By task: the API handler, broker component or thread the work ran for", by_entry, 25)
    table("By innermost courier module on the stack (who asked for the work)", by_mod, 30)
    table("Top leaf symbols (self time)", leaf, 30)
    table("Top folded stacks by crate (root;…;leaf, last 8 crates)", stacks, 30)
    print("\n".join(out))


# ------------------------------------------------------------------- heap --

ALLOC_NOISE = re.compile(r"^(<?(alloc|core|std|hashbrown)::|__rust|__rdl|_rjem|malloc|calloc|realloc|"
                         r"operator new|\?\?|<unresolved|heaptrack|_dl_|std::|__libc|<alloc::|$|"
                         r"_R\w*(5alloc|4core|3std|7___rustc)|sqlite3(Mem)?(Malloc|Realloc)|sqlite3DbMalloc|"
                         r"db(MallocRaw|Realloc)Finish|sqlite3DbRealloc)")


def frame_name(f):
    """A heaptrack frame, `name (file.rs)`, as a readable Rust or C name."""
    f = re.sub(r" \([^()]*\)$", "", f.strip())
    for a, b in (("_$LT$", "<"), ("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","),
                 ("$u7b$", "{"), ("$u7d$", "}"), ("$RF$", "&"), ("$BP$", "*"), ("..", "::")):
        f = f.replace(a, b)
    return re.sub(r"::h[0-9a-f]{16}$", "", f)


def heap(stacks_file, cost):
    by_crate, by_mod, top = (collections.Counter() for _ in range(3))
    total = 0
    for line in open(stacks_file, errors="replace"):
        line = line.rstrip("\n")
        if not line or " " not in line:
            continue
        frames, n = line.rsplit(" ", 1)
        n = int(n)
        frames = [frame_name(f) for f in frames.split(";")]  # root first
        total += n
        leafward = list(reversed(frames))
        asker = next((f for f in leafward if not ALLOC_NOISE.match(f)), leafward[0] if leafward else "?")
        by_crate[crate_of(asker, "courier")] += n
        mod = next((module_of(f) for f in leafward if module_of(f)), None)
        by_mod[mod or "(no courier frame: runtime, std, libs at start)"] += n
        short = [f[:80] for f in leafward if not ALLOC_NOISE.match(f)][:4]
        top[" ← ".join(short) or "?"] += n
    unit = "KB" if cost == "peak" else "calls"
    scale = 1024 if cost == "peak" else 1

    def table(title, counter, k):
        print(f"\n#### {title}\n")
        print(f"| % | {unit} | what |")
        print("|---:|---:|---|")
        for what, v in counter.most_common(k):
            print(f"| {100 * v / max(total, 1):.1f} | {v / scale:.0f} | {what.replace('|', '/')} |")

    print(f"Total ({cost}): {total / scale:.0f} {unit}")
    table(f"By the crate that asked (first frame off the allocator and std), {cost}", by_crate, 15)
    table(f"By innermost courier module on the stack, {cost}", by_mod, 15)
    table(f"Top stacks (leaf ← caller, allocator/std frames left out), {cost}", top, 20)


# -------------------------------------------------------------------- mem --

def mem(pid):
    exe = os.path.realpath(f"/proc/{pid}/exe")
    maps = []
    cur = None
    for line in open(f"/proc/{pid}/smaps"):
        f = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            cur = {"lo": lo, "hi": hi, "perms": f[1], "path": f[5] if len(f) > 5 else "", "kb": {}}
            maps.append(cur)
        elif cur is not None and len(f) >= 2 and f[0].endswith(":") and f[1].isdigit():
            cur["kb"][f[0][:-1]] = int(f[1])
    # The stack each thread runs on: its stack pointer from /proc/PID/task/TID/syscall.
    threads = []
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        try:
            sp = int(open(f"/proc/{pid}/task/{tid}/syscall").read().split()[-2], 16)
        except (OSError, ValueError, IndexError):
            sp = None
        threads.append((tid, comm, sp))
    stack_of = {}
    for tid, comm, sp in threads:
        for m in maps:
            if sp is not None and m["lo"] <= sp < m["hi"]:
                stack_of[id(m)] = f"{comm} ({tid})"

    def category(m):
        p = m["path"]
        if id(m) in stack_of:
            return "thread stack: " + ("main" if p == "[stack]" else "thread")
        if p == exe or p.endswith("/courier"):
            return {"r-xp": "binary: code (.text)", "r--p": "binary: read-only data (.rodata, .eh_frame, relro)",
                    "rw-p": "binary: .data/.bss"}.get(m["perms"], "binary: " + m["perms"])
        if p == "[heap]":
            return "[heap] (brk: main malloc arena)"
        if p.startswith("[") and p != "":
            return p
        if p.startswith("/"):
            return ("shared library code" if "x" in m["perms"] else "shared library data") + f": {os.path.basename(p).split('.so')[0]}"
        if m["perms"] == "---p":
            return "anon guard/reserve (---p, no memory)"
        return "anon rw mmap (malloc arenas of other threads, large allocations, tokio/sqlite buffers)"

    cats = collections.OrderedDict()
    for m in maps:
        c = cats.setdefault(category(m), {"n": 0, "Size": 0, "Rss": 0, "Pss": 0, "Anonymous": 0, "Private_Dirty": 0})
        c["n"] += 1
        for k in ("Size", "Rss", "Pss", "Anonymous", "Private_Dirty"):
            c[k] += m["kb"].get(k, 0)
    tot = {k: sum(c[k] for c in cats.values()) for k in ("Size", "Rss", "Pss", "Anonymous", "Private_Dirty")}
    print(f"Process {pid} ({exe}), {len(threads)} threads, {len(maps)} mappings. kB:\n")
    print("| category | mappings | Size | Rss | Pss | Anonymous | Private_Dirty |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, c in sorted(cats.items(), key=lambda kv: -kv[1]["Rss"]):
        print(f"| {name} | {c['n']} | {c['Size']} | {c['Rss']} | {c['Pss']} | {c['Anonymous']} | {c['Private_Dirty']} |")
    print(f"| **total** | {len(maps)} | {tot['Size']} | {tot['Rss']} | {tot['Pss']} | {tot['Anonymous']} | {tot['Private_Dirty']} |")
    print("\nThreads and their stacks (the mapping holding the thread's stack pointer; kB):\n")
    print("| thread | mapping size | Rss |")
    print("|---|---:|---:|")
    for tid, comm, sp in threads:
        m = next((m for m in maps if sp is not None and m["lo"] <= sp < m["hi"]), None)
        if m:
            print(f"| {comm} ({tid}) | {m['kb'].get('Size', 0)} | {m['kb'].get('Rss', 0)} |")
        else:
            print(f"| {comm} ({tid}) | ? (running, no stack pointer) | |")
    print("\nThe largest mappings by Rss (kB):\n")
    print("| address | perms | Size | Rss | Pss | Anonymous | category |")
    print("|---|---|---:|---:|---:|---:|---|")
    for m in sorted(maps, key=lambda m: -m["kb"].get("Rss", 0))[:15]:
        print(f"| {m['lo']:x} | {m['perms']} | {m['kb'].get('Size', 0)} | {m['kb'].get('Rss', 0)} | "
              f"{m['kb'].get('Pss', 0)} | {m['kb'].get('Anonymous', 0)} | {category(m)} |")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, args = argv[1], argv[2:]
    if cmd == "latency":
        latency(args[0], args[1], int(args[2]), args[3])
    elif cmd == "summary":
        summarize_latency(args[0])
    elif cmd == "fold":
        fold(*args[:4])
    elif cmd == "heap":
        heap(args[0], args[1])
    elif cmd == "mem":
        mem(int(args[0]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
