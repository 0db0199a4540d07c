#!/usr/bin/env bash
# schemathesis (PyPI, in .venv from scripts/setup.sh) against `twin serve`'s OpenAPI document:
# the demo district at 30 m served with a live folder and scenario jobs, an admin token (so
# every route is reachable; 401/403 are the security tests' part), requests generated from
# the document — valid and deliberately invalid parameters and bodies, generated deterministically. Fails when
# any answer is a 5xx, has a status, content type, headers or body outside the document, or
# accepts what the document says is invalid.
#
#   bash scripts/schemathesis.sh              # TWIN=target/debug/twin (built by cargo test)
#   EXAMPLES=200 OUT=benches/results/schemathesis.md bash scripts/schemathesis.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
TWIN="${TWIN:-target/debug/twin}" EXAMPLES="${EXAMPLES:-40}"
ST=.venv/bin/schemathesis
[ -x "$ST" ] || bash scripts/setup.sh
[ -x "$TWIN" ] || cargo build -q -p twin-cli
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$TWIN" demo-city --cell-m 30 --out "$work/c.gpkg" >/dev/null
token=schemathesis-admin-Wq39
printf '[[token]]\nname = "schemathesis"\nrole = "admin"\ndepartment = "SXD"\nhash = "%s"\nrate_per_s = 100000\n' \
  "$("$TWIN" serve hash-token "$token")" >"$work/tokens.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TWIN" serve --city "$work/c.gpkg" --live "$work/live" --jobs-dir "$work/jobs" \
  --tokens "$work/tokens.toml" --listen "127.0.0.1:$port" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health')" 2>/dev/null && break
  sleep 0.2
done
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection
set +e
"$ST" run "http://127.0.0.1:$port/openapi.json" -H "Authorization: Bearer $token" \
  --checks "$checks" --max-examples "$EXAMPLES" --generation-deterministic \
  --workers 1 --no-color >"$work/st.txt" 2>&1
rc=$?
set -e
grep -E -A12 "^_+ [A-Z]+ /" "$work/st.txt" | head -n 80 || true
tail -n 25 "$work/st.txt"
if [ -n "${OUT:-}" ]; then
  {
    echo "# schemathesis against twin serve"
    echo
    echo "Made by \`EXAMPLES=$EXAMPLES OUT=$OUT bash scripts/schemathesis.sh\` on $(date -u +%Y-%m-%d)"
    echo "($("$ST" --version), deterministic generation). Checks: ${checks//,/, }. Exit status $rc."
    echo
    echo '```text'
    sed -n '/SUMMARY/,$p' "$work/st.txt"
    echo '```'
  } >"$OUT"
fi
if grep -qiE "panicked|thread .* panicked" "$work/serve.log"; then
  echo "twin serve panicked:"; grep -iE "panicked" "$work/serve.log"; exit 1
fi
exit $rc
