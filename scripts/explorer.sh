#!/usr/bin/env bash
# The explorer (explorer/): rebuilds it from its sources with the pinned toolchain (npm ci:
# openapi-typescript generates the client's types from openapi/openapi.json, tsc --strict checks
# the code against them, esbuild bundles it), fails when the result differs from the committed
# explorer/dist (which `cargo build` embeds), then uses it in headless Chromium against a
# release build on a fresh seeded SQLite registry (explorer/check.mjs), and in headless Firefox
# (explorer/check-firefox.mjs), with screenshots of every view in target/explorer/. Installs
# Debian's chromium and firefox-esr when missing.
# Usage: scripts/explorer.sh [BINARY] [DATABASE_URL]
#   BINARY        default target/release/institute-registry
#   DATABASE_URL  a registry to serve instead of a fresh one (e.g. a generated 120,000-institute
#                 SQLite file, to time the first view at scale)
#   scripts/explorer.sh --build   only rebuild explorer/dist (then commit it)
# Environment: MAX_FIRST_VIEW_MS (default 1000), SHOTS (default target/explorer).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null
(cd explorer && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build)
if [[ ${1:-} == --build ]]; then
  exit 0
fi
if ! git diff --quiet -- explorer/dist || [[ -n $(git ls-files --others --exclude-standard explorer/dist) ]]; then
  git --no-pager diff --stat -- explorer/dist
  echo "explorer.sh: explorer/dist differs from its sources' build; run scripts/explorer.sh --build and commit it" >&2
  exit 1
fi

BIN=${1:-target/release/institute-registry}
if ! command -v chromium >/dev/null || ! command -v firefox-esr >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium firefox-esr; } >/dev/null
fi
CHROMIUM=$(command -v chromium)
FIREFOX=$(command -v firefox-esr)
WORK=$(mktemp -d)
DATABASE=${2:-$WORK/registry.db}
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$BIN" --database-url "$DATABASE" serve --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
SHOTS=${SHOTS:-$PWD/target/explorer}
(cd explorer && REGISTRY_URL="http://127.0.0.1:$PORT" CHROMIUM="$CHROMIUM" SHOTS="$SHOTS" node check.mjs)
(cd explorer && REGISTRY_URL="http://127.0.0.1:$PORT" FIREFOX="$FIREFOX" SHOTS="$SHOTS" node check-firefox.mjs)
