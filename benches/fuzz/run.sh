#!/usr/bin/env bash
# Fuzzes every parser of user files with libFuzzer (cargo fuzz; the targets are in fuzz/) for
# SECS seconds each, JOBS targets at a time, and writes a table of executions, coverage, memory
# and outcome to OUT. Fails if any target crashes, takes over TIMEOUT s on one input (a hang) or
# passes RSS_MB of memory; the input that did it is kept under WORK/artifacts.
#
#   bash benches/fuzz/run.sh                               # the recorded campaign, 10 min each
#   SECS=15 OUT=/tmp/fuzz-short.md bash benches/fuzz/run.sh   # a short pass
#
# Environment: TARGETS (all; or names separated by spaces), SECS (600), JOBS (2), TIMEOUT (10),
# RSS_MB (4096), WORK (/tmp/twin-fuzz),
# OUT (benches/results/fuzz.md), MERGE=1 to add the inputs that reached new code to
# fuzz/corpus (the seeds kept in the repo).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
SECS="${SECS:-600}" JOBS="${JOBS:-2}" TIMEOUT="${TIMEOUT:-10}" RSS_MB="${RSS_MB:-4096}"
WORK="${WORK:-/tmp/twin-fuzz}" OUT="${OUT:-$root/benches/results/fuzz.md}"
OUT="$(realpath -m "$OUT")"  # the targets are built and run from fuzz/
targets=(swmm_inp rain_file climate_file sumo_net sumo_routes osm_xml osm_pbf rain_csv points_csv
  gpkg_metadata scenario_toml gauge_rain cityjson citygml ifc snapshot)
if [ -n "${TARGETS:-}" ]; then read -r -a targets <<<"$TARGETS"; fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install --locked cargo-fuzz --version 0.13.2
fi
cd "$root/fuzz"
# No sanitizer: the code is safe Rust; libFuzzer's coverage, debug assertions and overflow
# checks stay on, and the build works on the stable toolchain.
cargo fuzz build -s none -O
bin="$root/fuzz/target/x86_64-unknown-linux-gnu/release"
rm -rf "$WORK/logs"
mkdir -p "$WORK/logs"
export bin SECS TIMEOUT RSS_MB WORK root
one() {
  t=$1
  mkdir -p "$WORK/corpus/$t" "$WORK/artifacts/$t"
  # -close_fd_mask=3: the targets' own output is dropped; libFuzzer still reports.
  set +e
  "$bin/$t" -max_total_time="$SECS" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
    -max_len=65536 -print_final_stats=1 -close_fd_mask=3 \
    -artifact_prefix="$WORK/artifacts/$t/" "$WORK/corpus/$t" "$root/fuzz/corpus/$t" \
    >"$WORK/logs/$t.log" 2>&1
  echo $? >"$WORK/logs/$t.rc"
  set -e
  echo "fuzz: $t done (exit $(cat "$WORK/logs/$t.rc"))"
}
export -f one
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'one {}'
if [ "${MERGE:-0}" = 1 ]; then
  for t in "${targets[@]}"; do
    "$bin/$t" -merge=1 -max_len=65536 -close_fd_mask=3 "$root/fuzz/corpus/$t" "$WORK/corpus/$t" \
      >"$WORK/logs/$t.merge.log" 2>&1
  done
fi
python3 "$root/benches/fuzz/summary.py" --logs "$WORK/logs" --secs "$SECS" --jobs "$JOBS" \
  --out "$OUT" "${targets[@]}"
