#!/usr/bin/env bash
# The IFC reference figures of benches/results/bim.md: IfcOpenShell's reading of the two IFC
# samples (benches/bim/reference.py), printed beside what `twin import ifc` makes of them.
#
#   bash benches/bim/run.sh
#
# Needs the project's .venv (scripts/setup.sh); installs IfcOpenShell 0.9.0.post1 into it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
data=../shared/data/bim-cim
if ! .venv/bin/python -c "import ifcopenshell" 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "ifcopenshell==0.9.0.post1"
fi
.venv/bin/python benches/bim/reference.py "$data/webifc_AC20-FZK-Haus.ifc" \
  "$data/webifc_IfcOpenHouse_IFC4.ifc"
cargo build -q -p twin-cli --bin twin
twin="${CARGO_TARGET_DIR:-target}/debug/twin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$twin" import ifc "$data/webifc_AC20-FZK-Haus.ifc" --out "$tmp/c.gpkg" --crs EPSG:25832 >/dev/null
"$twin" import ifc "$data/webifc_IfcOpenHouse_IFC4.ifc" --out "$tmp/c.gpkg" --at 8.4365,49.1 >/dev/null
"$twin" import citygml "$data/teco_FZK-Haus-LoD2-KIT-IAI-KHH-B36-V1.gml" --out "$tmp/c.gpkg" >/dev/null
"$twin" export geojson "$tmp/c.gpkg" --layer building --out "$tmp/b.geojson"
.venv/bin/python - "$tmp/b.geojson" <<'PY'
import json, math, sys
for f in json.load(open(sys.argv[1]))["features"]:
    p = f["properties"]
    print(json.dumps({k: p.get(k) for k in ("name", "base_m", "height_m", "levels",
                                            "storey_elevations_m", "building")}, ensure_ascii=False))
PY
