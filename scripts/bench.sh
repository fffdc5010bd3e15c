#!/usr/bin/env bash
# Benchmark of the release build on a synthetic registry of ROR's size.
#
# Usage: scripts/bench.sh [DATABASE_URL] [INSTITUTES] [SECONDS]
#   DATABASE_URL  a postgres:// URL of an empty database, or empty for a SQLite file in
#                 $BENCH_DIR (default /tmp/institute-registry-bench), generated once and reused
#   INSTITUTES    synthetic institutes to generate (default 120000)
#   SECONDS       duration of each wrk run (default 10)
# Environment: CONNECTIONS (default 4) and THREADS (default 2) of wrk; WORKERS (default 2) of
# the server.
#
# Needs wrk (Debian package `wrk`; installed when missing), curl and python3. For each endpoint
# it prints:
#   cold  one request right after a write, so nothing derived is remembered (the registry's
#         generation changed) — what the first client after a change waits;
#   p50, p99, requests/s under wrk's load, repeating the same request.
# Then the full CSV and NDJSON exports (wall time for every match, three runs) and the
# server's resident memory before and after them.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${1:-}
INSTITUTES=${2:-120000}
SECONDS_EACH=${3:-10}
CONNECTIONS=${CONNECTIONS:-4}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
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
KEY=$("$BIN" --database-url "$DATABASE_URL" keys create --name "bench-$$-$RANDOM" --role editor | grep -oE '[A-Za-z0-9_-]{30,}' | tail -n 1)

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
# No rate limit: wrk is one client sending as fast as it can.
RUST_LOG=warn RATE_LIMIT=0 "$BIN" --database-url "$DATABASE_URL" --pool-size 8 serve --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  >"$BENCH_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/{print $2, $3}' "/proc/$SERVER/status"; }

# A cursor 5,000 pages of 20 deep (100,000 records in), found by walking pages of 100.
read -r cursor slug < <(python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base, cursor = sys.argv[1], ""
for _ in range(1000):
    page = json.load(urllib.request.urlopen(f"{base}/v1/institutes?limit=100" + (f"&cursor={cursor}" if cursor else "")))
    cursor = page["next_cursor"]
page = json.load(urllib.request.urlopen(f"{base}/v1/institutes?limit=1&cursor={cursor}"))
print(cursor, page["items"][0]["slug"])
PY
)

# A write: changes the registry's generation, so the next request computes everything afresh.
touch_registry() {
  curl -fs -o /dev/null -X PATCH "$BASE/v1/institutes/$slug" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/merge-patch+json' -d "{\"city\": \"Bench $RANDOM\"}"
}

declare -a NAMES=(
  "get by slug"
  "filtered, sorted list page (country=US,CN, sector, sort -budget)"
  "Asia, headcount ≥ 300, healthcare, largest budget first, in EUR"
  "search q=robotics kal"
  "search q=turing (one match)"
  "suggest q=kalo"
  "cursor page 5,000 deep"
  "stats by country"
  "stats by sector, Europe"
  "countries summary"
)
declare -a URLS=(
  "/v1/institutes/$slug"
  "/v1/institutes?country=US,CN&sector=healthcare&sort=-budget&limit=20"
  "/v1/institutes?region=Asia&headcount_min=300&sector=healthcare&sort=-budget&currency=EUR"
  "/v1/institutes?q=robotics%20kal"
  "/v1/institutes?q=turing"
  "/v1/institutes/suggest?q=kalo"
  "/v1/institutes?limit=20&cursor=$cursor"
  "/v1/stats?group_by=country"
  "/v1/stats?group_by=sector&region=Europe"
  "/v1/countries"
)

echo "SQLite or PostgreSQL: ${DATABASE_URL%%\?*}; wrk $THREADS threads, $CONNECTIONS connections, ${SECONDS_EACH}s each; server $WORKERS workers"
echo
echo "| endpoint | cold | p50 | p99 | requests/s |"
echo "|---|---|---|---|---|"
for i in "${!URLS[@]}"; do
  url=$BASE${URLS[$i]}
  touch_registry
  cold=$(curl -fs -o /dev/null -w '%{time_total}' "$url" 2>/dev/null) || { echo "| ${NAMES[$i]} | failed: $(curl -s "$url" | head -c 200) | | | |"; continue; }
  cold=$(python3 -c "print(f'{$cold * 1000:.2f}ms')")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$url")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  echo "| ${NAMES[$i]} | $cold | $p50 | $p99 | $rps ${errors:+($errors)}|"
done

echo
echo "resident memory before the exports: $(rss)"
for format in csv ndjson; do
  for run in 1 2 3; do
    touch_registry
    stats=$(curl -fs -o "$BENCH_DIR/export.$format" -w '%{time_total} %{size_download}' "$BASE/v1/institutes?format=$format&status=all")
    lines=$(wc -l <"$BENCH_DIR/export.$format")
    read -r secs bytes <<<"$stats"
    echo "full $format export, run $run: ${secs}s, $lines lines, $((bytes / 1000000)) MB, server RSS after: $(rss)"
  done
done
rm -f "$BENCH_DIR"/export.*
