#!/usr/bin/env bash
# Affiliation matching under load, on a synthetic registry of ROR's size.
#
# Usage: scripts/match-bench.sh [INSTITUTES] [SECONDS]
#   INSTITUTES  synthetic institutes added to the seed (default 120000), generated once into
#               $BENCH_DIR/bench-INSTITUTES.db (the same file scripts/bench.sh uses)
#   SECONDS     duration of each wrk run (default 20)
# Environment: CONNECTIONS (default 32), THREADS (default 2) of wrk; WORKERS (default 2).
#
# GET /v1/institutes/match with every affiliation of the evaluation sets in turn (about 6,000
# distinct strings, URL-encoded), then /healthz under the same load, against the release build
# without a rate limit. Prints wrk's latency percentiles and requests/s for both.
set -euo pipefail
cd "$(dirname "$0")/.."

INSTITUTES=${1:-120000}
SECONDS_EACH=${2:-20}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
BENCH_DIR=${BENCH_DIR:-/tmp/institute-registry-bench}
BIN=target/release/institute-registry
mkdir -p "$BENCH_DIR"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null
cargo build --release -q
DATABASE_URL=$BENCH_DIR/bench-$INSTITUTES.db
[[ -f $DATABASE_URL ]] || "$BIN" --database-url "$DATABASE_URL" generate --institutes "$INSTITUTES"

PATHS=$BENCH_DIR/match-paths.txt
python3 - "$PATHS" <<'PY'
import csv, sys, urllib.parse
out = set()
for name in ["tests/data/match-dev/s2aff_gold_affiliation_annotations.csv",
             "tests/data/match-eval/ror-hard-cases.csv"]:
    with open(name, newline="") as fh:
        for row in csv.DictReader(fh):
            out.add(row.get("original_affiliation") or row["affiliation"])
with open("tests/data/affiliations.tsv") as fh:
    for line in list(fh)[1:]:
        out.add(line.split("\t")[0])
with open(sys.argv[1], "w") as fh:
    for a in sorted(out):
        a = a.replace("\0", " ")[:1000]
        fh.write("/v1/institutes/match?affiliation=" + urllib.parse.quote(a, safe="") + "\n")
PY

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
RUST_LOG=warn RATE_LIMIT=0 "$BIN" --database-url "$DATABASE_URL" serve --pool-size 8 --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  >"$BENCH_DIR/match-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
started=$(date +%s.%N)
curl -fs -o /dev/null "$BASE/v1/institutes/match?affiliation=Vector%20Institute%2C%20Toronto"
echo "registry: $(curl -fs "$BASE/v1/institutes?status=all&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])') institutes; $(wc -l <"$PATHS") distinct affiliations"
echo "first match (builds the index): $(python3 -c "import time; print(f'{time.time() - $started:.2f}s')")"
echo "server RSS after the first match: $(awk '/VmRSS/{print $2, $3}' "/proc/$SERVER/status")"
echo
echo "== GET /v1/institutes/match, rotating affiliations: wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_EACH}s"
MATCH_PATHS=$PATHS wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s scripts/match-load.lua "$BASE" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors|requests in"
echo
echo "== GET /healthz, same server: wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_EACH}s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$BASE/healthz" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors|requests in"
echo "server RSS at the end: $(awk '/VmRSS/{print $2, $3}' "/proc/$SERVER/status")"
