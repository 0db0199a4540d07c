#!/usr/bin/env bash
# Surface 2D against ANUGA: rain on an inclined plane, scored against the kinematic-wave
# solution at several resolutions, for speed at equal accuracy.
#
#   bash benches/anuga/run.sh
#
# Installs ANUGA from PyPI (`anuga==4.1.0`, a manylinux wheel for CPython 3.11 with its
# compiled OpenMP kernels; pulls numpy, scipy, matplotlib, netCDF4, pyproj, meshpy, pymetis,
# xarray, pandas; no Debian packages are needed: mpi4py is optional and its absence only prints
# "Could not import mpi4py - defining sequential interface") into a throw-away venv, runs
# benches/anuga/plane.py once per resolution and repeat, builds and runs the twin-surface bin
# `rain_plane`, which runs our solver on the same problem, scores both with the same code and
# replaces the `rain_plane` section of benches/results/surface.md.
#
# Both solvers use both cores: OMP_NUM_THREADS=2 for ANUGA (its legacy compute mode runs its
# C kernels under OpenMP), 2 rayon threads for ours (section `rain_plane`). A second pass
# runs both on one thread (section `rain_plane_1thread`): OpenMP's spinning barriers suffer
# far more than rayon when the 2 cores are shared with other work, and one thread is free of
# that.
#
# Environment (defaults in brackets): ANUGA_VENV [target/venv-anuga]; ANUGA_RUNS, scored runs
# as ALGORITHM:dx,dx,... [DE0:10,5,2.5 DE1:10,5]; ANUGA_SPEED, unscored speed runs on a finer
# mesh for the first seconds of the storm as ALGORITHM:dx:seconds [DE0:1.25:600], empty to
# skip; OUT, the results file [benches/results/surface.md]; OURS_DX
# [10,5,2.5,1.25,0.625]; REPEATS [3] (ANUGA's finest dx of each algorithm and its speed runs
# run once: they take minutes); ANUGA_RUNS_1T, scored runs of the one-thread pass
# [DE0:10,5,2.5 DE1:10,5,2.5]; SKIP_1T=1 skips that pass; CARGO_TARGET_DIR as usual.
# Takes about 10 minutes on a quiet machine with 2 cores (far longer when other builds share
# them: see the note on OpenMP above).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${ANUGA_VENV:-target/venv-anuga}
ANUGA_RUNS=${ANUGA_RUNS:-"DE0:10,5,2.5 DE1:10,5"}
ANUGA_SPEED=${ANUGA_SPEED-"DE0:1.25:600"}
OUT=${OUT:-benches/results/surface.md}
OURS_DX=${OURS_DX:-"10,5,2.5,1.25,0.625"}
REPEATS=${REPEATS:-3}
ANUGA_RUNS_1T=${ANUGA_RUNS_1T:-"DE0:10,5,2.5 DE1:10,5,2.5"}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "anuga==4.1.0"

cargo build --release -j 2 -p twin-surface --bin rain_plane
TARGET=${CARGO_TARGET_DIR:-target}

RUNS=$(mktemp -d "${TMPDIR:-/tmp}/anuga-plane.XXXXXX")
trap 'rm -rf "$RUNS"' EXIT
anuga() { # out-file, plane.py arguments...
  local out=$1
  shift
  echo "ANUGA (OMP_NUM_THREADS=$OMP_NUM_THREADS) $*" >&2
  "$VENV/bin/python" benches/anuga/plane.py --out "$out" "$@" \
    2> >(grep -v mpi4py >&2) >/dev/null
}
# one pass: threads, scored runs, speed runs, our cell sizes, section name
pass() {
  local threads=$1 runs=$2 speed=$3 ours=$4 section=$5 dir="$RUNS/$5"
  mkdir -p "$dir"
  export OMP_NUM_THREADS=$threads
  for spec in $runs; do
    local alg=${spec%%:*} dxs=${spec#*:}
    local finest=${dxs##*,}
    for dx in ${dxs//,/ }; do
      local n=$REPEATS
      [ "$dx" = "$finest" ] && n=1
      for k in $(seq 1 "$n"); do
        anuga "$dir/${alg}_dx${dx}_$k.txt" --algorithm "$alg" --dx "$dx"
      done
    done
  done
  for spec in $speed; do
    IFS=: read -r alg dx secs <<<"$spec"
    anuga "$dir/speed_${alg}_dx${dx}.txt" --algorithm "$alg" --dx "$dx" --t-end "$secs"
  done
  "$TARGET/release/rain_plane" --dx "$ours" --repeats "$REPEATS" --threads "$threads" \
    --anuga "$dir" --out "$OUT" --section "$section"
}
pass 2 "$ANUGA_RUNS" "$ANUGA_SPEED" "$OURS_DX" rain_plane
if [ "${SKIP_1T:-0}" != 1 ]; then
  pass 1 "$ANUGA_RUNS_1T" "$ANUGA_SPEED" "$OURS_DX" rain_plane_1thread
fi
