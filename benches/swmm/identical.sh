#!/usr/bin/env bash
# Checks that two builds of `twin` give byte-identical drainage results: runs
# `twin hydro run` and `twin hydro rewrite` of each on every model at hand and
# compares nodes.csv, links.csv, subcatch.csv, summary.json (its run_time_s line
# aside), the exit status and the rewritten .inp. For refactors that must not change
# a number; a difference is listed, with the new build's error where it refuses a
# model the old one ran.
# Models: benches/swmm/models/*.inp, crates/hydro/tests/data/*.inp, the swmmio and
# pyswmm wheel models under ${SWMM_MODELS_DIR:-target/testdata/swmm-models} (see
# scripts/setup.sh) and generated networks of 100 and 1,000 junctions.
# Usage: benches/swmm/identical.sh OLD_TWIN NEW_TWIN   (exit status 1 if anything differs)
# Needs: python3 (for the generated networks).
set -uo pipefail
OLD="$1"
NEW="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d -t twin-identical-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
python3 "$ROOT/benches/swmm/gen_network.py" 100 "$WORK/generated_100.inp" >/dev/null
python3 "$ROOT/benches/swmm/gen_network.py" 1000 "$WORK/generated_1000.inp" >/dev/null
{
  ls "$ROOT"/benches/swmm/models/*.inp "$ROOT"/crates/hydro/tests/data/*.inp
  find "${SWMM_MODELS_DIR:-$ROOT/target/testdata/swmm-models}" -name '*.inp' 2>/dev/null | sort
  ls "$WORK"/generated_*.inp
} >"$WORK/models.txt"

# Builds before `twin hydro rewrite` existed are compared on their runs alone.
rewrite=1
for bin in "$OLD" "$NEW"; do
  "$bin" hydro rewrite --help >/dev/null 2>&1 || rewrite=0
done
[ $rewrite = 1 ] || echo "note: a build has no 'twin hydro rewrite'; rewritten models not compared"

models=0 same=0 files=0
while read -r m; do
  models=$((models + 1))
  key="$models-$(basename "$m" .inp)"
  for side in old new; do
    bin="$OLD"; [ "$side" = new ] && bin="$NEW"
    d="$WORK/$side/$key"
    mkdir -p "$d"
    "$bin" hydro run "$m" --out "$d/out" >/dev/null 2>"$d/stderr"
    echo $? >"$d/rc"
    [ $rewrite = 1 ] && "$bin" hydro rewrite "$m" --out "$d/rewritten.inp" >/dev/null 2>&1
  done
  o="$WORK/old/$key" n="$WORK/new/$key" ok=1
  if ! cmp -s "$o/rc" "$n/rc"; then
    echo "DIFF $m: exit status $(cat "$o/rc") -> $(cat "$n/rc"): $(tail -n 1 "$n/stderr")"
    ok=0
  fi
  for f in nodes.csv links.csv subcatch.csv summary.json rewritten.inp; do
    a="$o/out/$f" b="$n/out/$f"
    [ "$f" = rewritten.inp ] && a="$o/$f" b="$n/$f"
    [ -e "$a" ] || [ -e "$b" ] || continue
    files=$((files + 1))
    if [ "$f" = summary.json ]; then
      cmp -s <(grep -v '"run_time_s"' "$a" 2>/dev/null) <(grep -v '"run_time_s"' "$b" 2>/dev/null) && continue
    else
      cmp -s "$a" "$b" && continue
    fi
    echo "DIFF $m: $f"
    ok=0
  done
  [ $ok = 1 ] && same=$((same + 1))
done <"$WORK/models.txt"
echo "$same of $models models identical ($files files compared)"
[ "$same" = "$models" ]
