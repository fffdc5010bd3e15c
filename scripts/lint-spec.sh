#!/usr/bin/env bash
# Lints openapi/openapi.json with Redocly CLI and the committed ruleset (redocly.yaml):
# 0 errors and 0 warnings, or it fails. Redocly CLI (pinned) is installed from the npm registry
# into ~/.cache/institute-registry/redocly when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.77.0
DIR=${REDOCLY_DIR:-$HOME/.cache/institute-registry/redocly-$VERSION}
BIN=$DIR/node_modules/.bin/redocly
if [[ ! -x $BIN ]]; then
  command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "@redocly/cli@$VERSION" >/dev/null
fi
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$BIN" lint openapi/openapi.json --config redocly.yaml --max-problems 1000 2>&1 | grep -v '[║╔╚]' || true
out=$("$BIN" lint openapi/openapi.json --config redocly.yaml --format=summary 2>&1 || true)
if grep -qE '^(error|warning) |Your config has' <<<"$out" || ! grep -q 'Your API description is valid' <<<"$out"; then
  echo "lint-spec: problems in openapi/openapi.json (see above)" >&2
  exit 1
fi
echo "lint-spec: 0 errors, 0 warnings"
