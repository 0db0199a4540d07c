#!/usr/bin/env bash
# Saturation harness: SUMO 1.28 micro and meso (with junction control) against twin-traffic from
# light demand to beyond capacity, with link closures in mid-run (benches/sumo/saturation.py).
# Writes the saturation section of benches/results/sumo.md and the raw figures in
# benches/results/sumo-saturation.json (cases already there are kept unless run again).
#
#   bash benches/sumo/saturation.sh     # grid30, grid30-closed, spider, hoankiem, hoankiem-closed, hoankiem-moto
#   CASES=grid60 LEVELS="light medium" KEEP=1 bash benches/sumo/saturation.sh   # the 60x60 grid
#                                                  # (its heavier levels take SUMO micro hours)
#   TWIN_ONLY=1 CASES="grid30 grid60 spider" bash benches/sumo/saturation.sh   # rerun twin-traffic
#                      # and SUMO meso+jc (its speed peer), keeping SUMO micro's figures
#
# Environment: SUMO_VENV (default /tmp/twin-sumo-venv), WORK (default /tmp/twin-sumo-sat),
# CARGO_TARGET_DIR (default <repo>/target), CASES, OSM (default the Hoan Kiem extract in
# ../shared/data/hanoi), KEEP=1 to skip the levels already in the JSON file, LEVELS to run only
# the levels named (e.g. LEVELS="light medium"), TWIN_ONLY=1 to rerun twin-traffic and
# SUMO meso+jc only (micro, the reference, does not depend on the engine).
set -euo pipefail
work="/tmp/twin-sumo-sat"
# shellcheck source=benches/sumo/prepare.sh
source "$(dirname "$0")/prepare.sh"
osm="${OSM:-$root/../shared/data/hanoi/hoankiem_2019-06.osm}"
"$venv/bin/python" "$here/saturation.py" \
  --venv "$venv" --work "$work" --osm "$osm" \
  --traffic-run "$target/release/traffic_run" \
  --out "$root/benches/results/sumo.md" --json "$root/benches/results/sumo-saturation.json" \
  --cases ${CASES:-grid30 grid30-closed spider hoankiem hoankiem-closed hoankiem-moto} ${KEEP:+--keep} ${TWIN_ONLY:+--twin-only} ${LEVELS:+--levels $LEVELS}
