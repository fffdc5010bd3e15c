#!/usr/bin/env bash
# Runs deploy/nginx.conf without Docker: two replicas of the release build on one PostgreSQL
# behind a local nginx with the committed configuration (only the upstream addresses and the
# listening port rewritten), as docker-compose.yml arranges them. Checks that:
#   - requests alternate between the replicas (nginx's access log names the replica);
#   - a write through the balancer is seen at once by reads served by either replica;
#   - a write through one replica reaches the other's lists and search (its read model, fed by
#     the change sequence) within 1 s, and at once for a read that sends `min_sequence`;
#   - with one replica stopped (SIGTERM), every read still answers 200;
#   - a rolling restart (each replica stopped with SIGTERM and started again, waiting for the
#     restarted one to be ready and nginx's fail_timeout) under 10 s of load through the
#     balancer (wrk, 8 connections, one request in ten a write) gives no error.
#
# Usage: scripts/balancer-check.sh [POSTGRES_URL]
#   POSTGRES_URL  a database to use (migrated and seeded here when new); default: a fresh
#                 database balancer_check on postgres://postgres:postgres@127.0.0.1:5432
# The replicas run without a rate limit: every request of the load comes from one address.
# Needs nginx and wrk (Debian packages; installed when missing), curl, python3, psql.
set -euo pipefail
cd "$(dirname "$0")/.."

URL=${1:-}
if [[ -z $URL ]]; then
  ADMIN=postgres://postgres:postgres@127.0.0.1:5432/postgres
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS balancer_check WITH (FORCE)" -c "CREATE DATABASE balancer_check"
  URL=${ADMIN%/*}/balancer_check
fi
command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; } >/dev/null
cargo build --release -q
BIN=target/release/institute-registry
DIR=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port); LB=$(free_port)

# As the compose file's one-shot `migrate` service, before any replica starts.
"$BIN" --database-url "$URL" migrate
KEY=$("$BIN" --database-url "$URL" keys create --name "balancer-check-$$-$RANDOM" --role editor 2>/dev/null | tail -n 1)

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n ${KEEP:-} ]] && echo "kept $DIR" || rm -rf "$DIR"
}
trap cleanup EXIT
for port in "$P1" "$P2"; do
  TRUST_PROXY=1 RATE_LIMIT=0 POOL_SIZE=8 RUST_LOG=info "$BIN" --database-url "$URL" serve --bind "127.0.0.1:$port" \
    >"$DIR/api-$port.log" 2>&1 &
  PIDS+=($!)
done
API1=${PIDS[0]}
for port in "$P1" "$P2"; do
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null
done

sed -e "s/server api1:8080/server 127.0.0.1:$P1/" -e "s/server api2:8080/server 127.0.0.1:$P2/" \
  -e "s/listen 8080;/listen 127.0.0.1:$LB;/" -e "s|access_log /dev/stdout|access_log $DIR/access.log|" \
  deploy/nginx.conf >"$DIR/nginx.conf"
grep -q "127.0.0.1:$P1" "$DIR/nginx.conf" && grep -q "127.0.0.1:$P2" "$DIR/nginx.conf"
nginx -t -q -p "$DIR" -c "$DIR/nginx.conf" -g "pid $DIR/nginx.pid; error_log $DIR/error.log;"
nginx -p "$DIR" -c "$DIR/nginx.conf" -g "daemon off; pid $DIR/nginx.pid; error_log $DIR/error.log;" &
PIDS+=($!)
BASE=http://127.0.0.1:$LB
for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done

fail() { echo "FAILED: $*" >&2; exit 1; }

echo "== 20 reads through the balancer"
: >"$DIR/access.log"
for i in $(seq 1 20); do
  curl -fsS -o /dev/null -H "X-Request-Id: check-$i" "$BASE/v1/institutes/mila" || fail "read $i"
done
sleep 0.5
grep 'request_id=check-' "$DIR/access.log" >"$DIR/reads.log" || true
sequence=$(grep -oE 'upstream=[0-9.:]+' "$DIR/reads.log" | sed "s/127.0.0.1:$P1/api1/; s/127.0.0.1:$P2/api2/" | cut -d= -f2 | tr '\n' ' ')
echo "answered by: $sequence"
[[ $(wc -l <"$DIR/reads.log") -eq 20 ]] || fail "X-Request-Id not logged for every request"
n1=$(grep -c "upstream=127.0.0.1:$P1 " "$DIR/reads.log" || true); n2=$(grep -c "upstream=127.0.0.1:$P2 " "$DIR/reads.log" || true)
[[ $n1 -eq 10 && $n2 -eq 10 ]] || fail "expected 10 and 10, got $n1 and $n2"

echo "== a write through the balancer, then reads served by both replicas"
etag=$(curl -fsS -D - -o /dev/null "$BASE/v1/institutes/mila" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
token="balancer-check-$$-$RANDOM"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$BASE/v1/institutes/mila" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/merge-patch+json' -H "If-Match: $etag" -d "{\"city\": \"$token\"}")
[[ $code == 200 ]] || fail "PATCH answered $code"
: >"$DIR/access.log"
for i in 1 2 3 4; do
  city=$(curl -fsS -H "X-Request-Id: after-write-$i" "$BASE/v1/institutes/mila" | python3 -c 'import json, sys; print(json.load(sys.stdin)["city"])')
  [[ $city == "$token" ]] || fail "read $i saw city '$city', not the write's '$token'"
done
sleep 0.5
[[ $(grep 'request_id=after-write-' "$DIR/access.log" | grep -oE 'upstream=[0-9.:]+' | sort -u | wc -l) -eq 2 ]] || fail "the reads did not reach both replicas"
echo "4 reads, both replicas: every one saw the write"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$BASE/v1/institutes/mila" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/merge-patch+json' -H "If-Match: $etag" -d '{"city": "stale"}')
[[ $code == 412 ]] || fail "a write with the stale ETag answered $code, not 412"
echo "a write with the old ETag through the balancer: 412"

echo "== a write through api1 reaches api2's search within 1 s, and at once with min_sequence"
alias_token="zq$$x$RANDOM"
etag=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$P1/v1/institutes/vector-institute" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
sequence=$(curl -fsS -D - -o /dev/null -X PATCH "http://127.0.0.1:$P1/v1/institutes/vector-institute" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/merge-patch+json' -H "If-Match: $etag" \
  -d "{\"aliases\": [\"Vector $alias_token\"]}" | tr -d '\r' | awk 'tolower($1)=="registry-sequence:"{print $2}')
[[ -n $sequence ]] || fail "the write answered no Registry-Sequence"
found=$(curl -fsS "http://127.0.0.1:$P2/v1/institutes?q=$alias_token&min_sequence=$sequence" | python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])')
[[ $found == 1 ]] || fail "api2 with min_sequence=$sequence found $found institutes for the new alias, not 1"
echo "api2 with min_sequence=$sequence: found at once"
alias_token="zq$$y$RANDOM"
etag=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$P1/v1/institutes/vector-institute" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
curl -fsS -o /dev/null -X PATCH "http://127.0.0.1:$P1/v1/institutes/vector-institute" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/merge-patch+json' -H "If-Match: $etag" \
  -d "{\"aliases\": [\"Vector $alias_token\"]}"
written=$(date +%s.%N)
until [[ $(curl -fsS "http://127.0.0.1:$P2/v1/institutes?q=$alias_token" | python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])') == 1 ]]; do
  python3 -c "import sys, time; sys.exit(time.time() - $written > 1.0)" || fail "api2 did not see the write within 1 s"
  sleep 0.02
done
echo "api2 without min_sequence: saw the write after $(python3 -c "import time; print(f'{time.time() - $written:.2f}')") s"

echo "== api1 stopped (SIGTERM): reads keep answering"
kill -TERM "$API1"; wait "$API1" 2>/dev/null || true
for i in $(seq 1 10); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/institutes/mila")
  [[ $code == 200 ]] || fail "read $i with api1 stopped answered $code"
done
echo "10 reads with api1 stopped: all 200"

echo "== rolling restart under load (90% reads, 10% writes): api1 back, then api2 stopped and started again, during 10 s of wrk"
start_replica() {
  TRUST_PROXY=1 RATE_LIMIT=0 POOL_SIZE=8 RUST_LOG=info "$BIN" --database-url "$URL" serve --bind "127.0.0.1:$1" \
    >>"$DIR/api-$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$1/readyz" >/dev/null && break; sleep 0.2; done
}
start_replica "$P1"
sleep 2.5   # nginx's fail_timeout: until then it may still count api1 as down
API2=${PIDS[1]}
cat >"$DIR/paths.lua" <<'LUA'
local paths = { "/v1/institutes/mila", "/v1/institutes?country=US&sort=-budget", "/v1/countries",
  "/v1/stats?group_by=country", "/v1/institutes?q=turing" }
local i = 0
local key = os.getenv("KEY")
-- One request in ten a write (If-Match: *, so that the writes cannot conflict with each other).
function request()
  i = i + 1
  if i % 10 == 0 then
    return wrk.format("PATCH", "/v1/institutes/amii", { ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/merge-patch+json", ["If-Match"] = "*" }, '{"city": "Edmonton ' .. i .. '"}')
  end
  return wrk.format("GET", paths[i % #paths + 1])
end
LUA
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null
KEY=$KEY wrk -t2 -c8 -d10s --timeout 10s -s "$DIR/paths.lua" "$BASE" >"$DIR/wrk.txt" &
WRK=$!
sleep 3
kill -TERM "$API2"; wait "$API2" 2>/dev/null || true
start_replica "$P2"
wait "$WRK"
grep -E "requests in|Non-2xx|Socket errors|Requests/sec" "$DIR/wrk.txt"
if grep -qE "Non-2xx|Socket errors" "$DIR/wrk.txt"; then fail "errors during the rolling restart"; fi
echo "no errors during the rolling restart"
echo "OK"
