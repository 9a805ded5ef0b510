#!/usr/bin/env bash
# The whole test suite. Installs nothing system-wide: it needs the Rust
# toolchain, python3 (with its venv module) and bash. The MCP end-to-end test
# (crates/courier/tests/mcp.rs) uses the Python `mcp` package from PyPI as a
# real MCP client, and crates/courier/tests/schemathesis.rs runs Schemathesis
# against the broker's OpenAPI document; both are installed once into
# target/pyenv.
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
export COURIER_TEST_PYTHON="$PWD/$pyenv/bin/python"

cargo build --workspace --bins --quiet
cargo test --workspace --no-fail-fast "$@"
