#!/usr/bin/env bash
# What the 3D app costs to draw (benches/results/app.md): the demo district (`twin
# demo-city`) with every building, the demo scenario's flood (`twin scenario run`, as
# scripts/demo.sh) and 100,000 vehicles (the run's busiest vehicle frames, repeated:
# benches/app/vehicles.py), measured by `twin-app … --bench` with no window on whatever renders
# here (lavapipe, Mesa's CPU Vulkan, on a machine without a GPU): frame times while the camera
# turns and while playback moves every vehicle each frame, draw calls, triangles, mesh memory
# and the process's peak memory. Release build. Environment: WORK (default: a fresh temporary
# folder, removed afterwards), FRAMES (frames per phase, default 20: a frame takes seconds on
# lavapipe), WALL_FRAMES (the same for the wall at 3840 × 1080, default 5).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release --locked -j 2 -p twin-cli -p twin-app
bin="${CARGO_TARGET_DIR:-$root/target}/release"
if [ -z "${WORK:-}" ]; then
  WORK="$(mktemp -d -t twin-app-bench-XXXXXX)"
  trap 'rm -rf "$WORK"' EXIT
fi
frames="${FRAMES:-20}"
export XDG_RUNTIME_DIR="$WORK"
"$bin/twin" demo-city --out "$WORK/demo.gpkg" > /dev/null
"$bin/twin" scenario run --city "$WORK/demo.gpkg" --rain scenarios/design-storm-100mm-2h.csv \
  --minutes 150 --couple --out "$WORK/demo-scenario" > "$WORK/scenario.log"
at="$(python3 benches/app/vehicles.py "$WORK/demo-scenario" "$WORK/run-100k" 100000 40 | tail -n 1)"
bench() { # name, frames, then twin-app's arguments
  local name="$1" n="$2"; shift 2
  echo "bench $name" >&2
  "$bin/twin-app" "$@" --city "$WORK/demo.gpkg" --bench "$WORK/$name.json" \
    --bench-frames "$n" 2> "$WORK/$name.log" || { cat "$WORK/$name.log" >&2; exit 1; }
}
bench city "$frames" app
bench run-100k "$frames" app --run "$WORK/run-100k" --at "$at"
bench run-100k-msaa1 "$frames" app --run "$WORK/run-100k" --at "$at" --msaa 1
bench wall-100k "${WALL_FRAMES:-5}" wall --run "$WORK/run-100k" --at "$at" --size 3840x1080
python3 benches/app/figures.py "$WORK" > benches/results/app.md
echo "wrote benches/results/app.md"
