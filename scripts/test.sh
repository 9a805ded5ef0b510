#!/usr/bin/env bash
# The whole test suite. Installs nothing system-wide today: everything it
# needs is the Rust toolchain, python3 and bash.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins --quiet
cargo test --workspace --no-fail-fast "$@"
