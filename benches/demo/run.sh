#!/usr/bin/env bash
# The flagship demo's headline figures, as the README quotes them: the demo district
# (`twin demo-city`), the 100 mm / 2 h design storm from 06:00 with the sewers coupled, and the
# morning peak with and without the flood (`twin scenario run`, the command scripts/demo.sh
# runs). Writes benches/results/demo.md from the run's summary.json, ledger.json and
# traffic.json. Environment: WORK (default: a fresh temporary folder, removed afterwards).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release --locked -j 2 -p twin-cli
twin="${CARGO_TARGET_DIR:-$root/target}/release/twin"
if [ -z "${WORK:-}" ]; then
  WORK="$(mktemp -d -t twin-demo-XXXXXX)"
  trap 'rm -rf "$WORK"' EXIT
fi
"$twin" demo-city --out "$WORK/demo.gpkg" > /dev/null
"$twin" scenario run --city "$WORK/demo.gpkg" --rain scenarios/design-storm-100mm-2h.csv \
  --minutes 150 --couple --out "$WORK/demo-scenario" > "$WORK/scenario.log"
python3 benches/demo/figures.py "$WORK/demo-scenario" > benches/results/demo.md
echo "wrote benches/results/demo.md"
