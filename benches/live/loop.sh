#!/usr/bin/env bash
# The live loop (`twin live`) on the demo district: a truth storm (the 100 mm / 2 h design storm
# × 1.4, drainage coupled) replayed with 1 cm of noise into a watched folder, the twin given the
# design storm as its rain forecast. Records, per simulation cell (10 m: the demo's own; 20 and
# 30 m: its DEM resampled by `--cell`), the wall time from a period's readings to the updated
# state (5 simulated minutes run, then corrected) and from the state to a new 2-hour forecast;
# then, at 30 m, the whole storm: alerts and their lead times, and the last forecast's peak depths
# at the four street flood sensors against the truth's; and the same with faulty sensors.
# Writes OUT (benches/results/live-loop.md).
#
#   bash benches/live/loop.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${OUT:-$root/benches/results/live-loop.md}"
cd "$root"
cargo build --release -q -p twin-cli
twin="$root/target/release/twin"
WORK="${WORK:-/tmp/twin-live-loop}"
rm -rf "$WORK" && mkdir -p "$WORK"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
awk -F, '/^#/{next} /^minute/{print;next} {printf "%s,%.4f\n",$1,$2*1.4}' \
  scenarios/design-storm-100mm-2h.csv >"$WORK/truth.csv"
$twin demo-city --out "$WORK/c10.gpkg" >/dev/null
$twin demo-city --cell-m 30 --out "$WORK/c30.gpkg" >/dev/null
$twin flood run --dem "$WORK/c30.gpkg" --rain "$WORK/truth.csv" --minutes 120 --couple \
  --out "$WORK/truth" >/dev/null
replay() { # DIR FAULTS...
  local to=$1; shift
  $twin sensors replay --scenario "$WORK/truth" --city "$WORK/c30.gpkg" --rain "$WORK/truth.csv" \
    --to "$to" --speed 0 --noise 0.01 --seed 5 "$@" | grep -v '^note'
}
live() { # CITY FEED OUT UNTIL EVERY [OPTIONS]
  local city=$1 feed=$2 out=$3 until=$4 every=$5; shift 5
  $twin live --city "$city" --sensors "$feed" --out "$out" --clock data \
    --rain-forecast scenarios/design-storm-100mm-2h.csv --forecast-every "$every" \
    --until "2025-09-30T$until:00+07:00" "$@" | grep -v "^  $WORK"
}
replay "$WORK/feed" >/dev/null
rows=""
for cell in 10 20 30; do
  opt=()
  [ "$cell" != 10 ] && opt=(--cell "$cell")
  rm -rf "$WORK/f$cell" "$WORK/l$cell"
  cp -r "$WORK/feed" "$WORK/f$cell"
  text="$(live "$WORK/c10.gpkg" "$WORK/f$cell" "$WORK/l$cell" 06:45 45m "${opt[@]}")"
  # Periods: "HH:MM rain ... ; S.SS s"; the forecast: "  forecast ... ; S.S s".
  apply="$(echo "$text" | grep -E '^[0-9]{2}:[0-9]{2} rain' | sed -E 's/.*; ([0-9.]+) s$/\1/' |
    sort -n | awk '{a[NR]=$1} END {printf "%.2f / %.2f", a[int((NR+1)/2)], a[NR]}')"
  fc="$(echo "$text" | grep -E '^  forecast' | sed -E 's/.*; ([0-9.]+) s$/\1/' | head -1)"
  cells="$(python3 -c "print(f'{(3000/$cell)**2:,.0f}')" 2>/dev/null || echo '?')"
  rows+="| $cell m | $cells | $apply | $fc |"$'\n'
done
rm -rf "$WORK/fclean" "$WORK/clean"
cp -r "$WORK/feed" "$WORK/fclean"
clean="$(live "$WORK/c30.gpkg" "$WORK/fclean" "$WORK/clean" 07:15 15m --neighbour-radius 1600)"
faults=(--freeze WL-11 --drop WL-12 --spike 0.02 --falsify WL-2:+0.5)
faulty_replay="$(replay "$WORK/ffaulty" "${faults[@]}")"
faulty="$(live "$WORK/c30.gpkg" "$WORK/ffaulty" "$WORK/faulty" 07:15 15m --neighbour-radius 1600)"
peaks="$(python3 - "$WORK" <<'EOF'
import csv, json, sys
w = sys.argv[1]
truth = {}
for r in csv.DictReader(open(f"{w}/truth/gauges.csv")):
    if "Street flood" in r["gauge"] and float(r["time_s"]) > 75 * 60:
        truth[r["gauge"]] = max(truth.get(r["gauge"], 0.0), float(r["depth_m"]))
def peaks(d):
    f = json.load(open(f"{w}/{d}/forecast.json"))
    return {p["name"]: p["peak_m"] for p in f["places"] if p["alerted"]}
c, f = peaks("clean"), peaks("faulty")
for g in sorted(truth):
    print(f"| {g} | {truth[g]:.3f} | {c[g]:.3f} | {f[g]:.3f} |")
EOF
)"
tmp="$OUT.partial"
{
  echo "# The live loop: timings and a replayed storm"
  echo
  echo "Made by \`bash benches/live/loop.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(rustc --version | cut -d' ' -f1-2), CPU surface solver."
  echo "Load average before the run: $load (the machine is shared: times are upper bounds)."
  echo
  echo "## From readings to state, and from state to a 2-hour forecast"
  echo
  echo "Demo district (3 × 3 km), sewers coupled, 5-minute periods; \`twin live\` from a folder of the"
  echo "replayed readings. *Apply*: a period's readings read back from the store, 5 minutes simulated"
  echo "under the gauges' rain, depths and lake levels corrected, the checkpoint committed (median /"
  echo "worst of 9 periods). *Forecast*: the state copied and run 2 hours ahead under the bias-corrected"
  echo "rain forecast, hotspot alerts and road closures read off (issued at 06:45, the storm rising)."
  echo "Aims (issue): ≤ 1 s to the updated state, ≤ 10 s to a new forecast."
  echo
  echo "| cell | cells | apply, s (median / worst) | forecast, s |"
  echo "| --- | ---: | ---: | ---: |"
  echo -n "$rows"
  echo
  echo "## The storm replayed (30 m cells)"
  echo
  echo "Truth: \`twin flood run --couple\` under the design storm × 1.4; its sensors replayed with 1 cm"
  echo "of noise (seed 5); \`twin live --forecast-every 15m --neighbour-radius 1600\` (the three lakes"
  echo "each other's neighbours) to 07:15. Peak depth at each street flood sensor after 07:15: the"
  echo "truth, and the forecast issued at 07:15 from clean and from faulty data"
  echo "(${faults[*]}):"
  echo
  echo "| street sensor | truth, m | forecast (clean), m | forecast (faulty), m |"
  echo "| --- | ---: | ---: | ---: |"
  echo "$peaks"
  echo
  echo "Clean data:"
  echo
  echo '```text'
  echo "$clean"
  echo '```'
  echo
  echo "Faulty data:"
  echo
  echo '```text'
  echo "$faulty_replay"
  echo "$faulty"
  echo '```'
} >"$tmp"
mv "$tmp" "$OUT"
cat "$OUT"
