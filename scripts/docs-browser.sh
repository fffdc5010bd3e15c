#!/usr/bin/env bash
# Swagger UI at /docs in headless Chromium (Debian's package), with no network beyond
# localhost: every operation is listed, and "Try it out" on GET /v1/institutes shows a 200.
# Usage: scripts/docs-browser.sh [BINARY]   (default target/release/institute-registry)
# Installs chromium (apt) and playwright-core (npm, pinned in openapi/browser) when missing.
# Saves a screenshot of the answered operation to target/docs-screenshot.png.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/institute-registry}
SHOT=${SCREENSHOT:-$PWD/target/docs-screenshot.png}

CHROMIUM=$(command -v chromium || true)
if [[ -z $CHROMIUM ]]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null
  CHROMIUM=$(command -v chromium)
fi
command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null
(cd openapi/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$BIN" --database-url "$WORK/registry.db" serve --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
mkdir -p "$(dirname "$SHOT")"
(cd openapi/browser && REGISTRY_URL="http://127.0.0.1:$PORT" CHROMIUM="$CHROMIUM" SCREENSHOT="$SHOT" node docs-check.mjs)
