#!/usr/bin/env bash
# Benchmark of the release build on a synthetic registry of ROR's size.
#
# Usage: scripts/bench.sh [DATABASE_URL] [INSTITUTES] [SECONDS]
#   DATABASE_URL  a postgres:// URL of an empty database, or empty for a SQLite file in
#                 $BENCH_DIR (default /tmp/institute-registry-bench), generated once and reused
#   INSTITUTES    synthetic institutes to generate (default 120000)
#   SECONDS       duration of each wrk run (default 10)
# Needs wrk (Debian package `wrk`; installed when missing) and curl. Prints a Markdown table of
# p50, p99 and throughput per endpoint (2 threads, 8 connections, server with 2 workers).
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${1:-}
INSTITUTES=${2:-120000}
SECONDS_EACH=${3:-10}
BENCH_DIR=${BENCH_DIR:-/tmp/institute-registry-bench}
BIN=target/release/institute-registry
mkdir -p "$BENCH_DIR"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null
cargo build --release -q

if [[ -z $DATABASE_URL ]]; then
  DATABASE_URL=$BENCH_DIR/bench-$INSTITUTES.db
  [[ -f $DATABASE_URL ]] || "$BIN" --database-url "$DATABASE_URL" generate --institutes "$INSTITUTES"
else
  "$BIN" --database-url "$DATABASE_URL" generate --institutes "$INSTITUTES"
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
RUST_LOG=warn "$BIN" --database-url "$DATABASE_URL" --pool-size 8 serve --bind "127.0.0.1:$PORT" --workers 2 \
  >"$BENCH_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done

# A cursor 5,000 pages of 20 deep (100,000 records in), found by walking pages of 100.
cursor=""
for _ in $(seq 1 1000); do
  cursor=$(curl -fs "$BASE/v1/institutes?limit=100${cursor:+&cursor=$cursor}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"] or "")')
done
slug=$(curl -fs "$BASE/v1/institutes?limit=1&cursor=$cursor" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["slug"])')

declare -a NAMES=(
  "get by slug"
  "filtered, sorted list page"
  "filter by region, headcount, sector; sort by budget"
  "cursor page 5,000 deep"
  "sort by headcount, 100 a page"
  "countries summary (aggregate)"
)
declare -a URLS=(
  "/v1/institutes/$slug"
  "/v1/institutes?country=US,CN&sector=healthcare&sort=-budget&limit=20"
  "/v1/institutes?region=Asia&headcount_min=300&sector=healthcare&sort=-budget"
  "/v1/institutes?limit=20&cursor=$cursor"
  "/v1/institutes?sort=-headcount&limit=100"
  "/v1/countries"
)

echo "| endpoint | p50 | p99 | requests/s |"
echo "|---|---|---|---|"
for i in "${!URLS[@]}"; do
  url=$BASE${URLS[$i]}
  curl -fs -o /dev/null "$url" || { echo "| ${NAMES[$i]} | failed: $(curl -s "$url" | head -c 200) | | |"; continue; }
  out=$(wrk -t2 -c8 -d"${SECONDS_EACH}s" --latency "$url")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  echo "| ${NAMES[$i]} | $p50 | $p99 | $rps ${errors:+($errors)}|"
done
echo
echo "resident memory of the server: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status)"
