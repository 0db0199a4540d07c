#!/usr/bin/env bash
# The main job on the built-in city: generate the synthetic demo district into
# out/demo.gpkg and summarise it. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
cargo build --release --locked -p twin-cli
./target/release/twin demo-city --out out/demo.gpkg
./target/release/twin info out/demo.gpkg --json > out/demo-info.json
echo "wrote out/demo.gpkg and out/demo-info.json"
