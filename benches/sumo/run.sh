#!/usr/bin/env bash
# Traffic harness: SUMO 1.28 micro and meso against twin-traffic on the same networks and routes.
# Installs eclipse-sumo and sumolib into a throw-away venv, builds traffic_run (release), runs
# benches/sumo/compare.py, which writes benches/results/sumo.md.
#
# Environment: SUMO_VENV (default /tmp/twin-sumo-venv), WORK (default /tmp/twin-sumo-work),
# CARGO_TARGET_DIR (default <repo>/target), CASES (default "grid10 grid30 spider").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SUMO_VENV:-/tmp/twin-sumo-venv}"
work="${WORK:-/tmp/twin-sumo-work}"
target="${CARGO_TARGET_DIR:-$root/target}"

if [ ! -x "$venv/bin/sumo" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet eclipse-sumo==1.28.0 sumolib==1.28.0
fi
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -j 2 -p twin-traffic --bin traffic_run)
mkdir -p "$work"
"$venv/bin/python" "$here/compare.py" \
  --venv "$venv" --work "$work" \
  --traffic-run "$target/release/traffic_run" \
  --out "$root/benches/results/sumo.md" \
  --cases ${CASES:-grid10 grid30 spider}
