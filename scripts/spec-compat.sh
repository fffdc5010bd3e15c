#!/usr/bin/env bash
# Breaking changes caught: compares openapi/openapi.json with the same file on the previous
# commit (HEAD~1, or BASE=<commit>) and fails on any change that breaks clients
# (scripts/spec-breaking.py says which), unless it is marked as intended:
#   - the commit message holds "[breaking]", or
#   - openapi/breaking-intended.txt holds the exact "breaking: …" line, after a `#` line
#     that gives the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-HEAD~1}
if ! git rev-parse --verify -q "$BASE^{commit}" >/dev/null; then
  echo "spec-compat: no commit $BASE to compare with; nothing to check"
  exit 0
fi
old=$(mktemp)
trap 'rm -f "$old"' EXIT
if ! git show "$BASE:openapi/openapi.json" >"$old" 2>/dev/null; then
  echo "spec-compat: $BASE has no openapi/openapi.json; nothing to check"
  exit 0
fi
report=$(python3 scripts/spec-breaking.py "$old" openapi/openapi.json || true)
intended=openapi/breaking-intended.txt
unmarked=$( { grep '^breaking: ' <<<"$report" || true; } | while IFS= read -r line; do
  if [[ -f $intended ]] && grep -qxF -- "$line" "$intended"; then continue; fi
  echo "$line"
done)
if [[ -z $unmarked ]]; then
  echo "spec-compat: no unmarked breaking change against $BASE ($(grep -c '^breaking: ' <<<"$report" || true) marked as intended)"
  exit 0
fi
if git log -1 --format=%B | grep -qF '[breaking]'; then
  echo "$unmarked"
  echo "spec-compat: breaking changes above are marked as intended by the commit message"
  exit 0
fi
echo "$unmarked"
echo "spec-compat: breaking changes against $BASE; mark them in $intended (with a reason) or put [breaking] in the commit message" >&2
exit 1
