"""Saturation harness: SUMO 1.28 micro (the reference), SUMO meso with junction control (a
peer) and twin-traffic on the same networks and routes, from light demand to beyond capacity,
with and without link closures in mid-run, compared over the same simulated window.

Networks: signalised grids from netgenerate (30x30 and 60x60 junctions, 200 m blocks), a spider
net, and the Hoan Kiem streets from the OpenStreetMap extract in ../shared/data/hanoi through
netconvert. Demand: randomTrips.py --route-file (seed 42), departures spread over one hour, so
every simulator drives the same routes. Every simulator stops at the same simulated time (the
window), so a case that SUMO micro cannot finish in reasonable wall time is still compared.

Measures, each over the window: trips arrived, mean and 50/90/95th percentile travel time of
the arrived trips, cumulative arrivals every 15 minutes, vehicles still on the network at the
end with their time so far, space-mean network speed per 5-minute interval, the longest queue
on the approaches where SUMO micro queues longest, teleports, and the wall time of each run.

A level is *within capacity* when SUMO micro has arrived at least 95 % of the trips that
departed early enough to arrive (by the window's end less the 95th percentile trip at the
case's lightest level) and its mean trip is at most 1.5 times its mean at that level;
otherwise *beyond capacity*. (SUMO micro teleports a few vehicles out of junction deadlocks
even at light demand on the spider net, so teleports do not mark capacity.) The bar for
levels within capacity: mean travel time within +-10 % of SUMO micro and cumulative arrivals
within +-10 % at every 15-minute mark where SUMO micro has at least 5 % of the trips arrived.
"""
import argparse
import bisect
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

GRID = ["--grid", "--grid.length=200", "--default-junction-type", "traffic_light"]
# name: (how the network is made, [(level name, seconds between departures)], window end (s),
#        closures: (time, number of edges closed near the centre) or None)
CASES = {
    "grid30": (("netgenerate", GRID + ["--grid.number=30"]),
               [("light", 1.0), ("medium", 0.5), ("heavy", 0.25), ("busy", 0.18), ("over", 0.125)],
               5400, None),
    "grid30-closed": (("netgenerate", GRID + ["--grid.number=30"]),
                      [("medium", 0.5), ("heavy", 0.25)], 5400, (1800, 16)),
    "grid60": (("netgenerate", GRID + ["--grid.number=60"]),
               [("light", 0.2), ("medium", 0.1), ("heavy", 0.036), ("over", 0.012)], 3600, None),
    "spider": (("netgenerate", ["--spider", "--spider.arm-number=8", "--spider.circle-number=6",
                                "--spider.space-radius=150"]),
               [("light", 4.0), ("medium", 2.0), ("heavy", 1.0), ("busy", 0.7), ("over", 0.5), ("far-over", 0.3)],
               5400, None),
    "hoankiem": (("osm", None),
                 [("light", 2.0), ("medium", 1.0), ("busy", 0.7), ("heavy", 0.5), ("over", 0.25)],
                 5400, None),
    "hoankiem-closed": (("osm", None), [("medium", 1.0), ("heavy", 0.5)], 5400, (1800, 12)),
    "hoankiem-moto": (("osm", None), [("light", 2.0), ("medium", 1.0), ("heavy", 0.5)], 5400, None),
}
# Mixed traffic as in Hanoi: the share of the trips that are motorcycles (the demo city's is
# 0.80), every vehicle of the same route file, and SUMO micro run with its sublane model
# (lateral resolution 0.8 m; motorcycles keep no lane discipline, `latAlignment="arbitrary"`).
MIX = {"hoankiem-moto": 0.8}
SUBLANE = ["--lateral-resolution", "0.8"]
VTYPES = ('  <vType id="car" vClass="passenger"/>\n'
          '  <vType id="moto" vClass="motorcycle" latAlignment="arbitrary"/>\n')
SIMS = ["SUMO micro", "SUMO meso+jc", "twin-traffic"]
DEPART_END = 3600
SEED = 42
MARK = 900          # arrivals compared every 15 minutes
SPEED_PERIOD = 300  # network speed per 5 minutes
QUEUE_PERIOD = 60   # queues sampled every minute
WORST = 5           # approaches where SUMO micro queues longest


from compare import run  # noqa: E402  (benches/sumo/compare.py, beside this file)


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = (len(sorted_vals) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def make_net(vbin, how, d, osm):
    net = os.path.join(d, "net.net.xml")
    if os.path.exists(net):
        return net
    kind, args = how
    if kind == "netgenerate":
        run([os.path.join(vbin, "netgenerate"), *args, "-o", net], os.path.join(d, "netgenerate.log"))
    else:
        # Cars' streets of the extract, signals where OSM maps them, junction clusters joined,
        # only the largest connected part kept so that every random trip has a route.
        run([os.path.join(vbin, "netconvert"), "--osm-files", osm, "-o", net,
             "--keep-edges.by-vclass", "passenger", "--remove-edges.isolated",
             "--keep-edges.components", "1", "--geometry.remove", "--roundabouts.guess",
             "--junctions.join", "--tls.guess-signals", "--tls.discard-simple", "--tls.join",
             "--no-turnarounds.except-deadend"],
            os.path.join(d, "netconvert.log"))
    return net


def edges_near_centre(net, n):
    """The n non-internal edges whose middles lie nearest the network's centre (ties by id)."""
    mids = []
    for _, el in ET.iterparse(net):
        if el.tag == "edge" and el.get("function") != "internal":
            lane = el.find("lane")
            if lane is not None and lane.get("shape"):
                pts = [tuple(map(float, p.split(",")[:2])) for p in lane.get("shape").split()]
                x = sum(p[0] for p in pts) / len(pts)
                y = sum(p[1] for p in pts) / len(pts)
                mids.append((el.get("id"), x, y))
            el.clear()
    cx = sum(m[1] for m in mids) / len(mids)
    cy = sum(m[2] for m in mids) / len(mids)
    mids.sort(key=lambda m: ((m[1] - cx) ** 2 + (m[2] - cy) ** 2, m[0]))
    return [m[0] for m in mids[:n]], [m[0] for m in mids]


def sumo_additional(d, tag, key, closed, all_edges, at):
    """An additional file with the edge statistics and, when edges close, a rerouter on every
    edge that closes them at `at` (vehicles whose route uses them reroute as they move on)."""
    path = os.path.join(d, f"{tag}.{key}.add.xml")
    ed = os.path.join(d, f"{tag}.{key}.edgedata.xml")
    L = ["<additional>",
         f'  <edgeData id="speed" file="{ed}" period="{SPEED_PERIOD}" excludeEmpty="true"/>']
    if closed:
        L.append(f'  <rerouter id="flood" edges="{" ".join(all_edges)}">')
        L.append(f'    <interval begin="{at}" end="1000000">')
        L.extend(f'      <closingReroute id="{e}"/>' for e in closed)
        L.append("    </interval>")
        L.append("  </rerouter>")
    L.append("</additional>")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    return path, ed


def mixed_routes(src, dst, share):
    """The routes of `src` with every vehicle typed: a motorcycle where the vehicle's number
    (its position in the file) falls in the first `share` of each block of 20, else a car."""
    text = open(src).read()
    k = [0]

    def typed(m):
        i = k[0]
        k[0] += 1
        t = "moto" if (i % 20) < round(20 * share) else "car"
        return f'<vehicle type="{t}" '
    body = re.sub(r"<vehicle ", typed, text)
    body = re.sub(r"(<routes[^>]*>\n)", lambda m: m.group(1) + VTYPES, body, count=1)
    with open(dst, "w") as f:
        f.write(body)
    return dst


def depart_hist(routes):
    """Departures per minute of a route file."""
    h = [0] * (DEPART_END // 60 + 1)
    for _, el in ET.iterparse(routes):
        if el.tag == "vehicle":
            h[min(len(h) - 1, int(float(el.get("depart")) // 60))] += 1
            el.clear()
    return h


def sumo_tripinfo(path):
    out = {}
    for _, el in ET.iterparse(path):
        if el.tag == "tripinfo":
            out[el.get("id")] = (float(el.get("depart")), float(el.get("arrival")), float(el.get("duration")))
            el.clear()
    return out


def sumo_speeds(path):
    """Space-mean network speed (km/h) per interval begin: vehicle-seconds weighted."""
    out = {}
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag == "interval":
            ss = sp = 0.0
            for e in el.findall("edge"):
                s = float(e.get("sampledSeconds", "0"))
                if s > 0 and e.get("speed") is not None:
                    ss += s
                    sp += s * float(e.get("speed"))
            if ss > 0:
                out[float(el.get("begin"))] = 3.6 * sp / ss
            el.clear()
    return out


def sumo_queues(path):
    """Longest queue (m) on each edge over the samples: lanes of an edge summed per sample."""
    best = {}
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag == "data":
            per_edge = {}
            for ln in el.iter("lane"):
                lid = ln.get("id")
                if lid.startswith(":"):
                    continue
                e = lid.rsplit("_", 1)[0]
                per_edge[e] = per_edge.get(e, 0.0) + float(ln.get("queueing_length", "0"))
            for e, q in per_edge.items():
                if q > best.get(e, 0.0):
                    best[e] = q
            el.clear()
    return best


def sumo_running_at_end(log):
    m = re.search(r"Vehicles:\s*\n\s*Inserted: (\d+)[^\n]*\n\s*Running: (\d+)", log)
    return int(m.group(2)) if m else None


def measures(trips, window, n_routes):
    """From {id: (depart, arrival, duration)} of the trips arrived by the window's end."""
    durs = sorted(v[2] for v in trips.values() if v[1] <= window + 1e-6)
    arr = sorted(v[1] for v in trips.values() if v[1] <= window + 1e-6)
    marks = list(range(MARK, int(window) + 1, MARK))
    by_mark = [bisect.bisect_right(arr, m + 1e-6) for m in marks]
    mean = sum(durs) / len(durs) if durs else float("nan")
    return dict(arrived=len(durs), mean=mean, p50=pct(durs, 50), p90=pct(durs, 90),
                p95=pct(durs, 95), marks=marks, by_mark=by_mark, n=n_routes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--traffic-run", required=True)
    ap.add_argument("--osm", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--write-only", action="store_true",
                    help="only rewrite the markdown from the JSON file (departures added where absent)")
    ap.add_argument("--levels", nargs="*", default=None, help="only these levels of each case")
    ap.add_argument("--twin-only", action="store_true",
                    help="rerun twin-traffic and its speed peer SUMO meso+jc on the levels already in the "
                         "JSON file, keeping SUMO micro's figures (the reference, independent of the engine)")
    ap.add_argument("--keep", action="store_true",
                    help="skip the case levels already in the JSON file (same engine build assumed)")
    a = ap.parse_args()
    vbin = os.path.join(a.venv, "bin")
    import sumo  # noqa: installed in the venv
    random_trips = os.path.join(os.path.dirname(sumo.__file__), "tools", "randomTrips.py")
    version = subprocess.run([os.path.join(vbin, "sumo"), "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    results = json.load(open(a.json)) if os.path.exists(a.json) else {}
    if a.write_only:
        for tag, x in results.items():
            if "departs_per_min" not in x:
                lv = x["level"]
                x["departs_per_min"] = depart_hist(os.path.join(a.work, x["case"].split("-")[0], f"{lv}.rou.xml"))
        with open(a.json, "w") as f:
            json.dump(results, f)
        write(a.out, results, version)
        return
    for case in a.cases:
        how, levels, window, closure = CASES[case]
        base = case.split("-")[0]
        nd = os.path.join(a.work, base)
        os.makedirs(nd, exist_ok=True)
        net = make_net(vbin, how, nd, a.osm)
        closed, all_edges = [], []
        if closure:
            closed, all_edges = edges_near_centre(net, closure[1])
        d = os.path.join(a.work, case)
        os.makedirs(d, exist_ok=True)
        for level, period in levels:
            tag = f"{case}-{level}"
            if ((a.keep and tag in results) or (a.levels and level not in a.levels)
                    or (a.twin_only and tag not in results)):
                continue
            routes = os.path.join(nd, f"{level}.rou.xml")
            if not os.path.exists(routes):
                run([os.path.join(vbin, "python"), random_trips, "-n", net, "-b", "0", "-e",
                     str(DEPART_END), "-p", str(period), "--seed", str(SEED), "--validate",
                     "-o", os.path.join(nd, f"{level}.trips.xml"), "--route-file", routes],
                    os.path.join(nd, f"{level}.randomTrips.log"))
            if case in MIX:
                routes = mixed_routes(routes, os.path.join(d, f"{level}.rou.xml"), MIX[case])
            n_routes = sum(1 for _ in ET.iterparse(routes) if _[1].tag == "vehicle")
            hist = depart_hist(routes)
            res = {}
            reuse = a.twin_only and tag in results
            if reuse:
                res = {"SUMO micro": results[tag]["res"]["SUMO micro"]}
            for sim, key, extra in [("SUMO micro", "micro", []),
                                    ("SUMO meso+jc", "mesojc", ["--mesosim", "--meso-junction-control"])]:
                if sim in res:
                    continue
                add, ed = sumo_additional(d, level, key, closed, all_edges, closure[0] if closure else 0)
                ti = os.path.join(d, f"{level}.{key}.tripinfo.xml")
                q = os.path.join(d, f"{level}.{key}.queue.xml")
                qargs = ["--queue-output", q, "--queue-output.period", str(QUEUE_PERIOD)] if key == "micro" else []
                if key == "micro" and case in MIX:
                    qargs += SUBLANE
                wall, rss, text = run([os.path.join(vbin, "sumo"), "-n", net, "-r", routes, "-a", add,
                                       "--end", str(window), "--tripinfo-output", ti, "--no-step-log",
                                       "--duration-log.statistics", "--seed", str(SEED), *qargs, *extra],
                                      os.path.join(d, f"{level}.{key}.log"))
                trips = sumo_tripinfo(ti)
                r = measures(trips, window, n_routes)
                ups = re.search(r"UPS: ([0-9.]+)", text)
                r.update(wall=wall, rss=rss, ups=float(ups.group(1)) if ups else float("nan"),
                         teleports=len(re.findall(r"Teleporting vehicle", text)),
                         running=sumo_running_at_end(text),
                         speeds={str(int(k)): v for k, v in sumo_speeds(ed).items()})
                if key == "micro":
                    r["queues"] = sumo_queues(q)
                res[sim] = r
                print(tag, sim, {k: r[k] for k in ("arrived", "mean", "teleports", "wall")}, flush=True)
            out_dir = os.path.join(d, f"{level}.twin")
            shutil.rmtree(out_dir, ignore_errors=True)
            closes = [x for e in closed for x in ("--close", f"{e}@{closure[0]}")]
            wall, rss, text = run([a.traffic_run, "--net", net, "--routes", routes, "--out", out_dir,
                                   "--end", str(window), "--queue-period", str(QUEUE_PERIOD), *closes],
                                  os.path.join(d, f"{level}.twin.log"))
            with open(os.path.join(out_dir, "trips.csv")) as f:
                trips = {x["id"]: (float(x["depart"]), float(x["arrival"]), float(x["duration"]))
                         for x in csv.DictReader(f)}
            r = measures(trips, window, n_routes)
            summ = json.load(open(os.path.join(out_dir, "summary.json")))
            with open(os.path.join(out_dir, "unfinished.csv")) as f:
                running = sum(1 for _ in csv.DictReader(f))
            with open(os.path.join(out_dir, "intervals.csv")) as f:
                speeds = {str(int(float(x["begin"]))): float(x["speed_kmh"])
                          for x in csv.DictReader(f) if x["speed_kmh"]}
            with open(os.path.join(out_dir, "queues.csv")) as f:
                queues = {x["link"]: float(x["max_queue_m"]) for x in csv.DictReader(f)}
            r.update(wall=wall, rss=rss, ups=summ["updates_per_second"], teleports=summ["teleports"],
                     running=running, aborted=summ["aborted"], speeds=speeds, queues=queues)
            res["twin-traffic"] = r
            print(tag, "twin-traffic", {k: r[k] for k in ("arrived", "mean", "teleports", "wall")}, flush=True)
            results[tag] = dict(case=case, level=level, period=period, window=window,
                                closed=closed, closed_at=closure[0] if closure else None,
                                vehicles=n_routes, departs_per_min=hist, res=res)
            with open(a.json, "w") as f:
                json.dump(results, f)
    write(a.out, results, version)


def verdict(res, light, hist, window):
    """Within capacity: SUMO micro arrives at least 95 % of the trips that departed early
    enough to arrive (by the window's end less the 95th percentile trip at the case's lightest
    level, `light`) and its mean trip is at most 1.5 times its mean at that level."""
    micro = res["SUMO micro"]
    latest = window - light["p95"]
    could = sum(c for i, c in enumerate(hist) if (i + 1) * 60 <= latest) if hist else micro["n"]
    within = micro["arrived"] >= 0.95 * could and micro["mean"] <= 1.5 * light["mean"]
    tw = res["twin-traffic"]
    dmean = 100 * (tw["mean"] - micro["mean"]) / micro["mean"]
    worst = 0.0
    for m_micro, m_tw in zip(micro["by_mark"], tw["by_mark"]):
        if m_micro >= 0.05 * micro["n"]:
            worst = max(worst, 100 * (m_tw - m_micro) / m_micro, key=abs)
    ok = abs(dmean) <= 10 and abs(worst) <= 10
    return within, dmean, worst, ok


def speed_gap(res, sim):
    """Mean absolute difference of the 5-minute network speeds against SUMO micro (%), over the
    intervals both have, and the speed of each in SUMO micro's slowest interval."""
    m = res["SUMO micro"]["speeds"]
    s = res[sim]["speeds"]
    common = [k for k in m if k in s]
    if not common:
        return float("nan"), float("nan"), float("nan")
    gap = sum(abs(s[k] - m[k]) / m[k] for k in common) / len(common) * 100
    slow = min(common, key=lambda k: m[k])
    return gap, m[slow], s[slow]


def write(path, results, version):
    L = ["## Saturation: from light demand to beyond capacity, with closures in mid-run\n"]
    L.append(f"Reference: {version}, micro (the reference) and meso with `--meso-junction-control` (a peer). "
             "Generated by `bash benches/sumo/saturation.sh` (benches/sumo/saturation.py; raw figures in "
             "benches/results/sumo-saturation.json). Departures over one hour from `randomTrips.py --route-file` "
             f"(seed {SEED}); every simulator stops at the same simulated time (the window) and is measured "
             "over it. *Within capacity*: SUMO micro arrives ≥ 95 % of the trips that departed early enough "
             "to arrive (by the window's end less the 95th percentile trip at the case's lightest level) and "
             "its mean trip is at most 1.5 × its mean at that level. Bar within capacity: mean travel time within ±10 % of SUMO micro and "
             "arrivals within ±10 % at every 15-minute mark where micro has ≥ 5 % of the trips arrived. "
             "Closures: the edges nearest the network's centre close at the time given; SUMO reroutes "
             "through a `closingReroute` on every edge, twin-traffic reroutes every vehicle whose route "
             "uses them. Network speed: space-mean over 5-minute intervals (SUMO: edge data, "
             "vehicle-seconds weighted; twin-traffic: link traversals completed). Wall times are from one "
             "run on a shared 2-core machine.\n")
    L.append("| case | trips | window (s) | simulator | arrived | still running | stranded | mean (s) | p50 | p90 | "
             "p95 | Δ mean vs micro | worst Δ arrivals at a mark | teleports | speed gap vs micro | wall (s) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    V = []

    def order(item):
        x = item[1]
        names = list(CASES)
        levels = [lv for lv, _ in CASES[x["case"]][1]] if x["case"] in CASES else []
        return (names.index(x["case"]) if x["case"] in names else len(names),
                levels.index(x["level"]) if x["level"] in levels else len(levels))
    for tag, x in sorted(results.items(), key=order):
        res = x["res"]
        micro = res["SUMO micro"]
        for sim in SIMS:
            r = res[sim]
            dm = "" if sim == "SUMO micro" else f"{100 * (r['mean'] - micro['mean']) / micro['mean']:+.1f} %"
            worst = ""
            if sim != "SUMO micro":
                w = 0.0
                for a_m, a_s in zip(micro["by_mark"], r["by_mark"]):
                    if a_m >= 0.05 * micro["n"]:
                        w = max(w, 100 * (a_s - a_m) / a_m, key=abs)
                worst = f"{w:+.1f} %"
            gap = "" if sim == "SUMO micro" else f"{speed_gap(res, sim)[0]:.1f} %"
            closed = f", {len(x['closed'])} edges closed at {x['closed_at']} s" if x["closed"] else ""
            run_ = "" if r.get("running") is None else f"{r['running']:,}"
            stranded = f"{r['aborted']:,}" if "aborted" in r else ""
            L.append(f"| {tag}{closed} | {x['vehicles']:,} | {x['window']} | {sim} | {r['arrived']:,} | {run_} | {stranded} | "
                     f"{r['mean']:.1f} | {r['p50']:.0f} | {r['p90']:.0f} | {r['p95']:.0f} | {dm} | {worst} | "
                     f"{r['teleports']:,} | {gap} | {r['wall']:.1f} |")
        first = f"{x['case']}-{CASES[x['case']][1][0][0]}" if x["case"] in CASES else tag
        light = results.get(first, x)["res"]["SUMO micro"]
        within, dmean, worst, ok = verdict(res, light, x.get("departs_per_min"), x["window"])
        gap, ms, ts = speed_gap(res, "twin-traffic")
        ratio = res["SUMO meso+jc"]["wall"] / max(1e-9, res["twin-traffic"]["wall"])
        q = sorted(micro["queues"].items(), key=lambda kv: (-kv[1], kv[0]))[:WORST]
        qs = ", ".join(f"{micro_q:.0f}/{res['twin-traffic']['queues'].get(e, 0.0):.0f}" for e, micro_q in q)
        V.append(f"| {tag} | {'within' if within else 'beyond'} | {dmean:+.1f} % | {worst:+.1f} % | "
                 f"{'pass' if ok else ('FAIL' if within else 'gap, see below')} | {ms:.1f} / {ts:.1f} | {qs} | "
                 f"{ratio:.1f}× |")
    L.append("\n### Verdict per case\n")
    L.append("| case | capacity | Δ mean vs micro | worst Δ arrivals | bar | slowest 5 min, km/h (micro / twin) | "
             f"longest queues, m, on micro's {WORST} worst approaches (micro/twin) | wall: meso+jc / twin |")
    L.append("|---|---|---|---|---|---|---|---|")
    L.extend(V)
    L.append("")
    text = "\n".join(L) + "\n"
    start, end = "<!-- saturation:begin -->", "<!-- saturation:end -->"
    old = open(path).read() if os.path.exists(path) else ""
    if start in old and end in old:
        new = old[:old.index(start) + len(start)] + "\n" + text + old[old.index(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + start + "\n" + text + end + "\n"
    with open(path, "w") as f:
        f.write(new)
    print("wrote", path)


if __name__ == "__main__":
    main()
