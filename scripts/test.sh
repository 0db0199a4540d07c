#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine: installs what is missing
# (scripts/setup.sh), then lints and tests the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
