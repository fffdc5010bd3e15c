#!/usr/bin/env bash
# The abuse test: the release build on a fresh SQLite registry of 20,000 institutes (the seed
# and `generate`), with its production defaults except shorter deadlines (BODY_TIMEOUT=3,
# EXPORT_STALL_TIMEOUT=5) so that the test is short; scripts/abuse.py then attacks it from
# loopback addresses for 30 s (slow bodies with and without a key, exports that stop being
# read, export floods, made-up keys, header floods, random bytes) while two normal clients read
# it: every normal request must get a 200, their p99 must stay under 100 ms, the server's RSS
# under 400 MiB, and every export's place must be given back once the attack ends.
#
# Usage: scripts/abuse.sh [SECONDS]   (default 30)
# Bounded and loopback only: every socket binds a 127.0.0.x address.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_OF_ATTACK=${1:-30}

cargo build --release -q
BIN=target/release/institute-registry
DIR=$(mktemp -d)
PID=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [[ -n ${KEEP:-} ]] && echo "kept $DIR" || rm -rf "$DIR"
}
trap cleanup EXIT
URL="sqlite://$DIR/abuse.db"
"$BIN" --database-url "$URL" migrate >/dev/null
"$BIN" --database-url "$URL" generate --institutes 20000 >/dev/null 2>&1
KEY=$("$BIN" --database-url "$URL" keys create --name abuse --role editor 2>/dev/null | tail -n 1)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Many sockets at once: the attackers' and the server's.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
BODY_TIMEOUT=3 EXPORT_STALL_TIMEOUT=5 RUST_LOG=error "$BIN" --database-url "$URL" serve \
  --bind "127.0.0.1:$PORT" >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null

status=0
python3 scripts/abuse.py --port "$PORT" --pid "$PID" --key "$KEY" --seconds "$SECONDS_OF_ATTACK" \
  --rss-bound-mib 400 --p99-ms 100 --stall-seconds 5 || status=$?
kill -0 "$PID" 2>/dev/null || { echo "FAIL: the server died"; tail -20 "$DIR/server.log"; exit 1; }
if grep -q "panicked" "$DIR/server.log"; then
  echo "FAIL: the server panicked"; grep -m5 -A3 "panicked" "$DIR/server.log"; exit 1
fi
exit "$status"
