#!/usr/bin/env bash
# Runs the demo scenario with two builds of `twin` and compares every file they write, byte for
# byte (ledger.json without its wall time): a refactor must leave them equal.
# Usage: bash benches/demo/identical.sh OLD_TWIN NEW_TWIN
set -euo pipefail
old="$1"; new="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d -t twin-identical-XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$old" demo-city --out "$work/demo.gpkg" > /dev/null
for who in old new; do
  bin="$old"; [ "$who" = new ] && bin="$new"
  "$bin" scenario run --city "$work/demo.gpkg" --rain "$root/scenarios/design-storm-100mm-2h.csv" \
    --minutes 150 --couple --out "$work/$who" > /dev/null 2>&1
done
status=0
for f in "$work"/old/*; do
  b=$(basename "$f")
  if [ "$b" = ledger.json ]; then
    if cmp -s <(grep -v wall_time_s "$f") <(grep -v wall_time_s "$work/new/$b"); then echo "same $b (but wall time)"; else echo "DIFF $b"; status=1; fi
  elif cmp -s "$f" "$work/new/$b"; then echo "same $b"; else echo "DIFF $b"; status=1; fi
done
for f in "$work"/new/*; do [ -e "$work/old/$(basename "$f")" ] || echo "only in the new run: $(basename "$f")"; done
exit $status
