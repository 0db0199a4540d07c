#!/usr/bin/env bash
# The main job on the built-in city: generate the synthetic demo district, then run the
# flagship scenario on it — the 100 mm / 2 h design storm with the drainage network coupled
# to the surface, flooded roads closed or slowed, and the morning peak with and without the
# flood; then the what-if file scenarios/what-if-demo.toml and its comparison with the demo
# scenario. Everything is written under out/. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
cargo build --release --locked -p twin-cli
./target/release/twin demo-city --out out/demo.gpkg
./target/release/twin info out/demo.gpkg --json > out/demo-info.json
./target/release/twin scenario run --city out/demo.gpkg --rain scenarios/design-storm-100mm-2h.csv \
  --minutes 150 --couple --out out/demo-scenario
# A planner's what-if on the same district (scenarios/what-if-demo.toml: a 120 mm design
# storm, pumps out, a substation out, a road closed, a tank, a lake, signals retimed,
# diversions activated), and what it changes against the demo scenario.
./target/release/twin scenario run scenarios/what-if-demo.toml --out out/what-if
./target/release/twin scenario compare out/demo-scenario out/what-if --out out/what-if-vs-demo
echo "wrote out/demo.gpkg, out/demo-info.json, out/demo-scenario/ (report.html, max_depth.png/.tif, roads.png, reach_*.png, gauges.csv, ledger.json, roads.csv, traffic.json, playback/ for the app), out/what-if/ and out/what-if-vs-demo/ (compare.html)"
