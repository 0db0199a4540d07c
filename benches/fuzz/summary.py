"""Table of a fuzz campaign from libFuzzer's logs (benches/fuzz/run.sh); exit 1 on any failure."""
import argparse
import os
import re
import subprocess
import sys

WHAT = {
    "swmm_inp": "SWMM .inp, parsed and built into an engine",
    "rain_file": "SWMM rain gauge files (SWMM, NWS, AES, CMC layouts)",
    "climate_file": "SWMM climate files (user-prepared, GHCN-Daily), 400 days read",
    "sumo_net": "SUMO .net.xml, parsed and built into a network",
    "sumo_routes": "SUMO routes, trips and flows",
    "osm_xml": "OpenStreetMap XML, parsed and built into city layers",
    "osm_pbf": "OpenStreetMap PBF, parsed and built into city layers",
    "rain_csv": "rain CSV (`flood run --rain`)",
    "points_csv": "points CSV (`flood run --gauges`)",
    "gpkg_metadata": "city GeoPackage metadata tables, read back by `read_city`",
    "scenario_toml": "what-if scenario TOML and its design storm",
    "gauge_rain": "rain gauge list and daily totals (`[rain] historical`)",
    "cityjson": "CityJSON buildings (`twin import cityjson`)",
    "citygml": "CityGML buildings (`twin import citygml`)",
    "ifc": "IFC buildings over the STEP reader (`twin import ifc`)",
    "snapshot": "sensor snapshots and SensorThings Observations, then QC (`twin sensors`)",
}


def parse(log, rc):
    text = open(log, errors="replace").read()
    stat = dict(re.findall(r"stat::(\w+):\s+(\d+)", text))
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    fail = None
    for pat, name in [("ERROR: libFuzzer: timeout", "hang"), ("out-of-memory", "out of memory"),
                      ("deadly signal", "crash"), ("panicked", "panic")]:
        if pat in text:
            fail = name
            break
    if fail is None and rc != 0:
        fail = f"exit {rc}"
    return stat, (cov[-1] if cov else ("?", "?", "?")), fail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logs", required=True)
    ap.add_argument("--secs", type=int, required=True)
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("targets", nargs="+")
    a = ap.parse_args()
    rows, failed = [], []
    for t in a.targets:
        rc = int(open(os.path.join(a.logs, t + ".rc")).read().strip() or 1)
        stat, (cov, ft, corp), fail = parse(os.path.join(a.logs, t + ".log"), rc)
        execs = int(stat.get("number_of_executed_units", 0))
        rows.append(f"| `{t}` | {WHAT.get(t, '')} | {execs:,} | {stat.get('average_exec_per_sec', '?')} | "
                    f"{cov} | {ft} | {corp} | {stat.get('peak_rss_mb', '?')} | {fail or 'none'} |")
        if fail:
            failed.append(f"{t}: {fail}")
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    # A subset of the targets is named as the command that ran it named it.
    targets_env = f"TARGETS=\"{' '.join(a.targets)}\" " if set(a.targets) != set(WHAT) else ""
    L = ["# Fuzzing the parsers of user files\n",
         f"Made by `{targets_env}SECS={a.secs} JOBS={a.jobs} bash benches/fuzz/run.sh`: libFuzzer through cargo fuzz "
         f"(`fuzz/`, no sanitizer, debug assertions and overflow checks on), {a.secs} s per target, "
         f"{a.jobs} at a time, each input limited to 64 KiB, 10 s and 4 GiB; seeds from `fuzz/corpus/`. "
         f"{rustc}; {cpu}. A failure is a panic, a crash, an input taking over 10 s (a hang) or "
         "memory past the limit.\n",
         "Coverage is libFuzzer's count of instrumented edges reached (`cov`) and of features (`ft`); "
         "`corpus` is the inputs kept for reaching new ones.\n",
         "| target | what it reads | executions | per second | cov | ft | corpus | peak RSS (MB) | failures |",
         "|---|---|---:|---:|---:|---:|---:|---:|---|"] + rows
    L.append("")
    L.append("A short pass runs every target for 15 s (`SECS=15 OUT=/tmp/fuzz-short.md bash benches/fuzz/run.sh`); "
             "CI does not fuzz.")
    open(a.out, "w").write("\n".join(L) + "\n")
    print("\n".join(rows))
    if failed:
        print("fuzz: FAILED: " + "; ".join(failed), file=sys.stderr)
        sys.exit(1)
    print(f"fuzz: {len(rows)} targets, no failure; wrote {a.out}")


if __name__ == "__main__":
    main()
