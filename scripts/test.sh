#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine: installs what is missing
# (scripts/setup.sh), then lints and tests the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The GPU tests run on Mesa's software Vulkan driver; on a headless machine without a login
# session its window-system probe complains that XDG_RUNTIME_DIR is unset: give it an empty
# private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# `twin serve` against its own OpenAPI document (the debug `twin` the tests just built).
bash scripts/schemathesis.sh
# The ensemble as one MPI job (twin-cli's `mpi` feature, off by default so that nothing else
# needs OpenMPI): linted, then `mpirun -np 2` against the local run on the same file. Both for
# the whole workspace, so that every dependency keeps the features the workspace build gave
# it and only twin-cli and the MPI bindings are compiled again.
cargo clippy --workspace --all-targets --features twin-cli/mpi --locked -- -D warnings
cargo test --workspace --features twin-cli/mpi --locked --test ensemble mpi_
