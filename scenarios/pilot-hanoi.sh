#!/usr/bin/env bash
# Hanoi's five-ward pilot from real data: builds central Hanoi as a runnable city with
# `twin city build` — the Hoàn Kiếm OpenStreetMap extract, the 25 m central-Hanoi DEM (its CRS
# from the .prj beside it), the 2025 ward populations and the drainage operator's rain gauges,
# and the 2018 Hanoi Bus network's lines and stops (GTFS; its whole-city file, since the
# subset with stop_times lies west of the extract and barely overlaps it), all read from
# ../shared/data/hanoi — then runs the coupled scenario under the 100 mm / 2 h
# design storm (scenarios/pilot-hanoi.toml) and under the 2025-09-30 storm at the gauges
# (scenarios/pilot-hanoi-2025-09-30.toml). Writes out/pilot/.
#
# Thí điểm năm phường trung tâm Hà Nội từ dữ liệu thật: dựng thành phố, chạy kịch bản mưa
# thiết kế và mưa lịch sử 30/9/2025.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data/hanoi
if [ ! -d "$DATA" ]; then
  echo "pilot: $DATA is absent; the pilot is built from the shared Hanoi data" >&2
  exit 2
fi
CELL=${CELL:-10}
mkdir -p out/pilot
cargo build --release --locked -p twin-cli
./target/release/twin city build \
  --osm "$DATA/hoankiem_2019-06.osm" \
  --dem "$DATA/dem/hanoi_center_dem_25m.asc" \
  --wards "$DATA/hanoi_wards_2025.csv" \
  --gauges "$DATA/hanoi_rain_gauges.csv" \
  --gtfs "$DATA/gtfs_hanoi_bus_2018_network_no_stop_times" \
  --cell-m "$CELL" \
  --name "Hà Nội – năm phường trung tâm / Central Hanoi pilot" \
  --out out/pilot/hanoi.gpkg
./target/release/twin info out/pilot/hanoi.gpkg --json > out/pilot/hanoi-info.json
./target/release/twin scenario run scenarios/pilot-hanoi.toml --out out/pilot/design-storm
if [ "${PILOT_HISTORICAL:-1}" = 1 ]; then
  ./target/release/twin scenario run scenarios/pilot-hanoi-2025-09-30.toml --out out/pilot/2025-09-30
fi
echo "wrote out/pilot/hanoi.gpkg, out/pilot/hanoi-info.json, out/pilot/design-storm/ and out/pilot/2025-09-30/ (report.html each)"
