#!/usr/bin/env bash
# Load on `twin serve` over loopback (crates/server/examples/server_load.rs, bounded: a fixed
# number of clients for a fixed time). The demo district at 30 m served with a live folder:
#   1. feature queries alone (a 500 m bbox, 100 features a page, one client): the baseline;
#   2. readings posted over HTTP (CONNS clients, BATCH readings a request, through QC into
#      SQLite with WAL and synchronous FULL, acknowledged) while one client queries features:
#      readings/s and the queries' p50/p99 under that load;
#   3. WS_CLIENTS WebSocket clients of /live/stream while events are committed 50 ms apart:
#      how many got every event once, commit-to-receipt latency;
#   4. kill -9 of the server under the posting load, then a restart: every acknowledged
#      reading is in the store (counted).
# Writes OUT (benches/results/server.md). MQTT ingest is benches/live/run.sh's.
#
#   bash benches/server/run.sh
#   SECONDS_LOAD=10 CONNS=4 BATCH=500 WS_CLIENTS=200 bash benches/server/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
SECONDS_LOAD="${SECONDS_LOAD:-15}" CONNS="${CONNS:-4}" BATCH="${BATCH:-500}"
WS_CLIENTS="${WS_CLIENTS:-200}" WS_EVENTS="${WS_EVENTS:-40}"
OUT="${OUT:-$root/benches/results/server.md}"
cd "$root"
cargo build --release -q -p twin-cli
cargo build --release -q -p twin-server --example server_load
twin=target/release/twin
load=target/release/examples/server_load
WORK="${WORK:-/tmp/twin-server-bench}"
rm -rf "$WORK" && mkdir -p "$WORK/live"
$twin demo-city --cell-m 30 --out "$WORK/c.gpkg" >/dev/null
LOADER=loader-secret-Jd20 VIEWER=viewer-secret-Kt51
{
  echo "[[token]]"; echo 'name = "loader"'; echo 'role = "operator"'; echo 'department = "SNNMT"'
  echo "hash = \"$($twin serve hash-token "$LOADER")\""; echo "rate_per_s = 100000"
  echo "[[token]]"; echo 'name = "viewer"'; echo 'role = "viewer"'; echo 'department = "SXD"'
  echo "hash = \"$($twin serve hash-token "$VIEWER")\""; echo "rate_per_s = 100000"
} >"$WORK/tokens.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
serve() {
  $twin serve --city "$WORK/c.gpkg" --live "$WORK/live" --tokens "$WORK/tokens.toml" \
    --listen "127.0.0.1:$port" 2>>"$WORK/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "$url/health" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "twin serve did not start" >&2; exit 1
}
loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"
serve
baseline="$($load queries "$url" "$VIEWER" "$WORK/c.gpkg" 5)"
ingest="$($load ingest "$url" "$LOADER" "$WORK/c.gpkg" "$SECONDS_LOAD" "$CONNS" "$BATCH" "$VIEWER")"
ws="$($load ws "$url" "$VIEWER" "$WORK/live" "$WS_CLIENTS" "$WS_EVENTS")"
before_kill="$($load count "$WORK/live")"
# kill -9 in the middle of a posting run: the loader stops at the first refused connection.
$load ingest "$url" "$LOADER" "$WORK/c.gpkg" 30 "$CONNS" "$BATCH" >"$WORK/killed.json" &
lpid=$!
sleep 4
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
wait "$lpid" || true
killed="$(cat "$WORK/killed.json")"
serve
after="$($load count "$WORK/live")"
curl -fs "$url/health" >/dev/null
kill "$pid"; wait "$pid" 2>/dev/null || true
python3 - "$OUT" "$loadavg" "$baseline" "$ingest" "$ws" "$before_kill" "$killed" "$after" \
  "$SECONDS_LOAD" "$CONNS" "$BATCH" <<'PY'
import json, sys, subprocess, datetime, platform
out, loadavg = sys.argv[1], sys.argv[2]
base, ing, ws, before, killed, after = (json.loads(a) for a in sys.argv[3:9])
secs, conns, batch = sys.argv[9:12]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
stored_before = before["readings"] + before["quarantined"]
stored_after = after["readings"] + after["quarantined"]
acked_killed = killed["acknowledged"]
lost = max(0, stored_before + acked_killed - stored_after)
ok = "yes" if lost == 0 else f"NO: {lost} lost"
lines = [
    "# twin serve under load (loopback)",
    "",
    f"Made by `bash benches/server/run.sh` on {datetime.date.today()}, {cores} cores ({cpu}), "
    f"release build; the demo district at 30 m served with a live folder; load average before: {loadavg} "
    "(the machine is shared: figures are lower bounds). The load generator "
    "(crates/server/examples/server_load.rs) runs on the same 2 cores as the server.",
    "",
    "| what | figure |",
    "| --- | ---: |",
    f"| readings over HTTP ({conns} clients, {batch} a request, {ing['sensors']} sensors, QC, SQLite WAL + FULL, acknowledged) | {ing['readings_per_s']:,.0f} readings/s ({ing['acknowledged']:,} in {ing['seconds']:.1f} s; {ing['accepted']:,} accepted, {ing['quarantined']:,} quarantined) |",
    f"| feature queries alone (500 m bbox, 100 a page), p50 / p99 | {base['query_p50_ms']:.1f} / {base['query_p99_ms']:.1f} ms ({base['queries']} queries) |",
    f"| feature queries under the readings load, p50 / p99 | {ing['query_p50_ms']:.1f} / {ing['query_p99_ms']:.1f} ms ({ing['queries']} queries) |",
    f"| WebSocket clients of /live/stream | {ws['clients']}: {ws['clients_with_every_event_once']} got all {ws['events']} events once, in order |",
    f"| event commit → receipt, p50 / p99 | {ws['latency_p50_ms']:.0f} / {ws['latency_p99_ms']:.0f} ms (the stream polls the store every 250 ms) |",
    f"| kill -9 under load, restart: acknowledged readings in the store | {ok}: {stored_before:,} stored before the run, {acked_killed:,} acknowledged during it, {stored_after:,} stored after the restart |",
    "",
    "MQTT ingest (≥ 10,000 readings/s) is measured by `bash benches/live/run.sh` "
    "([live.md](live.md)).",
    "",
]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
