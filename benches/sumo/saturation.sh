#!/usr/bin/env bash
# Saturation harness: SUMO 1.28 micro and meso (with junction control) against twin-traffic from
# light demand to beyond capacity, with link closures in mid-run (benches/sumo/saturation.py).
# Writes the saturation section of benches/results/sumo.md and the raw figures in
# benches/results/sumo-saturation.json (cases already there are kept unless run again).
#
#   bash benches/sumo/saturation.sh     # grid30, grid30-closed, spider, hoankiem, hoankiem-closed, hoankiem-moto
#   CASES=grid60 LEVELS="light medium" KEEP=1 bash benches/sumo/saturation.sh   # the 60x60 grid
#                                                  # (its heavier levels take SUMO micro hours)
#
# Environment: SUMO_VENV (default /tmp/twin-sumo-venv), WORK (default /tmp/twin-sumo-sat),
# CARGO_TARGET_DIR (default <repo>/target), CASES, OSM (default the Hoan Kiem extract in
# ../shared/data/hanoi), KEEP=1 to skip the levels already in the JSON file, LEVELS to run only
# the levels named (e.g. LEVELS="light medium").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SUMO_VENV:-/tmp/twin-sumo-venv}"
work="${WORK:-/tmp/twin-sumo-sat}"
target="${CARGO_TARGET_DIR:-$root/target}"
osm="${OSM:-$root/../shared/data/hanoi/hoankiem_2019-06.osm}"

if [ ! -x "$venv/bin/sumo" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet eclipse-sumo==1.28.0 sumolib==1.28.0
fi
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -j 2 -p twin-traffic --bin traffic_run)
mkdir -p "$work"
"$venv/bin/python" "$here/saturation.py" \
  --venv "$venv" --work "$work" --osm "$osm" \
  --traffic-run "$target/release/traffic_run" \
  --out "$root/benches/results/sumo.md" --json "$root/benches/results/sumo-saturation.json" \
  --cases ${CASES:-grid30 grid30-closed spider hoankiem hoankiem-closed hoankiem-moto} ${KEEP:+--keep} ${LEVELS:+--levels $LEVELS}
