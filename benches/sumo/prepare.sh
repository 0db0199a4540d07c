# Sourced by the SUMO harness scripts (run.sh, saturation.sh, junction_capacity.sh), after
# each sets its default `work`: finds the repository, installs eclipse-sumo and sumolib 1.28
# into a throw-away venv if absent, builds traffic_run (release) and creates the work folder.
# Reads SUMO_VENV (default /tmp/twin-sumo-venv), WORK and CARGO_TARGET_DIR (default
# <repo>/target); sets here, root, venv, work and target.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SUMO_VENV:-/tmp/twin-sumo-venv}"
work="${WORK:-$work}"
target="${CARGO_TARGET_DIR:-$root/target}"

if [ ! -x "$venv/bin/sumo" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet eclipse-sumo==1.28.0 sumolib==1.28.0
fi
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -j 2 -p twin-traffic --bin traffic_run)
mkdir -p "$work"
