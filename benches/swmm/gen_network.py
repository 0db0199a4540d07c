"""Generate a synthetic dendritic storm-sewer network with N junctions as a SWMM .inp.

Junction k drains to junction (k-1)//3 (a ternary tree); junction 0 drains to
the outfall. Pipe diameters grow with the number of upstream junctions; inverts
fall 0.3 m per level plus the pipe slope. Every leaf receives the same inflow
hydrograph (a 2-hour triangular storm, peak 15 L/s), so the run exercises
filling, surcharge at the bottlenecks and recession. Deterministic.
"""
import math
import sys


def generate(n, path):
    parent = [None] + [(k - 1) // 3 for k in range(1, n)]
    children = [[] for _ in range(n)]
    for k in range(1, n):
        children[parent[k]].append(k)
    upstream = [1] * n
    for k in range(n - 1, 0, -1):
        upstream[parent[k]] += upstream[k]
    depth = [0] * n
    for k in range(1, n):
        depth[k] = depth[parent[k]] + 1
    maxd = max(depth)
    length = 60.0
    invert = [0.0] * n
    for k in range(n):
        invert[k] = 5.0 + (maxd - depth[k]) * 0.35 + 0.2 * ((k * 7919) % 10) / 10.0
    # make sure each pipe slopes down toward the outfall
    for k in range(1, n):
        p = parent[k]
        if invert[k] <= invert[p] + 0.05:
            invert[k] = invert[p] + 0.05 + 0.002 * length
    diam = []
    for k in range(n):
        q = 0.015 * upstream[k] ** 0.8  # m3/s design flow, attenuated
        d = (q / 0.3) ** 0.4  # rough Manning sizing
        d = min(max(0.3, round(d * 10) / 10.0), 3.0)
        diam.append(d)
    lines = []
    w = lines.append
    w("[TITLE]\nSynthetic dendritic network, %d junctions\n" % n)
    w("[OPTIONS]\nFLOW_UNITS CMS\nFLOW_ROUTING DYNWAVE\nSTART_DATE 01/01/2024\nSTART_TIME 00:00:00\n"
      "REPORT_START_DATE 01/01/2024\nREPORT_START_TIME 00:00:00\nEND_DATE 01/01/2024\nEND_TIME 06:00:00\n"
      "REPORT_STEP 00:05:00\nWET_STEP 00:05:00\nDRY_STEP 01:00:00\nROUTING_STEP 5\nVARIABLE_STEP 0.75\n"
      "MINIMUM_STEP 0.5\nINERTIAL_DAMPING PARTIAL\nNORMAL_FLOW_LIMITED BOTH\nALLOW_PONDING NO\n"
      "LINK_OFFSETS DEPTH\nTHREADS 1\n")
    w("[JUNCTIONS]")
    for k in range(n):
        w("J%d %.3f %.2f 0 0 0" % (k, invert[k], 3.0 + diam[k]))
    w("\n[OUTFALLS]\nOUT %.3f FREE NO\n" % (invert[0] - 0.3))
    w("[CONDUITS]")
    for k in range(1, n):
        w("C%d J%d J%d %.1f 0.013 0 0 0 0" % (k, k, parent[k], length))
    w("C0 J0 OUT %.1f 0.013 0 0 0 0" % length)
    w("\n[XSECTIONS]")
    for k in range(n):
        w("C%d CIRCULAR %.2f 0 0 0 1" % (k, diam[k]))
    w("\n[INFLOWS]")
    for k in range(n):
        if not children[k]:
            w("J%d FLOW STORM FLOW 1.0 %.3f 0.001" % (k, 0.8 + 0.4 * ((k * 31) % 7) / 6.0))
    w("\n[TIMESERIES]\nSTORM 0:00 0\nSTORM 0:30 0.005\nSTORM 1:00 0.015\nSTORM 2:00 0.004\nSTORM 3:00 0\n")
    w("[REPORT]\nNODES ALL\nLINKS ALL\n")
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    generate(int(sys.argv[1]), sys.argv[2])
