#!/usr/bin/env bash
# Profiles where the time and the memory go (issue 22): builds the release `courier` (symbols from
# the release profile's `debug = 1`), records `perf` (cpu-clock, DWARF call graphs: the release
# build has no frame pointers) on the broker and an agent's session host, and writes small text
# summaries to benchmarks/profiles/ (committed); raw perf.data, perf script output and heaptrack
# files go to target/profiles/. What each file is: benchmarks/profiles/README.md.
#
#   scripts/profile.sh                        # everything, ~6-10 min on 2 cores
#   scripts/profile.sh --only latency,memory  # a subset
#
# Parts for --only:
#   latency  send → screen and send → verified: one message at a time over HTTP to an idle bash
#            agent (scripts/profile_tool.py latency), perf on the broker and the agent's host;
#            writes send-to-screen.txt, send-to-verified.txt
#   store    the store's write path: the store bench's 64-sender phase in process, and 64
#            concurrent HTTP senders (curl --parallel) into `courier up`; writes store-write.txt
#   memory   smaps of an idle broker and of one session host, heaptrack of the idle broker's
#            first seconds and of a broker with one agent; writes memory-idle.md
# Knobs: COURIER_PROFILE_SENDS (latency sends, default 150), COURIER_PROFILE_HTTP_SENDS (store's
# HTTP sends, default 30000), COURIER_PROFILE_FREQ (perf samples/s, default 1999).
set -euo pipefail
cd "$(dirname "$0")/.."

all_parts="latency store memory"
only=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="${2:?--only takes a list, e.g. latency,memory}"; shift ;;
        -h | --help) usage ;;
        *) echo "profile.sh: unknown argument $1" >&2; usage ;;
    esac
    shift
done
parts="${only//,/ }"
parts="${parts:-$all_parts}"
for p in $parts; do
    case " $all_parts " in *" $p "*) ;; *) echo "profile.sh: no part $p (one of: $all_parts)" >&2; exit 2 ;; esac
done
wanted() { case " $parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

sends="${COURIER_PROFILE_SENDS:-150}"
http_sends="${COURIER_PROFILE_HTTP_SENDS:-30000}"
freq="${COURIER_PROFILE_FREQ:-1999}"
store_freq=$(( freq / 4 ))  # the store parts keep both cores busy: fewer samples, same shape
out=benchmarks/profiles
raw=target/profiles
tool="python3 scripts/profile_tool.py"
mkdir -p "$out" "$raw"
say() { echo "profile.sh: $*" >&2; }

command -v perf >/dev/null || { echo "profile.sh: perf is not installed" >&2; exit 1; }
if ! perf record -q -o "$raw/check.data" -- true >/dev/null 2>&1; then
    echo "profile.sh: perf cannot record (kernel.perf_event_paranoid is $(cat /proc/sys/kernel/perf_event_paranoid));" \
        "as root: sysctl -w kernel.perf_event_paranoid=-1" >&2
    exit 1
fi
rm -f "$raw/check.data"

say "building the release courier"
CARGO_INCREMENTAL=0 cargo build --release -p courier --bins --quiet
courier=$PWD/target/release/courier

machine() {
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -sr)," \
        "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)'); $(date -u +%Y-%m-%dT%H:%M:%SZ)."
}

# Every broker and recorder this script starts, ended on exit.
pids=()
dirs=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for d in "${dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# start_broker VAR [courier up flags…]: starts `courier up` in a temp state dir, waits for
# /healthz; sets VAR_pid and VAR_dir. (A wrapper such as heaptrack goes in $wrap.)
start_broker() {
    local var=$1 dir
    shift
    dir=$(mktemp -d)
    dirs+=("$dir")
    RUST_LOG=warn ${wrap:-} "$courier" up --state-dir "$dir" "$@" >"$raw/$var.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 200); do
        if [ -s "$dir/connection.json" ] && curl -sf "$(url_of "$dir")/healthz" >/dev/null 2>&1; then
            printf -v "${var}_pid" %s "$pid"
            printf -v "${var}_dir" %s "$dir"
            return
        fi
        sleep 0.1
    done
    echo "profile.sh: courier up did not start (log: $raw/$var.log)" >&2
    exit 1
}
url_of() { sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$1/connection.json"; }
token_of() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$1/connection.json"; }
# api DIR METHOD PATH [JSON]
api() {
    curl -sf -X "$2" -H "Authorization: Bearer $(token_of "$1")" -H 'Content-Type: application/json' \
        ${4:+--data "$4"} "$(url_of "$1")$3"
}
spawn_bash() {
    api "$1" POST /v1/agents "{\"name\":\"$2\",\"command\":[\"bash\",\"--norc\",\"--noprofile\",\"-i\"],\"env\":{\"PS1\":\"\$ \",\"HISTFILE\":\"/dev/null\"}}" >/dev/null
}
# The session hosts a broker started (its children running `courier session-host`).
hosts_of() { pgrep -P "$1" -f 'courier session-host' || true; }
# An idle agent: ready, not busy, nothing queued or in flight.
wait_idle() {
    for _ in $(seq 300); do
        if api "$1" GET "/v1/agents/$2" | grep -q '"ready":true' &&
            api "$1" GET "/v1/agents/$2" | grep -q '"queue_depth":0'; then
            return
        fi
        sleep 0.1
    done
    echo "profile.sh: agent $2 never became ready" >&2
    exit 1
}

# record NAME FREQ PIDS… : perf on those processes (all their threads) until stop_record.
record() {
    local name=$1 f=$2
    shift 2
    perf record -q -e cpu-clock -F "$f" -k CLOCK_MONOTONIC --call-graph dwarf,16384 \
        -p "$(IFS=,; echo "$*")" -o "$raw/$name.perf.data" >/dev/null 2>&1 &
    recorder=$!
    sleep 0.5
}
stop_record() {
    kill -INT "$recorder"
    wait "$recorder" || true
}
# script NAME: the recording as text, once (DWARF unwinding is slow; --no-inline skips addr2line).
script() {
    perf script -i "$raw/$1.perf.data" --no-inline -F comm,pid,tid,time,period,ip,sym,dso \
        >"$raw/$1.script.txt" 2>/dev/null
}
# report NAME PID [TIME]: the top of `perf report` for one process.
report() {
    perf report -i "$raw/$1.perf.data" --no-inline --stdio --no-children ${2:+--pid "$2"} ${3:+--time "$3"} \
        -g none --sort dso,sym 2>/dev/null | grep -v '^$' | grep -v '^# *$' | grep -v 'time slices' |
        sed 's/ *$//' | cut -c1-180 | head -60 || true
}

if wanted latency; then
    say "latency: $sends sends one at a time to an idle bash agent"
    start_broker lat
    spawn_bash "$lat_dir" shell
    wait_idle "$lat_dir" shell
    host=$(hosts_of "$lat_pid")
    # The same loop without perf first: its figures are the ones perf does not slow down.
    $tool latency "$lat_dir" shell "$(( (sends + 1) / 2 ))" "$raw/latency-noperf.windows.tsv" >"$raw/latency-noperf.summary.txt"
    record latency "$freq" "$lat_pid" $host
    $tool latency "$lat_dir" shell "$sends" "$raw/latency.windows.tsv" >"$raw/latency.summary.txt"
    stop_record
    kill -TERM "$lat_pid"
    wait "$lat_pid" || true
    script latency
    for phase in screen verified; do
        say "latency: folding the $phase phase"
        # Each send's window as perf's time ranges ("a,b c,d …").
        ranges=$(awk -v c=$([ $phase = screen ] && echo 4 || echo 5) 'NR > 1 {printf "%s%s,%s", sep, $2, $c; sep=" "}' "$raw/latency.windows.tsv")
        {
            echo "# send → $phase: perf on the broker and the agent's session host"
            echo
            machine
            echo "Made by \`scripts/profile.sh --only latency\`: $sends HTTP sends, one at a time, each to an idle"
            echo "\`bash --norc --noprofile -i\` agent (wait idle, 30 ms, POST /v1/messages, poll GET .../screen"
            echo "every 0.3 ms until the text shows, then GET /v1/messages/{id} until verified: the daemon"
            echo "bench's loop). \`perf record -e cpu-clock -F $freq --call-graph dwarf\` on both processes; the"
            echo "summaries count only samples inside each send's window (POST start → text on screen$([ $phase = verified ] && echo ' → verified')),"
            echo "so the idle gaps between sends are left out. The driver's polling requests are part of"
            echo "the window (look for courier_broker::api::agents / messages in the module table)."
            echo
            echo "Without perf ($(( (sends + 1) / 2 )) sends, same broker and agent, just before the recording):"
            echo
            echo '```'
            cat "$raw/latency-noperf.summary.txt"
            echo '```'
            echo
            echo "Under perf (the recorded run; DWARF call graphs copy 16 KB of stack per sample, which slows"
            echo "every thread it samples):"
            echo
            echo '```'
            cat "$raw/latency.summary.txt"
            echo '```'
            for who in broker host; do
                pid=$([ $who = broker ] && echo "$lat_pid" || echo "$host")
                [ -n "$pid" ] || continue
                echo
                echo "# $([ $who = broker ] && echo 'Broker (`courier up`)' || echo 'Session host (`courier session-host`)'), pid $pid"
                echo
                $tool fold "$raw/latency.script.txt" "$raw/latency.windows.tsv" "$phase" "$pid" | sed 's/^## /### /'
                echo
                echo "### perf report --no-children (self), the same windows (\`--pid $pid --time <each window>\`)"
                echo
                echo '```'
                report latency "$pid" "$ranges"
                echo '```'
            done
        } >"$out/send-to-$phase.txt"
    done
fi

if wanted store; then
    say "store: the store bench's 64-sender phase under perf"
    bench=$(CARGO_INCREMENTAL=0 cargo bench -p courier-store --bench store --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json, sys
for m in map(json.loads, sys.stdin):
    if m.get("target", {}).get("kind") == ["bench"] and m.get("executable"):
        print(m["executable"])' | tail -1)
    [ -x "$bench" ] || { echo "profile.sh: could not build the store bench" >&2; exit 1; }
    COURIER_BENCH_SENDERS=64 COURIER_BENCH_JSON=/dev/null perf record -q -e cpu-clock -F "$store_freq" \
        -k CLOCK_MONOTONIC --call-graph dwarf,16384 -o "$raw/store-bench.perf.data" -- "$bench" \
        >"$raw/store-bench.out.txt" 2>/dev/null
    script store-bench
    # Counts without sampling: commits (fsync) against sends, the group commit's batch.
    COURIER_BENCH_SENDERS=64 COURIER_BENCH_JSON=/dev/null perf stat -x, -o "$raw/store-bench.stat.txt" \
        -e syscalls:sys_enter_fsync,syscalls:sys_enter_pwrite64,context-switches -- "$bench" \
        >"$raw/store-bench.stat.out.txt" 2>/dev/null
    stat_rate=$(sed -n 's/^| durable sends\/s, 64 senders[^|]*| \([0-9]*\)\/s.*/\1/p' "$raw/store-bench.stat.out.txt")
    stat_of() { awk -F, -v e="$1" '$3 == e {print $1}' "$raw/store-bench.stat.txt"; }
    # Only the send phase: from the first sample for the bench's window (the read-pool phases follow).
    awk -v w="${COURIER_BENCH_WINDOW_MS:-3000}" 'match($0, /[0-9]+\.[0-9]+: /) {
        t = substr($0, RSTART, RLENGTH - 2); printf "i\tpost_s\tack_s\tscreen_s\tverified_s\n0\t%s\t\t\t%.6f\n", t, t + w / 1000; exit }' \
        "$raw/store-bench.script.txt" >"$raw/store-bench.windows.tsv"

    say "store: $http_sends HTTP sends from 64 concurrent senders into courier up"
    start_broker load --queue-cap 1000000
    spawn_bash "$load_dir" t0
    wait_idle "$load_dir" t0
    record load "$store_freq" "$load_pid"
    begin=$(date +%s.%N)
    # One URL glob: $http_sends transfers of the same send (the query string is ignored).
    curl -s -Z --parallel-max 64 -X POST -H "Authorization: Bearer $(token_of "$load_dir")" \
        -H 'Content-Type: application/json' --data '{"from":"loader","to":"t0","body":"load"}' \
        -w '%{http_code}\n' "$(url_of "$load_dir")/v1/messages?n=[1-$http_sends]" >"$raw/load.codes" || true
    end=$(date +%s.%N)
    stop_record
    kill -TERM "$load_pid"
    wait "$load_pid" || true
    script load
    ok=$(grep -c '201$' "$raw/load.codes" || true)
    rate=$(awk -v n="$ok" -v a="$begin" -v b="$end" 'BEGIN {printf "%.0f", n / (b - a)}')
    {
        echo "# The store's write path"
        echo
        machine
        echo
        echo "## 1. The store bench's 64-sender phase, in process (no HTTP)"
        echo
        echo "\`COURIER_BENCH_SENDERS=64 perf record -e cpu-clock -F $store_freq --call-graph dwarf -- <store bench>\`"
        echo "(crates/courier-store/benches/store.rs: 64 threads each sending and waiting for its ack, sync=FULL,"
        echo "then the read-pool phase). Its table:"
        echo
        grep '^|' "$raw/store-bench.out.txt" | grep -v -- '---' | grep -i 'sends/s\|latency\|reads' || true
        echo
        window_s=$(( ${COURIER_BENCH_WINDOW_MS:-3000} / 1000 ))
        echo "A second run under \`perf stat\` (no sampling; whole process, the send phase dominates the"
        echo "writes): $stat_rate sends/s, $(stat_of syscalls:sys_enter_fsync) fsync, $(stat_of syscalls:sys_enter_pwrite64) pwrite64,"
        echo "$(stat_of context-switches) context switches: about $(awk -v r="$stat_rate" -v w="$window_s" -v f="$(stat_of syscalls:sys_enter_fsync)" 'BEGIN {printf "%.0f", r * w / f}') sends per fsync (the group commit's batch) and"
        echo "$(awk -v r="$stat_rate" -v w="$window_s" -v p="$(stat_of syscalls:sys_enter_pwrite64)" 'BEGIN {printf "%.1f", p / (r * w)}') WAL writes per send."
        echo
        echo "The summaries below count only the send phase: the first ${COURIER_BENCH_WINDOW_MS:-3000} ms of samples."
        echo
        $tool fold "$raw/store-bench.script.txt" "$raw/store-bench.windows.tsv" verified | sed 's/^## /### /'
        echo
        echo "### perf report --no-children (self)"
        echo
        echo '```'
        report store-bench
        echo '```'
        echo
        echo "## 2. HTTP: 64 concurrent senders into \`courier up\` (one idle bash agent, --queue-cap 1000000)"
        echo
        echo "\`curl -Z --parallel-max 64\` sending $http_sends POST /v1/messages (the same body, keep-alive), perf on the broker"
        echo "only. $ok answered 201 at $rate/s (curl shares the 2 cores with the broker; the daemon bench's"
        echo "reqwest senders are the reference figure). Deliveries to the agent run at the same time (one"
        echo "at a time, paced), so the terminal side shows too, a little."
        echo
        $tool fold "$raw/load.script.txt" "" "" "$load_pid" | sed 's/^## /### /'
        echo
        echo "### perf report --no-children (self)"
        echo
        echo '```'
        report load "$load_pid"
        echo '```'
    } >"$out/store-write.txt"
fi

if wanted memory; then
    say "memory: an idle broker, then one session host"
    start_broker mem
    sleep 3
    mem_rollup=$(cat "/proc/$mem_pid/smaps_rollup")
    mem_table=$($tool mem "$mem_pid")
    spawn_bash "$mem_dir" shell
    wait_idle "$mem_dir" shell
    sleep 2
    host=$(hosts_of "$mem_pid")
    host_rollup=$(cat "/proc/$host/smaps_rollup")
    host_table=$($tool mem "$host")
    after_rollup=$(grep -E '^(Rss|Pss|Anonymous):' "/proc/$mem_pid/smaps_rollup")
    kill -TERM "$mem_pid"
    wait "$mem_pid" || true

    say "memory: heaptrack of an idle broker's first 5 s"
    rm -f "$raw"/heaptrack.broker.*
    wrap="heaptrack -o $PWD/$raw/heaptrack.broker" start_broker heap
    sleep 5
    kill -TERM "$(pgrep -P "$heap_pid" -f 'courier up' || echo "$heap_pid")" 2>/dev/null || true
    wait "$heap_pid" || true
    heap_file=$(ls "$raw"/heaptrack.broker.* | head -1)
    heaptrack_print -f "$heap_file" --print-peaks 1 --print-allocators 1 --print-leaks 0 \
        --print-temporary 0 -n 12 -s 6 >"$raw/heaptrack.broker.txt" 2>/dev/null || true
    for cost in peak allocations; do
        heaptrack_print -f "$heap_file" --print-peaks 0 --print-allocators 0 --print-temporary 0 \
            --flamegraph-cost-type "$cost" -F "$raw/heaptrack.broker.$cost.stacks" >/dev/null 2>&1 || true
    done

    say "memory: heaptrack of a broker with one agent"
    rm -f "$raw"/heaptrack.agent.*
    wrap="heaptrack -o $PWD/$raw/heaptrack.agent" start_broker heapagent
    spawn_bash "$heapagent_dir" shell
    wait_idle "$heapagent_dir" shell
    sleep 2
    kill -TERM "$(pgrep -P "$heapagent_pid" -f 'courier up' || echo "$heapagent_pid")" 2>/dev/null || true
    wait "$heapagent_pid" || true
    heap_agent=$(ls "$raw"/heaptrack.agent.* | head -1)
    heaptrack_print -f "$heap_agent" --print-peaks 0 --print-allocators 0 --print-temporary 0 \
        --flamegraph-cost-type peak -F "$raw/heaptrack.agent.peak.stacks" >"$raw/heaptrack.agent.txt" 2>/dev/null || true
    {
        echo "# Memory of an idle broker and of one session host"
        echo
        machine
        echo "Made by \`scripts/profile.sh --only memory\`: \`courier up\` (release build) with no agent,"
        echo "read 3 s after /healthz answered; then one \`bash --norc --noprofile -i\` agent spawned and its"
        echo "\`courier session-host\` read 2 s after it was idle. kB throughout. Categories: the mapping's"
        echo "file (the courier binary split by permissions: r-x code, r-- read-only data, rw- data/bss)"
        echo "or kind; a thread's stack is the mapping that holds its stack pointer"
        echo "(/proc/PID/task/TID/syscall)."
        echo
        echo "## Idle broker, pid $mem_pid"
        echo
        echo '```'
        echo "$mem_rollup"
        echo '```'
        echo
        echo "$mem_table"
        echo
        echo "## One session host, pid $host (its agent: bash)"
        echo
        echo '```'
        echo "$host_rollup"
        echo '```'
        echo
        echo "$host_table"
        echo
        echo "The broker with that one agent (smaps_rollup): $(echo $after_rollup)."
        echo
        echo "## heaptrack: the idle broker's first 5 s"
        echo
        echo "\`heaptrack courier up\`, SIGTERM after 5 s. Its totals (\`heaptrack_print\`; the full output with"
        echo "backtraces is target/profiles/heaptrack.broker.txt):"
        echo
        echo '```'
        sed -n '/^total runtime/,$p' "$raw/heaptrack.broker.txt" | grep -v '^$' | head -12
        echo '```'
        echo
        echo "The heap at its peak (what was live at the highest heap use) and every allocation call, summed"
        echo "from \`heaptrack_print -F --flamegraph-cost-type peak|allocations\` by scripts/profile_tool.py heap:"
        for cost in peak allocations; do
            echo
            $tool heap "$raw/heaptrack.broker.$cost.stacks" "$cost"
        done
        echo
        echo "## heaptrack: a broker with one agent"
        echo
        echo "\`heaptrack courier up\`, one bash agent spawned, SIGTERM 2 s after it was idle: what the agent"
        echo "adds to the broker's heap (its session host inherits heaptrack's preload; the figures are the"
        echo "broker's). Totals:"
        echo
        echo '```'
        sed -n '/^total runtime/,$p' "$raw/heaptrack.agent.txt" | grep -v '^$' | head -8
        echo '```'
        echo
        $tool heap "$raw/heaptrack.agent.peak.stacks" peak
    } >"$out/memory-idle.md"
fi

say "wrote $(for p in $parts; do case $p in latency) echo -n "$out/send-to-screen.txt $out/send-to-verified.txt " ;; store) echo -n "$out/store-write.txt " ;; memory) echo -n "$out/memory-idle.md " ;; esac; done)(raw data in $raw)"
