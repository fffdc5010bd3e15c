#!/usr/bin/env bash
# Runs schemathesis (every check, enabled in schemathesis.toml) against a freshly started server.
#
# Usage: scripts/schemathesis.sh BINARY [DATABASE_URL] [MAX_EXAMPLES] [-- extra `st run` arguments]
#   BINARY        the institute-registry executable to serve
#   DATABASE_URL  a `postgres://` URL (the database must exist) or a SQLite path; empty or
#                 absent: a new SQLite database in a temporary directory
#   MAX_EXAMPLES  test cases per operation (default 100)
# Environment:
#   ST_VENV        where the pinned schemathesis is installed (default
#                  $HOME/.cache/institute-registry/st-venv; created when missing)
#   ST_REPORT_DIR  when set, a JUnit report is written there
#   ST_ROLE        the role of the key made for the run: admin (default: every write operation
#                  is exercised, sectors and exchange rates included) or editor
# The server runs in a temporary directory and is stopped on exit, whatever happens. Settings that apply to
# every run are in schemathesis.toml at the top of the repository.
# Exits with st's exit code.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

if [[ $# -lt 1 || -z ${1:-} ]]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
BINARY=$(realpath "$1")
DATABASE_URL=${2:-}
MAX_EXAMPLES=${3:-100}
shift $(( $# < 3 ? $# : 3 ))
[[ ${1:-} == -- ]] && shift
EXTRA_ARGS=("$@")

[[ -x $BINARY ]] || { echo "schemathesis.sh: $BINARY is not executable" >&2; exit 2; }
[[ $MAX_EXAMPLES =~ ^[1-9][0-9]*$ ]] || { echo "schemathesis.sh: MAX_EXAMPLES must be a positive integer" >&2; exit 2; }

ST_VENV=${ST_VENV:-$HOME/.cache/institute-registry/st-venv}
if [[ ! -x $ST_VENV/bin/st ]] \
  || [[ $("$ST_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null) != "$SCHEMATHESIS_VERSION" ]]; then
  echo "schemathesis.sh: installing schemathesis $SCHEMATHESIS_VERSION into $ST_VENV" >&2
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi

WORKDIR=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT

# An empty DATABASE_URL means a new SQLite file in the temporary directory.
[[ -n $DATABASE_URL ]] || DATABASE_URL=$WORKDIR/registry.db
# No rate limit: the fuzzer sends far more than a client may.
server_env=(RUST_LOG="${RUST_LOG:-warn}" DATABASE_URL="$DATABASE_URL" RATE_LIMIT=0)
KEY=$(env -u DATABASE_URL "$BINARY" --database-url "$DATABASE_URL" keys create \
  --name "schemathesis-$(date +%s)-$$" --role "${ST_ROLE:-admin}" 2>/dev/null)
(cd "$WORKDIR" && exec env -u DATABASE_URL "${server_env[@]}" "$BINARY" serve --bind "127.0.0.1:$PORT") \
  >"$WORKDIR/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 120); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the server exited before answering /healthz:" >&2
    cat "$WORKDIR/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS "$BASE/healthz" >/dev/null || {
  echo "schemathesis.sh: no answer from $BASE/healthz after 60 s:" >&2
  cat "$WORKDIR/server.log" >&2
  exit 1
}

CONFIG=$(cd "$(dirname "$0")/.." && pwd)/schemathesis.toml
# HEAD operations are their GETs answered without a body (tests/api/http.rs checks that they
# agree): fuzzing them again would double the run for nothing new.
st_args=(--config-file "$CONFIG" run "$BASE/openapi.json" --max-examples "$MAX_EXAMPLES"
  --header "Authorization: Bearer $KEY" --generation-database :memory: --exclude-method HEAD)
[[ -n ${ST_REPORT_DIR:-} ]] && st_args+=(--report junit --report-dir "$ST_REPORT_DIR")
st_args+=("${EXTRA_ARGS[@]}")

status=0
"$ST_VENV/bin/st" "${st_args[@]}" || status=$?

if grep -q . "$WORKDIR/server.log"; then
  echo "--- server log ---" >&2
  cat "$WORKDIR/server.log" >&2
fi
exit "$status"
