#!/usr/bin/env bash
# Bit-identical check for changes to crates/traffic that must not change results (moves,
# renames, refactors): runs `twin traffic run` (every signal-control, rerouting, MSA and FCD
# variant) on SUMO networks and the `demo_peak` bench on the demo district, writing every
# output under OUT. Run it once with the binaries built before the change and once after, then
# compare the two folders:
#
#   benches/sumo/identical.sh run  TWIN DEMO_PEAK CASES OUT   # outputs of one build
#   benches/sumo/identical.sh cmp  OUT_BEFORE OUT_AFTER       # every file equal, or a list
#
# CASES holds NAME.net.xml with NAME.rou.xml (routes) and NAME.trips.xml (from/to trips), e.g.
# from netgenerate and randomTrips.py as benches/sumo/compare.py makes them, and optionally
# NAME.od.csv with NAME.zones.csv (and NAME.counts.csv) for the OD-matrix path. Wall times and
# the rates derived from them are removed from summary.json and the demo_peak table before
# the comparison; nothing else is. Fields a change adds to summary.json on purpose can be
# dropped with IGNORE_KEYS="key1 key2".
set -euo pipefail

strip_summary() { # FILE -> FILE.cmp without wall-clock fields (and IGNORE_KEYS)
  python3 - "$1" "${IGNORE_KEYS:-}" <<'PY'
import json, sys
path, ignore = sys.argv[1], sys.argv[2].split()
d = json.load(open(path))
for k in ["wall_time_s", "updates_per_second", *ignore]:
    d.pop(k, None)
json.dump(d, open(path + ".cmp", "w"), indent=1, sort_keys=True)
PY
}

case "${1:-}" in
run)
  twin="$2" demo="$3" cases="$4" out="$5"
  mkdir -p "$out"
  for net in "$cases"/*.net.xml; do
    name="$(basename "$net" .net.xml)"
    for src in rou trips od; do
      if [ "$src" = od ]; then
        [ -f "$cases/$name.od.csv" ] || continue
        demand=(--od "$cases/$name.od.csv" --zones "$cases/$name.zones.csv")
        [ -f "$cases/$name.counts.csv" ] && demand+=(--counts "$cases/$name.counts.csv")
      else
        [ -f "$cases/$name.$src.xml" ] || continue
        demand=(--routes "$cases/$name.$src.xml")
      fi
      while read -r tag args; do
        dir="$out/$name.$src.$tag"
        # shellcheck disable=SC2086
        "$twin" traffic run --net "$net" "${demand[@]}" --end 3600 $args --out "$dir" \
          > "$dir.log" 2>&1 || { echo "failed: $dir (see $dir.log)"; exit 1; }
        [ -f "$dir/summary.json" ] && strip_summary "$dir/summary.json"
      done <<'RUNS'
fixed --fcd 10
maxp --max-pressure 10
act --actuated 5 40 3
prop --actuated 5 40 3 --propose-only
rer --reroute-period 60 --informed 0.5
msa --msa 3
RUNS
    done
  done
  if [ -n "$demo" ]; then
    "$demo" --trips 123000 --seed 1 --end 10800 --phf 0.92 --reroute-period 120 --informed 0.5 \
      --period "$out/demo_peak.md" > "$out/demo_peak.log" 2>&1
    # Wall times and updates per second vary from run to run.
    grep -v -i -e 'wall time' -e 'per second' -e '^Bar' "$out/demo_peak.md" > "$out/demo_peak.md.cmp"
  fi
  ;;
cmp)
  a="$2" b="$3" bad=0 n=0
  while IFS= read -r f; do
    case "$f" in
      *summary.json|*demo_peak.md|*.log) continue ;; # compared through their .cmp copies
    esac
    n=$((n + 1))
    if ! cmp -s "$a/$f" "$b/$f"; then echo "differs: $f"; bad=1; fi
  done < <(cd "$a" && find . -type f | sort)
  while IFS= read -r f; do
    echo "only in $b: $f"; bad=1
  done < <(comm -13 <(cd "$a" && find . -type f | sort) <(cd "$b" && find . -type f | sort))
  if [ "$bad" = 0 ]; then echo "identical: $n files"; fi
  exit "$bad"
  ;;
*)
  sed -n '2,16p' "$0"
  exit 2
  ;;
esac
