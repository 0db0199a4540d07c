#!/usr/bin/env bash
# Throughput of the live sensor path (crates/sensors/examples/live_bench.rs): readings/s through
# QC alone, through parsing and QC, and end to end over MQTT on loopback (a private mosquitto on
# a free port, QoS 1, parsed, checked, stored in SQLite with WAL and synchronous FULL, then
# acknowledged). Writes OUT (benches/results/live.md).
#
#   bash benches/live/run.sh                 # 500,000 readings through QC, 100,000 over MQTT
#   N=100000 N_MQTT=20000 bash benches/live/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
N="${N:-500000}" N_MQTT="${N_MQTT:-100000}" OUT="${OUT:-$root/benches/results/live.md}"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || bash "$root/scripts/setup.sh"
cd "$root"
cargo build --release -q -p twin-sensors --example live_bench
rows="$(timeout 600 target/release/examples/live_bench "$N" "$N_MQTT")"
tmp="$OUT.partial"
{
  echo "# Live sensors: throughput"
  echo
  echo "Made by \`bash benches/live/run.sh\` (N=$N, N_MQTT=$N_MQTT) on $(date -u +%Y-%m-%d), $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(rustc --version | cut -d' ' -f1-2), mosquitto $(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || echo '?')."
  echo "500 sensors: 400 street flood sensors 250 m apart (the neighbour check runs on every reading, over"
  echo "up to 12 neighbours within 500 m) and 100 rain gauges, every sensor once a minute, a clean stream"
  echo "(every reading accepted). The machine is shared: figures are lower bounds."
  echo
  echo "| path | readings | seconds | readings/s |"
  echo "| --- | ---: | ---: | ---: |"
  echo "$rows"
} >"$tmp"
mv "$tmp" "$OUT"
cat "$OUT"
