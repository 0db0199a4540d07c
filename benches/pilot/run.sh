#!/usr/bin/env bash
# The five-ward pilot's figures (benches/results/pilot.md and its maps in
# benches/results/pilot/): builds central Hanoi from ../shared/data/hanoi and runs both pilot
# scenarios through scenarios/pilot-hanoi.sh, timing each step, then reads the results
# (benches/pilot/analyse.py: the build's counts, each run's figures, the depth at the flood
# hotspots Hanoi's drainage operator and press report, where the street sensors went).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=../shared/data/hanoi
[ -d "$DATA" ] || { echo "pilot bench: $DATA is absent" >&2; exit 2; }
bash scripts/setup.sh
cargo build --release --locked -p twin-cli
T=$(mktemp)
trap 'rm -f "$T"' EXIT
echo -e "machine\t$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) at the start" >> "$T"
mkdir -p out/pilot
t0=$(date +%s)
./target/release/twin city build \
  --osm "$DATA/hoankiem_2019-06.osm" --dem "$DATA/dem/hanoi_center_dem_25m.asc" \
  --wards "$DATA/hanoi_wards_2025.csv" --gauges "$DATA/hanoi_rain_gauges.csv" \
  --gtfs "$DATA/gtfs_hanoi_bus_2018_network_no_stop_times" \
  --name "Hà Nội – năm phường trung tâm / Central Hanoi pilot" --out out/pilot/hanoi.gpkg
t1=$(date +%s)
echo -e "build\t$((t1 - t0))" >> "$T"
./target/release/twin info out/pilot/hanoi.gpkg --json > out/pilot/hanoi-info.json
for run in design-storm 2025-09-30; do
  toml=scenarios/pilot-hanoi.toml
  [ "$run" = 2025-09-30 ] && toml=scenarios/pilot-hanoi-2025-09-30.toml
  t0=$(date +%s)
  ./target/release/twin scenario run "$toml" --out "out/pilot/$run"
  t1=$(date +%s)
  echo -e "$run\t$((t1 - t0))" >> "$T"
done
mkdir -p benches/results/pilot
for run in design-storm 2025-09-30; do
  cp "out/pilot/$run/max_depth.png" "benches/results/pilot/$run-max_depth.png"
done
: > benches/results/pilot.md
python3 benches/pilot/analyse.py out/pilot "$T" benches/results/pilot.md
echo "wrote benches/results/pilot.md"
