#!/usr/bin/env bash
# The main job on the built-in city: generate the synthetic demo district, then run the
# flagship scenario on it — the 100 mm / 2 h design storm with the drainage network coupled
# to the surface, flooded roads closed or slowed, and the morning peak with and without the
# flood. Everything is written under out/. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
cargo build --release --locked -p twin-cli
./target/release/twin demo-city --out out/demo.gpkg
./target/release/twin info out/demo.gpkg --json > out/demo-info.json
./target/release/twin scenario run --city out/demo.gpkg --rain scenarios/design-storm-100mm-2h.csv \
  --minutes 150 --couple --out out/demo-scenario
echo "wrote out/demo.gpkg, out/demo-info.json and out/demo-scenario/ (report.html, max_depth.png/.tif, gauges.csv, ledger.json, roads.csv, traffic.json)"
