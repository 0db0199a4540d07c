#!/usr/bin/env bash
# The demo district's storm coupled to its sewers for the first 80 minutes, and the network
# half of that run replayed alone: the coupled ledger's closure, and the replay model (each
# manhole fed what the surface gave it, minute by minute) routed by twin-hydro and by EPA SWMM
# 5.2.4. Writes benches/results/coupled-replay.md. Needs: python3 with venv, cargo.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
WORK="$(mktemp -d -t replay-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "swmm-toolkit==0.17.0"
cargo build -q --release --locked -p twin-cli
twin="${CARGO_TARGET_DIR:-$root/target}/release/twin"
"$twin" demo-city --out "$WORK/demo.gpkg" > /dev/null 2>&1
"$twin" flood run --dem "$WORK/demo.gpkg" --rain scenarios/design-storm-100mm-2h.csv \
  --minutes 80 --couple --replay-inp "$WORK/replay.inp" --out "$WORK/flood" > /dev/null 2>&1
"$twin" hydro run "$WORK/replay.inp" --out "$WORK/hydro" > /dev/null 2>&1
"$WORK/venv/bin/python" - "$WORK" "$root/benches/results/coupled-replay.md" <<'PY'
import json, re, sys
work, out = sys.argv[1], sys.argv[2]
from swmm.toolkit import solver
solver.swmm_run(f"{work}/replay.inp", f"{work}/replay.rpt", f"{work}/replay.out")
rpt = open(f"{work}/replay.rpt").read()
sec = rpt[rpt.index("Flow Routing Continuity"):]
swmm = float(re.search(r"Continuity Error \(%\) \.+\s+([-\d.]+)", sec).group(1))
led = json.load(open(f"{work}/flood/ledger.json"))
hyd = json.load(open(f"{work}/hydro/summary.json"))
with open(out, "w") as f:
    f.write("# The coupled demo storm's network, replayed alone against EPA SWMM 5.2.4\n\n")
    f.write("Made by `bash benches/demo/replay.sh`: `twin demo-city`, then `twin flood run --dem "
            "demo.gpkg --rain scenarios/design-storm-100mm-2h.csv --minutes 80 --couple "
            "--replay-inp replay.inp`; the replay model routed by `twin hydro run` and by SWMM "
            "5.2.4 (swmm-toolkit 0.17.0).\n\n")
    f.write("| figure | value |\n|---|---:|\n")
    f.write(f"| coupled run: inlet capture (m³) | {led['inlet_capture_m3']:,.0f} |\n")
    f.write(f"| coupled run: system closure (% of inflow) | {led['closure_error_percent']:.3f} |\n")
    f.write(f"| coupled run: network routing continuity (%) | {led['network_routing_continuity_percent']:.3f} |\n")
    f.write(f"| replay, twin-hydro: routing continuity (%) | {hyd['routing_continuity_error_pct']:.3f} |\n")
    f.write(f"| replay, SWMM 5.2.4: routing continuity (%) | {swmm:.3f} |\n")
print(open(out).read())
PY
