#!/usr/bin/env bash
# Compare twin-hydro with EPA SWMM 5.2.4 on the models shipped in the swmmio and
# pyswmm wheels, on the hand-written feature models in benches/swmm/models/ (with
# the rain, time series and climate files they name) and on generated networks;
# writes benches/results/swmm.md; fails if a SWMM figure the tests pin (pinned.csv) has drifted.
# Usage: benches/swmm/run.sh [sizes]   (sizes default "100,1000,10000"; PAIRS=n paired
# timing runs on the largest, default 5)
# Needs: python3 with venv, unzip, cargo. Installs SWMM into a throw-away venv.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SIZES="${1:-100,1000,10000}"
WORK="$(mktemp -d -t swmm-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "swmm-toolkit==0.17.0"
# The reference models come from these wheels (only their files; the two cannot be installed
# together at these versions); scripts/setup.sh pins the same versions.
"$WORK/venv/bin/pip" download -q --no-deps "swmmio==0.8.6" "pyswmm==2.2.0" -d "$WORK/wheels"
mkdir -p "$WORK/models"
for w in "$WORK"/wheels/*.whl; do unzip -qo "$w" '*.inp' -d "$WORK/models" || true; done
# The harness drives `twin hydro run`, the command users run.
(cd "$ROOT" && cargo build --release -j 2 -p twin-cli)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$ROOT/benches/results"
"$WORK/venv/bin/python" "$ROOT/benches/swmm/run_all.py" \
  --twin "$TARGET/release/twin" --models "$WORK/models" --work "$WORK" \
  --out "$ROOT/benches/results/swmm.md" --sizes "$SIZES"
# Paired timing on the largest generated network.
BIG="${SIZES##*,}"
"$WORK/venv/bin/python" "$ROOT/benches/swmm/gen_network.py" "$BIG" "$WORK/paired_$BIG.inp"
"$WORK/venv/bin/python" "$ROOT/benches/swmm/paired.py" --twin "$TARGET/release/twin" \
  --model "$WORK/paired_$BIG.inp" --pairs "${PAIRS:-5}" --work "$WORK/paired" \
  --out "$ROOT/benches/results/swmm.md" --label "generated $BIG junctions"
