"""Junction capacity against SUMO 1.28 micro: how many vehicles of a saturated stream that must
give way pass one priority junction in an hour, as the flow on the streams it yields to grows.

This is the classic gap-acceptance capacity (the minor stream's capacity against the conflicting
major flow, HCM chapter 20 / Siegloch), measured rather than assumed: the same network and
routes through SUMO micro (the reference) and twin-traffic, counting the yielding stream's
vehicles that arrive between minute 10 and minute 60 (the first ten minutes fill the queue).

Network (netconvert from plain XML): a four-arm priority junction, 300 m arms of one lane each
way at 50 km/h; the west-east road is major (priority 2), the south-north road minor (priority 1).
Right-hand traffic. Streams measured, each offered 3,000 vehicles an hour so that it queues:
  minor-through  S->N, crossing both major directions
  minor-left     S->W, crossing the eastbound stream and merging into the westbound one
  minor-right    S->E, merging into eastbound traffic
  major-left     W->N, turning left across the opposing E->W stream
Conflicting flow: the same flow each way on the major road (W->E and E->W), from 0 to 900 an
hour. A level agrees when twin-traffic's capacity is within 10 % of SUMO micro's, or within 30
vehicles an hour where SUMO's is below 300.
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

from compare import run  # noqa: E402  (benches/sumo/compare.py, beside this file)

ARM = 300.0
SPEED = 13.89
OFFER = 1.2        # seconds between departures of the measured stream (3,000 an hour)
WARM = 600         # seconds before counting
END = 3600
STREAMS = {
    "minor-through": ("S2C", "C2N"),
    "minor-left": ("S2C", "C2W"),
    "minor-right": ("S2C", "C2E"),
    "major-left": ("W2C", "C2N"),
}
MAJOR = [("W2C", "C2E"), ("E2C", "C2W")]
FLOWS = [0, 150, 300, 450, 600, 750, 900]


def make_net(vbin, d):
    net = os.path.join(d, "net.net.xml")
    if os.path.exists(net):
        return net
    nodes = {"C": (0, 0), "W": (-ARM, 0), "E": (ARM, 0), "N": (0, ARM), "S": (0, -ARM)}
    with open(os.path.join(d, "n.nod.xml"), "w") as f:
        f.write("<nodes>\n")
        for k, (x, y) in nodes.items():
            t = "priority" if k == "C" else "dead_end"
            f.write(f'  <node id="{k}" x="{x}" y="{y}" type="{t}"/>\n')
        f.write("</nodes>\n")
    with open(os.path.join(d, "n.edg.xml"), "w") as f:
        f.write("<edges>\n")
        for arm in "WENS":
            pr = 2 if arm in "WE" else 1
            f.write(f'  <edge id="{arm}2C" from="{arm}" to="C" priority="{pr}" numLanes="1" speed="{SPEED}"/>\n')
            f.write(f'  <edge id="C2{arm}" from="C" to="{arm}" priority="{pr}" numLanes="1" speed="{SPEED}"/>\n')
        f.write("</edges>\n")
    run([os.path.join(vbin, "netconvert"), "-n", os.path.join(d, "n.nod.xml"),
         "-e", os.path.join(d, "n.edg.xml"), "--no-turnarounds", "-o", net],
        os.path.join(d, "netconvert.log"))
    return net


def make_routes(d, stream, flow):
    """Vehicles in departure order: the measured stream every OFFER seconds, each major
    direction at `flow` an hour evenly spaced (the two directions offset by half a headway)."""
    vehs = []
    t = 0.0
    while t < END:
        vehs.append((t, "m", STREAMS[stream]))
        t += OFFER
    if flow > 0:
        h = 3600.0 / flow
        for k, r in enumerate(MAJOR):
            t = k * h / 2
            while t < END:
                vehs.append((t, "q", r))
                t += h
    vehs.sort(key=lambda v: (v[0], v[1]))
    path = os.path.join(d, f"{stream}-{flow}.rou.xml")
    with open(path, "w") as f:
        f.write("<routes>\n")
        for i, (t, kind, r) in enumerate(vehs):
            f.write(f'  <vehicle id="{kind}{i}" depart="{t:.2f}" departLane="best" departSpeed="max">'
                    f'<route edges="{" ".join(r)}"/></vehicle>\n')
        f.write("</routes>\n")
    return path


def count(arrivals):
    """Measured-stream vehicles an hour that arrived in [WARM, END)."""
    n = sum(1 for vid, a in arrivals if vid.startswith("m") and WARM <= a < END)
    return n * 3600.0 / (END - WARM)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--traffic-run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    vbin = os.path.join(a.venv, "bin")
    d = os.path.join(a.work, "junction")
    os.makedirs(d, exist_ok=True)
    net = make_net(vbin, d)
    version = subprocess.run([os.path.join(vbin, "sumo"), "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    rows = []
    for stream in STREAMS:
        for flow in FLOWS:
            routes = make_routes(d, stream, flow)
            ti = os.path.join(d, f"{stream}-{flow}.tripinfo.xml")
            run([os.path.join(vbin, "sumo"), "-n", net, "-r", routes, "--end", str(END),
                 "--tripinfo-output", ti, "--no-step-log", "--seed", "42"],
                os.path.join(d, f"{stream}-{flow}.micro.log"))
            s = [(el.get("id"), float(el.get("arrival"))) for _, el in ET.iterparse(ti)
                 if el.tag == "tripinfo"]
            out = os.path.join(d, f"{stream}-{flow}.twin")
            shutil.rmtree(out, ignore_errors=True)
            run([a.traffic_run, "--net", net, "--routes", routes, "--out", out, "--end", str(END)],
                os.path.join(d, f"{stream}-{flow}.twin.log"))
            with open(os.path.join(out, "trips.csv")) as f:
                t = [(x["id"], float(x["arrival"])) for x in csv.DictReader(f)]
            cs, ct = count(s), count(t)
            ok = abs(ct - cs) <= max(0.10 * cs, 30.0 if cs < 300 else 0.0)
            rows.append((stream, flow, cs, ct, ok))
            print(f"{stream:14s} {flow:4d}/h  SUMO micro {cs:7.1f}  twin-traffic {ct:7.1f}  "
                  f"{'ok' if ok else 'DIFF'}", flush=True)
    write(a.out, rows, version)
    if a.json:
        import json
        with open(a.json, "w") as f:
            json.dump([dict(stream=r[0], flow=r[1], micro=r[2], twin=r[3], ok=r[4]) for r in rows], f)


def write(path, rows, version):
    L = ["# Junction capacity: a stream that gives way, against SUMO micro", "",
         f"Reference: Eclipse {version} micro. Generated by `bash benches/sumo/junction_capacity.sh` "
         "(benches/sumo/junction_capacity.py). One priority junction, 300 m arms of one lane each way "
         "at 50 km/h, the west-east road major. The measured stream is offered 3,000 vehicles an "
         "hour so that it queues; the table gives the vehicles an hour it passes (arrivals "
         "between minute 10 and 60) against the flow on each direction of the major road. "
         "Bar: within 10 % of SUMO micro, or within 30 an hour where SUMO's is below 300.", "",
         "| stream | major flow each way (veh/h) | SUMO micro (veh/h) | twin-traffic (veh/h) | Δ | within bar |",
         "|---|---|---|---|---|---|"]
    for stream, flow, cs, ct, ok in rows:
        dl = f"{100 * (ct - cs) / cs:+.1f} %" if cs else ""
        L.append(f"| {stream} | {flow} | {cs:.0f} | {ct:.0f} | {dl} | {'yes' if ok else 'no'} |")
    n_ok = sum(1 for r in rows if r[4])
    L += ["", f"{n_ok} of {len(rows)} levels within the bar."]
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
