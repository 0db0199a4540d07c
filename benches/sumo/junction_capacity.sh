#!/usr/bin/env bash
# Junction capacity against SUMO 1.28 micro: a saturated stream that gives way at one priority
# junction (minor through, left, right; major left across the opposing stream) against the
# flow it yields to (benches/sumo/junction_capacity.py). Writes
# benches/results/junction-capacity.md and benches/results/junction-capacity.json.
#
# Environment: SUMO_VENV (default /tmp/twin-sumo-venv), WORK (default /tmp/twin-sumo-sat),
# CARGO_TARGET_DIR (default <repo>/target).
set -euo pipefail
work="/tmp/twin-sumo-sat"
# shellcheck source=benches/sumo/prepare.sh
source "$(dirname "$0")/prepare.sh"
"$venv/bin/python" "$here/junction_capacity.py" \
  --venv "$venv" --work "$work" --traffic-run "$target/release/traffic_run" \
  --out "$root/benches/results/junction-capacity.md" \
  --json "$root/benches/results/junction-capacity.json"
