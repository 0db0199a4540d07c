"""Paired wall-clock timing of SWMM 5.2.4 and `twin hydro run` on one model.

Runs SWMM, then ours, then SWMM, then ours ... (interleaved so both see the
same machine load), records the 1-minute load average before each pair and
appends a section with every pair, the median ratio and its range to the
results file.

usage: paired.py --twin BIN --model FILE --pairs N --work DIR --out FILE [--label TEXT]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--twin", required=True, help="the twin binary (target/release/twin)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", default=None)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    inp = compare.with_full_report(a.model, a.work)
    rows = []
    for k in range(a.pairs):
        load = os.getloadavg()[0]
        _rpt, _out, swmm = compare.run_swmm(inp, a.work)
        t0 = time.perf_counter()
        subprocess.run(compare.ours_cmd(a.twin, "run", inp, "--out", os.path.join(a.work, "ours")), check=True,
                       capture_output=True)
        ours = time.perf_counter() - t0
        rows.append((load, swmm, ours))
        print(f"pair {k + 1}: load {load:.2f}  SWMM {swmm:.2f} s  ours {ours:.2f} s  "
              f"ratio {swmm / ours:.2f}", file=sys.stderr, flush=True)
    ratios = [s / o for _l, s, o in rows]
    label = a.label or os.path.basename(a.model)
    with open(a.out, "a") as f:
        f.write(f"\n## Paired timing: {label}\n\n")
        f.write(f"SWMM then ours, {a.pairs} times in a row on the same files ({os.cpu_count()} cores, "
                "shared with other work); load = 1-minute load average before the pair.\n\n")
        f.write("| pair | load | SWMM (s) | ours (s) | SWMM / ours |\n|---|---|---|---|---|\n")
        for k, (load, s, o) in enumerate(rows):
            f.write(f"| {k + 1} | {load:.2f} | {s:.2f} | {o:.2f} | {s / o:.2f}x |\n")
        f.write(f"\nMedian {statistics.median(ratios):.2f}x, range {min(ratios):.2f}–{max(ratios):.2f}x "
                f"over {a.pairs} pairs; load {min(r[0] for r in rows):.2f}–{max(r[0] for r in rows):.2f}.\n")


if __name__ == "__main__":
    main()
