#!/usr/bin/env bash
# Throughput of the live sensor path (crates/sensors/examples/live_bench.rs): readings/s through
# QC alone, through parsing and QC, and end to end over MQTT on loopback (a private mosquitto on
# a free port, QoS 1, parsed, checked, stored in SQLite with WAL and synchronous FULL, then
# acknowledged); then the demo scenario's sensors replayed clean and with faults and checked
# (`twin sensors replay` into a folder, `twin sensors check`). Writes OUT (benches/results/live.md).
#
#   bash benches/live/run.sh                 # 500,000 readings through QC, 100,000 over MQTT
#   N=100000 N_MQTT=20000 bash benches/live/run.sh
# WORK (/tmp/twin-live) keeps the demo run between calls (its gauges.csv is the replay's source).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
N="${N:-500000}" N_MQTT="${N_MQTT:-100000}" OUT="${OUT:-$root/benches/results/live.md}"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || bash "$root/scripts/setup.sh"
cd "$root"
cargo build --release -q -p twin-sensors --example live_bench
load="$(cut -d' ' -f1-3 /proc/loadavg)"
rows="$(timeout 600 target/release/examples/live_bench "$N" "$N_MQTT")"
cargo build --release -q -p twin-cli
twin=target/release/twin
WORK="${WORK:-/tmp/twin-live}"
mkdir -p "$WORK"
if [ ! -f "$WORK/run/gauges.csv" ]; then
  $twin demo-city --out "$WORK/demo.gpkg" >/dev/null
  $twin scenario run --city "$WORK/demo.gpkg" --rain scenarios/design-storm-100mm-2h.csv \
    --minutes 150 --couple --out "$WORK/run" >/dev/null
fi
replay() { # NAME FAULTS...
  local name=$1; shift
  rm -rf "$WORK/$name"
  $twin sensors replay --scenario "$WORK/run" --city "$WORK/demo.gpkg" --to "$WORK/$name" --speed 0 \
    --rain scenarios/design-storm-100mm-2h.csv "$@" | grep -v '^note'
}
check() { # NAME [OPTIONS]
  local name=$1; shift
  $twin sensors check --city "$WORK/demo.gpkg" "$WORK/$name" --csv "$WORK/$name.csv" "$@" |
    grep -v -E '^(AQ|CAM|TC|PUMP|GATE)-|^wrote'
}
faults=(--noise 0.005 --dropout 0.02 --spike 0.01 --freeze WL-11 --drop WL-12 --falsify WL-2:+0.5 --seed 7)
clean_replay="$(replay clean)"
clean_check="$(check clean)"
faulty_replay="$(replay faulty "${faults[@]}")"
faulty_check="$(check faulty)"
faulty_check_r="$(check faulty --neighbour-radius 1600)"
tmp="$OUT.partial"
{
  echo "# Live sensors: throughput"
  echo
  echo "Made by \`bash benches/live/run.sh\` (N=$N, N_MQTT=$N_MQTT) on $(date -u +%Y-%m-%d), $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(rustc --version | cut -d' ' -f1-2), mosquitto $(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || echo '?')."
  echo "500 sensors: 400 street flood sensors 250 m apart (the neighbour check runs on every reading, over"
  echo "up to 12 neighbours within 500 m) and 100 rain gauges, every sensor once a minute, a clean stream"
  echo "(every reading accepted). Load average before the run: $load (the machine is shared: figures"
  echo "are lower bounds)."
  echo
  echo "| path | readings | seconds | readings/s |"
  echo "| --- | ---: | ---: | ---: |"
  echo "$rows"
  echo
  echo "## The demo scenario's sensors replayed and checked"
  echo
  echo "The demo district's 100 mm / 2 h storm with the sewers coupled (\`twin scenario run ... --couple\`,"
  echo "as scripts/demo.sh), its gauges.csv replayed (\`twin sensors replay --speed 0 --rain ...\`) into a"
  echo "folder and checked (\`twin sensors check\`). Clean:"
  echo
  echo '```text'
  echo "$clean_replay"
  echo "$clean_check"
  echo '```'
  echo
  echo "With faults (${faults[*]}):"
  echo
  echo '```text'
  echo "$faulty_replay"
  echo "$faulty_check"
  echo '```'
  echo
  echo "The same with --neighbour-radius 1600 (the three lakes become each other's neighbours, so the"
  echo "falsified lake level is caught; so are the street sensors, each in its own basin 1-1.5 km from"
  echo "the next, whose depths differ by more than 0.3 m while they fill):"
  echo
  echo '```text'
  echo "$faulty_check_r"
  echo '```'
} >"$tmp"
mv "$tmp" "$OUT"
cat "$OUT"
