"""Run every in-scope EPA/test model shipped in the swmmio and pyswmm wheels,
the hand-written feature models of benches/swmm/models/ and generated networks,
through SWMM 5.2.4 and `twin hydro run`; write a Markdown table. Then recompute with SWMM the
figures the tests pin in pinned.csv and exit 1 if any has drifted (pinned.py).

usage: run_all.py --twin BIN --models DIR --work DIR --out FILE [--sizes 100,1000,10000]
"""
import argparse
import hashlib
import math
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import gen_network  # noqa: E402
import pinned  # noqa: E402
from swmm.toolkit import solver  # noqa: E402


def fmt(x, nd=4):
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "n/a"
        if math.isinf(x):
            return "inf"
        return f"{x:.{nd}f}"
    return str(x)


def verdict(r):
    """Which bars a model passes; the reasons it fails."""
    fails = []
    for k in ("depth_nse_min", "flow_nse_min"):
        v = r[k]
        if not math.isnan(v) and v < 0.99:
            fails.append(f"{k.split('_')[0]} NSE {v:.3f}")
    if r["flat_depth_err_max_m"] > 0.005:
        fails.append(f"flat depth series off {r['flat_depth_err_max_m']:.4f} m")
    if r["peak_depth_err_max_m"] > 0.02:
        fails.append(f"peak depth off {r['peak_depth_err_max_m']:.3f} m")
    if not math.isnan(r.get("runoff_nse_min", float("nan"))) and r["runoff_nse_min"] < 0.99:
        fails.append(f"runoff NSE {r['runoff_nse_min']:.3f}")
    if r["flood_err_pct"] > 5.0:
        fails.append(f"flooding off {fmt(r['flood_err_pct'], 1)} %")
    for a, b, name in (("routing_err_ours", "routing_err_swmm", "routing"), ("runoff_err_ours", "runoff_err_swmm", "runoff")):
        ours, ref = r[a], r[b]
        if ours is not None and ref is not None and abs(ours) > abs(ref) + 0.005:
            fails.append(f"{name} continuity {ours:.3f} % vs {ref:.3f} %")
    return "pass" if not fails else "FAIL: " + "; ".join(fails)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--twin", required=True, help="the twin binary (target/release/twin)")
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--features", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"),
                    help="directory of hand-written feature models, compared like the wheel models")
    a = ap.parse_args()
    files = []
    for root, _dirs, names in os.walk(a.models):
        for n in names:
            if n.lower().endswith(".inp"):
                files.append(os.path.join(root, n))
    files.sort()
    # Hand-written models, one per routing or runoff feature, after the wheel models.
    features = sorted(os.path.join(a.features, n) for n in os.listdir(a.features) if n.lower().endswith(".inp")) \
        if os.path.isdir(a.features) else []
    files += features
    seen = {}
    rows, skipped, roundtrips = [], [], []
    for f in files:
        digest = hashlib.sha1(open(f, "rb").read()).hexdigest()
        rel = "benches/swmm/models/" + os.path.basename(f) if f in features else os.path.relpath(f, a.models)
        if digest in seen:
            skipped.append((rel, f"duplicate of {seen[digest]}"))
            continue
        seen[digest] = rel
        wd = os.path.join(a.work, "runs", rel.replace("/", "_"))
        os.makedirs(wd, exist_ok=True)
        # SWMM itself must accept the model.
        inp = compare.with_full_report(f, wd)
        try:
            solver.swmm_run(inp, os.path.join(wd, "probe.rpt"), os.path.join(wd, "probe.out"))
            failed = False
        except Exception:  # SWMM raises on input errors
            failed = True
        rpt_path = os.path.join(wd, "probe.rpt")
        rpt = open(rpt_path, errors="replace").read() if os.path.exists(rpt_path) else "ERROR"
        if failed or "ERROR" in rpt:
            line = next((l.strip() for l in rpt.splitlines() if "ERROR" in l), "error")
            skipped.append((rel, f"SWMM 5.2.4 rejects it ({line[:80]})"))
            continue
        # The writer must give SWMM an equivalent model (checked for every model SWMM accepts).
        rt = compare.writer_roundtrip(f, a.twin, os.path.join(wd, "roundtrip"))
        roundtrips.append((rel, rt))
        # Our engine must support its features.
        probe = subprocess.run(compare.ours_cmd(a.twin, "run", inp, "--out", os.path.join(wd, "probe")),
                               capture_output=True, text=True)
        if probe.returncode != 0:
            msg = compare.error_line(probe.stderr)
            for key in ("unsupported: ", "model error: ", "input error: "):
                if key in msg:
                    msg = msg.split(key, 1)[1]
                    break
            skipped.append((rel, f"out of scope: {msg[:120]}"))
            continue
        print("comparing", rel, file=sys.stderr, flush=True)
        r = compare.compare(f, a.twin, wd)
        if r["status"] != "ok":
            skipped.append((rel, "twin hydro run failed: " + r.get("error", "")))
            continue
        rows.append((rel, r))
    for n in [int(x) for x in a.sizes.split(",") if x]:
        path = os.path.join(a.work, f"generated_{n}.inp")
        gen_network.generate(n, path)
        print("comparing generated", n, file=sys.stderr, flush=True)
        r = compare.compare(path, a.twin, os.path.join(a.work, "runs", f"generated_{n}"))
        if r["status"] == "ok":
            rows.append((f"generated {n} junctions", r))
        else:
            skipped.append((f"generated {n}", r.get("error", "")))
    with open(a.out, "w") as o:
        o.write("# twin-hydro vs EPA SWMM 5.2.4\n\n")
        o.write("Generated by `benches/swmm/run.sh` (SWMM from swmm-toolkit 0.17.0 on PyPI). Both engines run the\n")
        o.write("same `.inp` (a `[REPORT] NODES ALL / LINKS ALL` section is appended so SWMM writes every object).\n")
        o.write("NSE over report steps, per junction depth (nodes that ever get wet) and per link flow (links that carry\n")
        o.write("flow); min and median over objects. Peak depth error: max over nodes of |peak ours − peak SWMM|.\n")
        o.write("Continuity errors in % as each engine computes them. Times are wall-clock seconds of one run each,\n")
        o.write(f"same machine ({platform.machine()}, {os.cpu_count()} cores shared with other work); ours includes writing the CSV files.\n\n")
        o.write("Series that SWMM keeps nearly constant (std < 1 mm depth, or < max(1e-4 m³/s, 0.1 % of mean) flow) make NSE\n")
        o.write("meaningless; they are excluded from NSE and checked by max |difference| instead (column 'flat').\n\n")
        o.write("Bars: NSE ≥ 0.99, peak depth within 0.02 m, flooding within 5 %, our continuity errors no larger than SWMM's.\n\n")
        o.write("| model | depth NSE min / med | flow NSE min / med | peak depth err (m) | flat: n / max depth err (m) / max flow err (m³/s) | flooding SWMM / ours (m³) | flood err % | runoff cont. % SWMM / ours | routing cont. % SWMM / ours | time SWMM / ours (s) | speed-up | verdict |\n")
        o.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for name, r in rows:
            o.write(
                f"| {name} | {fmt(r['depth_nse_min'])} / {fmt(r['depth_nse_med'])} | {fmt(r['flow_nse_min'])} / {fmt(r['flow_nse_med'])} "
                f"| {fmt(r['peak_depth_err_max_m'], 4)} | {r['flat_series']} / {fmt(r['flat_depth_err_max_m'], 4)} / {fmt(r['flat_flow_err_max_m3s'], 5)} | {fmt(r['flood_swmm_m3'], 1)} / {fmt(r['flood_ours_m3'], 1)} | {fmt(r['flood_err_pct'], 2)} "
                f"| {fmt(r['runoff_err_swmm'], 3)} / {fmt(r['runoff_err_ours'], 3)} | {fmt(r['routing_err_swmm'], 3)} / {fmt(r['routing_err_ours'], 3)} "
                f"| {fmt(r['swmm_wall'], 2)} / {fmt(r['ours_wall'], 2)} | {fmt(r['swmm_wall'] / r['ours_wall'], 2)}x | {verdict(r)} |\n"
            )
        o.write("\n## Subcatchment runoff\n\n")
        o.write("Runoff of every subcatchment that produces any, at report steps (m³/s): NSE min over subcatchments\n")
        o.write("(bar 0.99, in the verdict above) and the largest relative error of a subcatchment's peak.\n\n")
        o.write("| model | subcatchments | runoff NSE min | peak runoff err % |\n|---|---|---|---|\n")
        for name, r in rows:
            if r.get("subcatchments"):
                o.write(f"| {name} | {r['subcatchments']} | {fmt(r['runoff_nse_min'])} | {fmt(r['runoff_peak_err_pct'], 3)} |\n")
        o.write("\n## Writer round trip\n\n")
        o.write("SWMM 5.2.4 run on the original model and on `twin hydro rewrite` output (parse, then write with\n")
        o.write("twin-hydro's writer): largest differences between the two SWMM runs over all nodes, links and report steps.\n\n")
        o.write("| model | max abs depth diff (m) | max abs flow diff (m³/s) | objects missing | status |\n|---|---|---|---|---|\n")
        for name, rt in roundtrips:
            if rt["status"] == "ok":
                same = rt["max_ddepth"] < 1e-6 and rt["max_dflow"] < 1e-6 and rt["missing"] == 0
                o.write(f"| {name} | {rt['max_ddepth']:.2e} | {rt['max_dflow']:.2e} | {rt['missing']} | {'same' if same else 'DIFFERS'} |\n")
            else:
                o.write(f"| {name} | - | - | - | {rt['error']} |\n")
        o.write("\n## Models not compared\n\n| model | reason |\n|---|---|\n")
        for name, why in skipped:
            o.write(f"| {name} | {why} |\n")
        # The figures the tests pin, recomputed: a drift fails the run.
        print("recomputing the pinned figures", file=sys.stderr, flush=True)
        pins = pinned.check(a.twin, os.path.join(a.work, "pinned"))
        pinned.write_markdown(pins, o)
    print(open(a.out).read())
    drifted = [p for p in pins if p[5]]
    for test, q, _unit, value, live, _d, note in drifted:
        print(f"DRIFT {test} {q}: pinned {value}, live SWMM {live} ({note})", file=sys.stderr)
    if drifted:
        sys.exit(1)


if __name__ == "__main__":
    main()
