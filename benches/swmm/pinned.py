"""Recompute with live SWMM the reference figures the tests pin in benches/swmm/pinned.csv.

Each row names a model (a path from the repository root, or "twin-demo": the demo district's
network that `twin demo-city` and `twin export inp` make), a variant (text replacements
"FROM=>TO" separated by "|", applied to the model as the test applies them), a quantity of
SWMM's Flow Routing or Runoff Quantity Continuity table and its pinned value. A figure drifts when live SWMM differs
from it by more than 0.1 % of the value or one unit of the last digit SWMM's report prints,
whichever is larger.

Used by run_all.py; alone: pinned.py --twin BIN --work DIR (exit status 1 on drift).
"""
import argparse
import csv
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PINNED = os.path.join(ROOT, "benches", "swmm", "pinned.csv")
LABELS = {
    "routing_flooding": "Flooding Loss",
    "routing_exfiltration": "Exfiltration Loss",
    "routing_evaporation": "Evaporation Loss",
    "routing_outflow": "External Outflow",
    "routing_external_inflow": "External Inflow",
}
RUNOFF_LABELS = {
    "runoff_precipitation": "Total Precipitation",
    "runoff_runon": "Outfall Runon",
    "runoff_evaporation": "Evaporation Loss",
    "runoff_infiltration": "Infiltration Loss",
    "runoff_runoff": "Surface Runoff",
    "runoff_storage": "Final Storage",
}
US_GAL_M3 = 3785.411784  # m3 per 10^6 US gallons


def read_pinned(path=PINNED):
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def runoff_figures(txt):
    """The Runoff Quantity Continuity table of SWMM's report: depths in mm or in, the error in %."""
    table = re.search(r"Runoff Quantity Continuity(.*?)Continuity Error \(%\) \.+\s+(-?[\d.]+)", txt, re.S)
    if not table:
        return {}
    out = {"runoff_error": (float(table.group(2)), 0.001)}
    for q, label in RUNOFF_LABELS.items():
        m = re.search(re.escape(label) + r" \.+\s+(-?[\d.]+)\s+(-?[\d.]+)", table.group(1))
        if m:
            out[q] = (float(m.group(2)), 0.001)  # the depth column, printed to 3 decimals
    return out


def routing_figures(rpt, units):
    """SWMM's report's continuity tables: routing volumes in m3, runoff depths in the model's
    units (mm or in), errors in %."""
    txt = open(rpt, errors="replace").read()
    table = re.search(r"Flow Routing Continuity(.*?)Continuity Error \(%\) \.+\s+(-?[\d.]+)", txt, re.S)
    if not table:
        raise RuntimeError(f"{rpt}: no Flow Routing Continuity table")
    si = units in ("CMS", "LPS", "MLD")
    out = {"routing_error": (float(table.group(2)), 0.001), **runoff_figures(txt)}
    for q, label in LABELS.items():
        m = re.search(re.escape(label) + r" \.+\s+(-?[\d.]+)\s+(-?[\d.]+)", table.group(1))
        if m:
            # The second column: 10^6 L (SI) or 10^6 gal (US), printed to 3 decimals.
            per = 1000.0 if si else US_GAL_M3
            out[q] = (float(m.group(2)) * per, 0.001 * per)
    return out


def demo_model(twin, work):
    """The demo district's network exported for 50 mm/h over the first hour, 180 minutes."""
    os.makedirs(work, exist_ok=True)
    gpkg, rain, inp = (os.path.join(work, n) for n in ("demo.gpkg", "hour.csv", "demo.inp"))
    if not os.path.exists(inp):
        subprocess.run([twin, "demo-city", "--out", gpkg], check=True, capture_output=True)
        with open(rain, "w") as f:
            f.write("minute,mm_per_hour\n0,50\n60,0\n")
        subprocess.run([twin, "export", "inp", gpkg, "--rain", rain, "--minutes", "180", "--out", inp],
                       check=True, capture_output=True)
    return inp


def check(twin, work):
    """Rows of (test, quantity, unit, pinned, live or None, drifted, note)."""
    rows = read_pinned()
    runs = {}
    out = []
    for r in rows:
        key = (r["model"], r["variant"])
        if key not in runs:
            wd = os.path.join(work, f"run{len(runs)}")
            os.makedirs(wd, exist_ok=True)
            try:
                src = demo_model(twin, os.path.join(work, "demo")) if r["model"] == "twin-demo" \
                    else os.path.join(ROOT, r["model"])
                text = open(src, errors="replace").read()
                for rep in filter(None, r["variant"].split("|")):
                    a, b = rep.split("=>")
                    text = text.replace(a, b)
                # Written beside a copy of the model's data files, as compare does.
                model = compare.with_full_report(src, wd)
                with open(model, "w") as f:
                    f.write(text)
                rpt, _out, _wall = compare.run_swmm(model, wd)
                runs[key] = routing_figures(rpt, compare.flow_units(model))
            except Exception as e:  # reported per row below
                runs[key] = str(e)
        live = runs[key]
        pinned = float(r["value"])
        if isinstance(live, str) or r["quantity"] not in live:
            note = live if isinstance(live, str) else "not in SWMM's report"
            out.append((r["test"], r["quantity"], r["unit"], pinned, None, True, note[:120]))
            continue
        value, step = live[r["quantity"]]
        tol = max(0.001 * abs(pinned), step)
        out.append((r["test"], r["quantity"], r["unit"], pinned, value, abs(value - pinned) > tol, f"tolerance {tol:.3g}"))
    return out


def write_markdown(results, o):
    o.write("\n## Pinned reference figures\n\n")
    o.write("The SWMM figures the hydro and CLI tests pin in `benches/swmm/pinned.csv`, recomputed with this SWMM;\n")
    o.write("a figure drifts when they differ by more than 0.1 % or one unit of the last digit SWMM's report prints.\n\n")
    o.write("| test | quantity | pinned | live SWMM | unit | status |\n|---|---|---|---|---|---|\n")
    for test, q, unit, pinned, live, drifted, note in results:
        shown = "-" if live is None else f"{live:.3f}"
        status = ("DRIFT: " + note) if drifted else "same"
        o.write(f"| {test} | {q} | {pinned!r} | {shown} | {unit} | {status} |\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--twin", required=True, help="the twin binary (for the demo network)")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    results = check(a.twin, a.work)
    write_markdown(results, sys.stdout)
    sys.exit(1 if any(r[5] for r in results) else 0)


if __name__ == "__main__":
    main()
