#!/usr/bin/env bash
# Traffic harness: SUMO 1.28 micro and meso against twin-traffic on the same networks and routes.
# Installs eclipse-sumo and sumolib into a throw-away venv, builds traffic_run (release), runs
# benches/sumo/compare.py, which writes benches/results/sumo.md.
#
# Environment: SUMO_VENV (default /tmp/twin-sumo-venv), WORK (default /tmp/twin-sumo-work),
# CARGO_TARGET_DIR (default <repo>/target), CASES (default "grid10 grid30 spider").
set -euo pipefail
work="/tmp/twin-sumo-work"
# shellcheck source=benches/sumo/prepare.sh
source "$(dirname "$0")/prepare.sh"
"$venv/bin/python" "$here/compare.py" \
  --venv "$venv" --work "$work" \
  --traffic-run "$target/release/traffic_run" \
  --out "$root/benches/results/sumo.md" \
  --cases ${CASES:-grid10 grid30 spider}
