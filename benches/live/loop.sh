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
rm -rf "$WORK/fens" "$WORK/ens"
cp -r "$WORK/feed" "$WORK/fens"
ens="$(live "$WORK/c30.gpkg" "$WORK/fens" "$WORK/ens" 07:15 15m --neighbour-radius 1600 \
  --members 8 --rain-spread 0.5 1.5)"
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
ens_rows="$(python3 - "$WORK" <<'EOF'
import csv, json, sqlite3, sys
w = sys.argv[1]
truth = {}
for r in csv.DictReader(open(f"{w}/truth/gauges.csv")):
    truth.setdefault(r["gauge"], []).append((float(r["time_s"]), float(r["depth_m"])))
db = sqlite3.connect(f"{w}/ens/live.sqlite")
rows = [json.loads(x) for (x,) in db.execute(
    "SELECT data FROM live_events WHERE kind = 'forecast' ORDER BY id")]
# The forecast issued at 06:45 (the storm rising): each watched street place's members
# against the truth's peak over the same 2 hours (truth time 0 = 06:00 on 2025-09-30, +07:00).
start_ms = 1_759_186_800_000
f = next((r for r in rows if r["issued_ms"] == start_ms + 45 * 60_000), rows[0])
t0 = (f["issued_ms"] - start_ms) / 1000
at = f"{6 + int(t0 // 3600):02d}:{int(t0 % 3600 // 60):02d}"
inside = n = 0
for p in f["places"]:
    if not p["alerted"] or p["name"] not in truth:
        continue
    tr = max(d for t, d in truth[p["name"]] if t0 < t <= t0 + 7200)
    lo, hi = p["peak_range_m"]
    n += 1
    inside += lo <= tr <= hi
    print(f"| {p['name']} | {tr:.3f} | {p['peak_m']:.3f} | {lo:.3f} – {hi:.3f} | {p['p_alert']:.2f} |")
print(f"INSIDE {inside} {n} {f['wall_s']:.1f} {at}")
EOF
)"
ens_table="$(echo "$ens_rows" | grep -v '^INSIDE')"
read -r _ ens_in ens_n ens_wall ens_at <<<"$(echo "$ens_rows" | grep '^INSIDE')"
ens_inside="$ens_in of $ens_n places"
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
  echo "## An ensemble forecast (30 m cells)"
  echo
  echo "The clean run again with \`--members 8 --rain-spread 0.5 1.5\`: each forecast also runs 8"
  echo "members with the bias-corrected rain scaled by 0.5625, 0.6875 … 1.4375. The forecast issued"
  echo "at $ens_at (the storm rising; $ens_wall s with its members), each watched street place:"
  echo "the truth's peak over the forecast's 2 hours, the forecast's, the members' range and the share"
  echo "of members reaching the alert depth (0.3 m). The truth lies inside the members' range at"
  echo "$ens_inside."
  echo
  echo "| place | truth, m | forecast, m | members, m | share ≥ 0.3 m |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  echo "$ens_table"
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
  echo
  echo "Ensemble:"
  echo
  echo '```text'
  echo "$ens"
  echo '```'
} >"$tmp"
mv "$tmp" "$OUT"
cat "$OUT"
