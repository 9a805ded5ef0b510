#!/usr/bin/env bash
# Makes the README's screenshot of the dashboard (docs/dashboard.png) from a
# demo team, so the picture can be made again after any change to the UI and
# shows what a reader would see with their own agents.
#
# What it does:
#   1. builds courier and the fake agent (cargo build);
#   2. starts `courier up --ephemeral` in a temp state directory, on
#      127.0.0.1 with a port the system chooses;
#   3. spawns a demo team, planner, coder and reviewer (all on #team), each
#      running the fake agent through a wrapper on PATH named like the CLI it
#      stands in for (fake-claude, fake-codex, fake-gemini), so the command
#      column reads like a real team's and holds no build directory's path,
#      and researcher, headless (fake-gemini-acp: the fake agent serving the
#      Agent Client Protocol), whose pane is its conversation;
#   4. sends a few messages among them (direct, #team, a threaded reply, a
#      question to the headless researcher and a broadcast) and waits,
#      bounded, until every delivery is verified;
#   5. checks the agents' commands as the API lists them hold no absolute
#      build path (/target/, /work/, this checkout), and fails otherwise;
#   6. logs in headless Chromium with `courier open --no-browser --json`
#      (Playwright: scripts/screenshot.py), waits until the page shows the
#      team, the verified deliveries, the live terminals and the
#      researcher's answer in its conversation pane, and saves the picture;
#   7. stops everything it started (the broker, its agents, the temp
#      directory), also when it fails or is interrupted.
#
# Needs: the Rust toolchain, jq, Debian's chromium and a Python with
# Playwright (scripts/test.sh installs both into target/pyenv and the
# system; Playwright never downloads a browser here).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/screenshot.sh [--out FILE] [--python PYTHON] [--chromium BROWSER]

Makes the dashboard's screenshot from a demo team (planner, coder, reviewer
running the fake agent) and writes it to FILE.

Options:
  --out FILE          where to write the PNG (default: docs/dashboard.png)
  --python PYTHON     a Python with Playwright (default: $COURIER_TEST_PYTHON,
                      else target/pyenv/bin/python, as scripts/test.sh installs)
  --chromium BROWSER  the browser (default: $COURIER_CHROMIUM, else chromium on PATH)
  -h, --help          print this help

Every wait is bounded (60 s); the script fails with a message rather than
take a picture of a dashboard that is not ready.
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/docs/dashboard.png"
python="${COURIER_TEST_PYTHON:-$root/target/pyenv/bin/python}"
chromium="${COURIER_CHROMIUM:-$(command -v chromium || true)}"
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --out) out="$(realpath -m "${2:?--out needs a file}")"; shift 2 ;;
        --python) python="${2:?--python needs a program}"; shift 2 ;;
        --chromium) chromium="${2:?--chromium needs a program}"; shift 2 ;;
        *) echo "screenshot.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() {
    echo "screenshot.sh: $*" >&2
    exit 1
}

command -v jq >/dev/null || die "needs jq (apt-get install -y jq)"
[ -x "$python" ] && "$python" -c "import playwright" 2>/dev/null \
    || die "no Python with Playwright at $python: run scripts/test.sh once, or pass --python"
[ -n "$chromium" ] && [ -x "$chromium" ] \
    || die "no chromium: apt-get install -y chromium, or pass --chromium"

# Nothing of the caller's own broker may leak in: the CLI reads these.
for var in $(compgen -e | grep '^COURIER_' || true); do
    unset "$var"
done

# Bounded waits: no step depends on timing to succeed, only to be fast.
DEADLINE_S=60

wait_until() {
    local what="$1"
    shift
    local start=$SECONDS
    until "$@"; do
        [ $((SECONDS - start)) -lt "$DEADLINE_S" ] || die "no $what within $DEADLINE_S s"
        sleep 0.2
    done
}

echo "screenshot.sh: building courier and the fake agent" >&2
(cd "$root" && cargo build --quiet -p courier --bins -p courier-fake-agent)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
courier="$target_dir/debug/courier"
fake_agent="$target_dir/debug/courier-fake-agent"

work="$(mktemp -d)"
broker_pid=""
cleanup() {
    local status=$?
    if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
        # A graceful stop ends every agent with the broker.
        "$courier" --state-dir "$work/state" down >/dev/null 2>&1 || kill "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/broker.log" ]; then
        echo "--- broker log ---" >&2
        tail -n 40 "$work/broker.log" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The wrappers the team runs: the command column shows their names, and
# their flags stay out of it (each wrapper holds its agent's look and reply).
mkdir "$work/bin"
wrapper() {
    local name="$1"
    shift
    {
        echo '#!/bin/sh'
        printf 'exec %q' "$fake_agent"
        printf ' %q' "$@"
        echo ' "$@"'
    } >"$work/bin/$name"
    chmod +x "$work/bin/$name"
}
wrapper fake-claude --border --prompt '❯' --nbsp --reply 'Plan: backoff.rs first, then the jitter test'
wrapper fake-codex --mode line --reply 'on it: writing backoff.rs'
wrapper fake-gemini --reply 'reviewing the change'
wrapper fake-gemini-acp --protocol acp --reply 'RFC 9110: honour Retry-After when it is given; else back off with jitter'

echo "screenshot.sh: starting a broker in $work/state" >&2
PATH="$work/bin:$PATH" "$courier" up --ephemeral --state-dir "$work/state" \
    >/dev/null 2>"$work/broker.log" &
broker_pid=$!

connection_is_ours() {
    kill -0 "$broker_pid" 2>/dev/null || die "the broker exited early"
    [ "$(jq -r .pid "$work/state/connection.json" 2>/dev/null)" = "$broker_pid" ]
}
wait_until "connection file of the broker" connection_is_ours
url="$(jq -r .url "$work/state/connection.json")"
token="$(jq -r .token "$work/state/connection.json")"

cli() {
    "$courier" --state-dir "$work/state" "$@"
}

api() {
    local method="$1" path="$2"
    shift 2
    curl --silent --show-error --fail-with-body -X "$method" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        "$url$path" "$@"
}

# 80×24 terminals, so two panes side by side show whole screens.
for agent in planner:fake-claude coder:fake-codex reviewer:fake-gemini; do
    spec="$(jq -n --arg name "${agent%%:*}" --arg command "${agent##*:}" \
        '{name: $name, command: [$command], channels: ["team"], rows: 24, cols: 80}')"
    api POST /v1/agents --data "$spec" >/dev/null
done
api POST /v1/agents --data '{"name": "researcher", "headless": true, "command": ["fake-gemini-acp"]}' >/dev/null

team_idle() {
    [ "$(cli --json agents | jq '[.agents[] | select(.state == "idle")] | length')" = 4 ]
}
wait_until "idle team" team_idle

send() {
    cli --json send "$@" | jq -r .message_id
}
ids=()
ids+=("$(send --from human planner 'Add retries with backoff to the HTTP client')")
plan="$(send --from planner '#team' 'Plan: coder writes backoff.rs, reviewer checks the jitter bounds')"
ids+=("$plan")
ids+=("$(send --from coder --thread "$plan" reviewer 'backoff.rs is ready for review')")
ids+=("$(send --from planner researcher 'What does RFC 9110 say about Retry-After?')")
ids+=("$(send --from reviewer '*' 'Review done: two nits, ship it')")

all_verified() {
    local id
    for id in "${ids[@]}"; do
        cli --json message "$id" \
            | jq -e '.deliveries | length > 0 and all(.state == "verified")' >/dev/null \
            || return 1
    done
}
wait_until "verified delivery of every message" all_verified

# The picture must not show where this checkout or its build lives.
listing="$(cli --json agents)"
leaks="$(jq -r --arg root "$root" \
    '.agents[] | .name as $n | (.command // [])[] | select(contains("/target/") or contains("/work/") or contains($root)) | "\($n): \(.)"' \
    <<<"$listing")"
[ -z "$leaks" ] || die "an agent's command shows a build path; no picture taken:
$leaks"

echo "screenshot.sh: taking the picture" >&2
mkdir -p "$(dirname "$out")"
COURIER_EXE="$courier" COURIER_STATE_DIR="$work/state" COURIER_CHROMIUM="$chromium" \
    "$python" "$root/scripts/screenshot.py" "$out" "${ids[@]}"
echo "screenshot.sh: wrote $out" >&2
