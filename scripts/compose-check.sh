#!/usr/bin/env bash
# Checks docker-compose.yml: always its syntax; with a Docker engine, also brings the stack up,
# sends requests through the balancer and checks that both replicas answered, then tears it
# down (volumes included).
#
# Usage: scripts/compose-check.sh [REQUESTS]   (default 20 requests through the balancer)
# Uses `docker compose` when the plugin is there, otherwise Debian's `docker-compose`
# (installed when missing). Without an engine (`docker info` fails) only the syntax is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-20}

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  compose() { docker compose "$@"; }
else
  command -v docker-compose >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose
  } >/dev/null
  compose() { docker-compose "$@"; }
fi

compose config -q
echo "docker-compose.yml is valid"

if ! docker info >/dev/null 2>&1; then
  echo "no Docker engine: the stack was not started"
  exit 0
fi

export COMPOSE_PROJECT_NAME=registry-check-$$
trap 'compose down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
compose up -d --build
for _ in $(seq 1 120); do
  curl -fs http://127.0.0.1:8080/readyz >/dev/null && break
  sleep 1
done
curl -fsS http://127.0.0.1:8080/readyz
echo

for i in $(seq 1 "$REQUESTS"); do
  curl -fsS -o /dev/null -H "X-Request-Id: compose-check-$i" "http://127.0.0.1:8080/v1/institutes/mila"
done
# nginx logs the replica that answered each request.
served=$(compose logs --no-color lb | grep -o 'request_id=compose-check-[0-9]*' -c || true)
upstreams=$(compose logs --no-color lb | grep 'request_id=compose-check-' | grep -oE 'upstream=[0-9.:]+' | sort | uniq -c)
echo "$served requests through the balancer, by replica:"
echo "$upstreams"
[[ $served -eq $REQUESTS ]] || { echo "expected $REQUESTS logged requests" >&2; exit 1; }
[[ $(wc -l <<<"$upstreams") -eq 2 ]] || { echo "expected both replicas to answer" >&2; exit 1; }
echo "both replicas answered through the balancer"
