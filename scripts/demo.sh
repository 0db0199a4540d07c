#!/usr/bin/env bash
# The main job on the built-in city: generate the synthetic demo district, then rain the
# 100 mm / 2 h design storm on it (surface flooding), writing everything under out/.
# Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
cargo build --release --locked -p twin-cli
./target/release/twin demo-city --out out/demo.gpkg
./target/release/twin info out/demo.gpkg --json > out/demo-info.json
./target/release/twin flood run --dem out/demo.gpkg --rain scenarios/design-storm-100mm-2h.csv \
  --minutes 150 --out out/demo-flood
echo "wrote out/demo.gpkg, out/demo-info.json and out/demo-flood/ (max_depth.tif, ledger.json …)"
