"""Rain on an inclined plane with ANUGA (PyPI `anuga`), for the twin-surface comparison.

Runs one resolution and writes a plain-text record that the Rust harness `rain_plane` reads
and scores with the same error code as its own runs:

    meta <key> <value>          run facts (elements, steps, wall time, ANUGA settings)
    Q <t> <cumulative outflow>  m3 left the domain by time t (rain in minus storage)
    S <t> <x> <area> <depth>    per triangle at each snapshot time (centroid x, m2, m)

The plane: length L along x (the bed falls towards x = L), width W, slope S, Manning n,
uniform rain R from t = 0 on a dry bed, free (transmissive) outflow at x = L, walls elsewhere.
The mesh is ANUGA's rectangular_cross: squares of side dx, each cut into 4 triangles.

Usage: python plane.py --dx 5 --out run.txt [--length 200 --width 100 --slope 0.02
       --manning 0.05 --rain-mm-h 50 --t-end 3600 --interval 30 --snapshots 600,3600
       --mode legacy|unified]
"""

import argparse
import os
import resource
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dx", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--length", type=float, default=200.0)
    ap.add_argument("--width", type=float, default=100.0)
    ap.add_argument("--slope", type=float, default=0.02)
    ap.add_argument("--manning", type=float, default=0.05)
    ap.add_argument("--rain-mm-h", type=float, default=50.0)
    ap.add_argument("--t-end", type=float, default=3600.0)
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--snapshots", default="600,3600")
    ap.add_argument("--mode", default="legacy", choices=["legacy", "unified"])
    ap.add_argument("--algorithm", default=None, help="ANUGA flow algorithm (default: ANUGA's)")
    a = ap.parse_args()

    import anuga  # imported late so that --help works without it

    m = round(a.length / a.dx)
    n = round(a.width / a.dx)
    if abs(m * a.dx - a.length) > 1e-9 or abs(n * a.dx - a.width) > 1e-9:
        sys.exit(f"dx {a.dx} does not divide length {a.length} and width {a.width}")
    domain = anuga.rectangular_cross_domain(m, n, len1=a.length, len2=a.width)
    domain.set_name("rain_plane")
    domain.set_datadir(os.path.dirname(os.path.abspath(a.out)))
    domain.set_store(False)  # no .sww output: we time the solver, not the writer
    domain.set_compute_mode(a.mode)
    if a.algorithm:
        domain.set_flow_algorithm(a.algorithm)
    domain.set_quantity("elevation", lambda x, y: a.slope * (a.length - x))
    domain.set_quantity("friction", a.manning)
    domain.set_quantity("stage", expression="elevation")  # dry bed
    rate = a.rain_mm_h / 1000.0 / 3600.0
    anuga.Rate_operator(domain, rate=rate)
    wall = anuga.Reflective_boundary(domain)
    out = anuga.Transmissive_boundary(domain)
    domain.set_boundary({"left": wall, "right": out, "top": wall, "bottom": wall})

    area = domain.get_areas()
    x = domain.centroid_coordinates[:, 0]
    snaps = {float(s) for s in a.snapshots.split(",")}
    total_area = float(area.sum())
    q_lines, s_lines = [], []
    steps = 0
    outside = 0.0  # seconds spent reading results between yields: not solver time
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    for t in domain.evolve(yieldstep=a.interval, finaltime=a.t_end):
        t_in = time.perf_counter()
        steps += domain.number_of_steps  # ANUGA counts the steps of each yield interval
        stage = domain.quantities["stage"].centroid_values
        elev = domain.quantities["elevation"].centroid_values
        depth = stage - elev
        volume = float((depth * area).sum())
        q_lines.append(f"Q {t:.6f} {rate * total_area * t - volume:.9e}\n")
        if any(abs(t - s) < 1e-6 for s in snaps):
            s_lines.extend(
                f"S {t:.6f} {xi:.6f} {ai:.6f} {hi:.9e}\n" for xi, ai, hi in zip(x, area, depth)
            )
        outside += time.perf_counter() - t_in
    wall_s = time.perf_counter() - t0 - outside
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    with open(a.out, "w") as f:
        f.write(f"meta anuga_version {anuga.__version__}\n")
        f.write(f"meta flow_algorithm {domain.get_flow_algorithm()}\n")
        f.write(f"meta timestepping {domain.get_timestepping_method()}\n")
        f.write(f"meta compute_mode {a.mode}\n")
        f.write(f"meta omp_threads {os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
        for key in ("dx", "length", "width", "slope", "manning", "rain_mm_h", "t_end", "interval"):
            f.write(f"meta {key} {getattr(a, key)}\n")
        f.write(f"meta elements {len(area)}\n")
        f.write(f"meta steps {steps}\n")
        f.write(f"meta wall_s {wall_s:.6f}\n")
        f.write(f"meta cpu_s {cpu_s:.6f}\n")
        f.writelines(q_lines)
        f.writelines(s_lines)


if __name__ == "__main__":
    main()
