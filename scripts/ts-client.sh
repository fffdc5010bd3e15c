#!/usr/bin/env bash
# A TypeScript client generated from the committed spec, proven against a running server.
# Usage: scripts/ts-client.sh [BINARY]   (default target/release/institute-registry)
# Installs the pinned packages of openapi/client (npm ci, from the npm registry), generates
# src/registry.d.ts with openapi-typescript, takes README's client snippet (the ts block after
# the comment naming this script) as src/readme.ts, compiles them with src/check.ts and
# src/rejects.ts under tsc --strict (a field used that the spec renamed or removed fails here;
# so does a rejected line that compiles), then runs the check and the snippet against a server
# on a fresh SQLite database with an editor key.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/institute-registry}

command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null
python3 - <<'PY'
import re
readme = open("README.md", encoding="utf-8").read()
marker = readme.index("compiled and run by scripts/ts-client.sh")
block = re.search(r"```ts\n(.*?)```", readme[marker:], re.S)
open("openapi/client/src/readme.ts", "w", encoding="utf-8").write(
    "// Taken from README.md by scripts/ts-client.sh: edit it there.\n" + block.group(1))
PY
(
  cd openapi/client
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  npm run --silent generate
  rm -rf dist
  npm run --silent build
)

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY=$("$BIN" --database-url "$WORK/registry.db" keys create --name ts-client --role editor 2>/dev/null | tail -n 1)
RUST_LOG=warn "$BIN" --database-url "$WORK/registry.db" serve --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
(cd openapi/client && REGISTRY_URL="http://127.0.0.1:$PORT" REGISTRY_KEY="$KEY" node dist/check.js)
echo "README's client snippet:"
(cd openapi/client && REGISTRY_URL="http://127.0.0.1:$PORT" node dist/readme.js)
