"""Compare twin-hydro (`twin hydro run`) with EPA SWMM 5.2.4 (swmm-toolkit) on one model.

Used by run.sh. Reads SWMM's binary output through swmm.toolkit.output and its
.rpt for continuity errors and flooding; reads `twin hydro run`'s nodes.csv, links.csv
and summary.json. All comparisons in SI units.
"""
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

from swmm.toolkit import output, shared_enum, solver

FT = 0.3048
FLOW_TO_CMS = {"CFS": 0.028316846592, "GPM": 6.30901964e-05, "MGD": 0.0438126364,
               "CMS": 1.0, "LPS": 0.001, "MLD": 1.0 / 86.4}


def run_swmm(inp, workdir):
    rpt = os.path.join(workdir, "swmm.rpt")
    out = os.path.join(workdir, "swmm.out")
    t0 = time.perf_counter()
    solver.swmm_run(inp, rpt, out)
    wall = time.perf_counter() - t0
    return rpt, out, wall


def flow_units(inp):
    with open(inp, errors="replace") as f:
        for line in f:
            t = line.split(";")[0].split()
            if len(t) >= 2 and t[0].upper() == "FLOW_UNITS":
                return t[1].upper()
    return "CFS"


def read_swmm_out(out, units):
    h = output.init()
    output.open(h, out)
    try:
        sz = output.get_proj_size(h)
        nnode, nlink = sz[1], sz[2]
        nper = output.get_times(h, shared_enum.Time.NUM_PERIODS)
        step = output.get_times(h, shared_enum.Time.REPORT_STEP)
        qcf = FLOW_TO_CMS[units]
        lcf = 1.0 if units in ("CMS", "LPS", "MLD") else FT
        nsub = sz[0]
        nodes, links, subs = {}, {}, {}
        for i in range(nnode):
            name = output.get_elem_name(h, shared_enum.ElementType.NODE, i)
            d = output.get_node_series(h, i, shared_enum.NodeAttribute.INVERT_DEPTH, 0, nper - 1)
            fl = output.get_node_series(h, i, shared_enum.NodeAttribute.FLOODING_LOSSES, 0, nper - 1)
            nodes[name] = ([x * lcf for x in d], [x * qcf for x in fl])
        for j in range(nlink):
            name = output.get_elem_name(h, shared_enum.ElementType.LINK, j)
            q = output.get_link_series(h, j, shared_enum.LinkAttribute.FLOW_RATE, 0, nper - 1)
            links[name] = [x * qcf for x in q]
        for k in range(nsub):
            name = output.get_elem_name(h, shared_enum.ElementType.SUBCATCH, k)
            subs[name] = [x * qcf for x in output.get_subcatch_series(
                h, k, shared_enum.SubcatchAttribute.RUNOFF_RATE, 0, nper - 1)]
        times = [step * (k + 1) for k in range(nper)]
        return times, nodes, links, subs
    finally:
        output.close(h)


def read_rpt(rpt, units):
    """Continuity errors (%) and flooding volume (m3) from SWMM's report."""
    txt = open(rpt, errors="replace").read()
    res = {"runoff_err": None, "routing_err": None, "flooding_m3": 0.0}
    m = re.search(r"Runoff Quantity Continuity.*?Continuity Error \(%\) \.+\s+(-?[\d.]+)", txt, re.S)
    if m:
        res["runoff_err"] = float(m.group(1))
    m = re.search(r"Flow Routing Continuity.*?Continuity Error \(%\) \.+\s+(-?[\d.]+)", txt, re.S)
    if m:
        res["routing_err"] = float(m.group(1))
    m = re.search(r"Flow Routing Continuity.*?Flooding Loss \.+\s+(-?[\d.]+)\s+(-?[\d.]+)", txt, re.S)
    if m:
        vol = float(m.group(2))  # 10^6 gal (US) or 10^6 L (SI)
        res["flooding_m3"] = vol * (1000.0 if units in ("CMS", "LPS", "MLD") else 3785.411784)
    return res


def read_ours(outdir):
    nodes, links, times = {}, {}, []
    with open(os.path.join(outdir, "nodes.csv")) as f:
        for r in csv.DictReader(f):
            t = float(r["time"])
            if not times or times[-1] != t:
                times.append(t)
            nodes.setdefault(r["node"], ([], []))
            nodes[r["node"]][0].append(float(r["depth"]))
            nodes[r["node"]][1].append(float(r["flooding"]))
    with open(os.path.join(outdir, "links.csv")) as f:
        for r in csv.DictReader(f):
            links.setdefault(r["link"], []).append(float(r["flow"]))
    subs = {}
    path = os.path.join(outdir, "subcatch.csv")
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                subs.setdefault(r["subcatch"], []).append(float(r["runoff"]))
    summary = json.load(open(os.path.join(outdir, "summary.json")))
    return times, nodes, links, subs, summary


DEPTH_FLAT = 0.001  # m
FLOW_FLAT = 1e-4  # m3/s


def std(xs):
    n = len(xs)
    if n == 0:
        return 0.0
    m = sum(xs) / n
    return math.sqrt(sum((x - m) ** 2 for x in xs) / n)


def nse(ref, sim):
    n = min(len(ref), len(sim))
    if n == 0:
        return float("nan")
    ref, sim = ref[:n], sim[:n]
    mean = sum(ref) / n
    den = sum((x - mean) ** 2 for x in ref)
    num = sum((x - y) ** 2 for x, y in zip(ref, sim))
    if den == 0.0:
        return 1.0 if num < 1e-12 else float("-inf")
    return 1.0 - num / den


def median(xs):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else 0.5 * (xs[k - 1] + xs[k])


def with_full_report(inp, workdir):
    """Copy of the model that reports every subcatchment, node and link in SWMM's
    binary output; the data files beside the model (rain, time series, climate)
    are copied with it so relative paths still resolve."""
    text = open(inp, errors="replace").read()
    path = os.path.join(workdir, "model.inp")
    src = os.path.dirname(os.path.abspath(inp))
    if os.path.abspath(workdir) != src:
        for line in text.splitlines():
            for n in re.findall(r'"([^"]+)"|(\S+)', line.split(";")[0]):
                n = n[0] or n[1]
                p = os.path.join(src, n)
                if os.path.isfile(p) and not n.lower().endswith(".inp"):
                    os.makedirs(os.path.dirname(os.path.join(workdir, n)), exist_ok=True)
                    shutil.copy(p, os.path.join(workdir, n))
    with open(path, "w") as f:
        f.write(text)
        f.write("\n\n[REPORT]\nSUBCATCHMENTS ALL\nNODES ALL\nLINKS ALL\n")
    return path


def ours_cmd(twin, *args):
    """The command line of `twin hydro` with these arguments (run or rewrite)."""
    return [twin, "hydro", *args]


def error_line(stderr):
    """The innermost cause of a failed `twin` run: its last `caused by:` line, or its only line."""
    lines = [l.strip() for l in stderr.strip().splitlines() if l.strip()]
    if not lines:
        return ""
    return re.sub(r"^(caused by|error): ", "", lines[-1])


def compare(inp, twin, workdir, conduit_names=None):
    os.makedirs(workdir, exist_ok=True)
    inp = with_full_report(inp, workdir)
    units = flow_units(inp)
    rpt, out, swmm_wall = run_swmm(inp, workdir)
    ref = read_rpt(rpt, units)
    s_times, s_nodes, s_links, s_subs = read_swmm_out(out, units)
    ours_dir = os.path.join(workdir, "ours")
    shutil.rmtree(ours_dir, ignore_errors=True)
    t0 = time.perf_counter()
    p = subprocess.run(ours_cmd(twin, "run", inp, "--out", ours_dir), capture_output=True, text=True)
    our_wall = time.perf_counter() - t0
    if p.returncode != 0:
        return {"status": "error", "error": error_line(p.stderr)[:300], "swmm_wall": swmm_wall}
    o_times, o_nodes, o_links, o_subs, summ = read_ours(ours_dir)
    # NSE is only meaningful where the reference varies; series that SWMM holds
    # nearly constant (std below DEPTH_FLAT m or FLOW_FLAT m3/s) are checked by
    # their largest absolute difference instead, reported separately.
    depth_nse, peak_err, flow_nse = [], [], []
    flat_depth_err, flat_flow_err = [], []
    for name, (d, _fl) in s_nodes.items():
        if name not in o_nodes:
            continue
        od = o_nodes[name][0]
        if max(d, default=0) <= 0.0 and max(od, default=0) <= 0.0:
            continue
        peak_err.append(abs(max(d) - max(od)))
        if std(d) < DEPTH_FLAT:
            flat_depth_err.append(max(abs(x - y) for x, y in zip(d, od)))
        else:
            depth_nse.append(nse(d, od))
    for name, q in s_links.items():
        if conduit_names is not None and name not in conduit_names:
            continue
        if name not in o_links or max(abs(x) for x in q) < 1e-6:
            continue
        oq = o_links[name]
        if std(q) < max(FLOW_FLAT, 1e-3 * abs(sum(q) / len(q))):
            flat_flow_err.append(max(abs(x - y) for x, y in zip(q, oq)))
        else:
            flow_nse.append(nse(q, oq))
    # Subcatchment runoff: NSE where SWMM's runoff varies, peak relative error.
    sub_nse, sub_peak = [], []
    for name, q in s_subs.items():
        if name not in o_subs or max(q, default=0.0) <= 0.0:
            continue
        oq = o_subs[name]
        sub_peak.append(abs(max(oq) - max(q)) / max(q) * 100.0)
        if std(q) >= max(FLOW_FLAT, 1e-3 * abs(sum(q) / len(q))):
            sub_nse.append(nse(q, oq))
    our_flood = summ.get("flooding_volume_m3", 0.0)
    sw_flood = ref["flooding_m3"]
    if sw_flood > 1.0:
        flood_err = abs(our_flood - sw_flood) / sw_flood * 100.0
    else:
        flood_err = 0.0 if our_flood <= 1.0 else float("inf")
    return {
        "status": "ok",
        "periods": (len(s_times), len(o_times)),
        "depth_nse_min": min(depth_nse, default=float("nan")),
        "depth_nse_med": median(depth_nse),
        "flow_nse_min": min(flow_nse, default=float("nan")),
        "flow_nse_med": median(flow_nse),
        "peak_depth_err_max_m": max(peak_err, default=0.0),
        "flat_series": len(flat_depth_err) + len(flat_flow_err),
        "flat_depth_err_max_m": max(flat_depth_err, default=0.0),
        "flat_flow_err_max_m3s": max(flat_flow_err, default=0.0),
        "subcatchments": len(sub_peak),
        "runoff_nse_min": min(sub_nse, default=float("nan")),
        "runoff_peak_err_pct": max(sub_peak, default=0.0),
        "flood_swmm_m3": sw_flood,
        "flood_ours_m3": our_flood,
        "flood_err_pct": flood_err,
        "runoff_err_swmm": ref["runoff_err"],
        "runoff_err_ours": summ.get("runoff_continuity_error_pct"),
        "routing_err_swmm": ref["routing_err"],
        "routing_err_ours": summ.get("routing_continuity_error_pct"),
        "swmm_wall": swmm_wall,
        "ours_wall": our_wall,
        "ours_run_time": summ.get("run_time_s"),
    }


def writer_roundtrip(inp, twin, workdir):
    """Run SWMM on the original model and on `twin hydro rewrite`'s output; return the
    largest differences in node depth (m) and link flow (m3/s) between the two runs."""
    os.makedirs(workdir, exist_ok=True)
    units = flow_units(inp)
    src = with_full_report(inp, workdir)
    rew = os.path.join(workdir, "rewritten.inp")
    p = subprocess.run(ours_cmd(twin, "rewrite", src, "--out", rew), capture_output=True, text=True)
    if p.returncode != 0:
        return {"status": "error", "error": error_line(p.stderr)[:200]}
    outs = []
    for name, path in (("orig", src), ("rewritten", rew)):
        rpt = os.path.join(workdir, name + ".rpt")
        out = os.path.join(workdir, name + ".out")
        try:
            solver.swmm_run(path, rpt, out)
        except Exception as e:  # SWMM raises on input errors
            return {"status": "error", "error": f"SWMM rejects the {name} file: {e}"[:200]}
        outs.append(read_swmm_out(out, units))
    (_t1, n1, l1, s1), (_t2, n2, l2, s2) = outs
    dd = max((abs(a - b) for k in n1 for a, b in zip(n1[k][0], n2.get(k, ([], []))[0])), default=0.0)
    dq = max((abs(a - b) for k in l1 for a, b in zip(l1[k], l2.get(k, []))), default=0.0)
    dq = max([dq] + [abs(a - b) for k in s1 for a, b in zip(s1[k], s2.get(k, []))])
    missing = len(set(n1) ^ set(n2)) + len(set(l1) ^ set(l2)) + len(set(s1) ^ set(s2))
    return {"status": "ok", "max_ddepth": dd, "max_dflow": dq, "missing": missing}


if __name__ == "__main__":
    r = compare(sys.argv[1], sys.argv[2], sys.argv[3])
    print(json.dumps(r, indent=1))
