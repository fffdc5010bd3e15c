#!/usr/bin/env bash
# Benchmark of the release build as real traffic meets it: a registry of ROR's size with full
# series, many connections, and every kind of request rotating over thousands of distinct
# URLs (one repeated URL measures a cache, not the server). Not a timed test: run it by hand.
#
# Usage: scripts/bench.sh [DATABASE_URL] [INSTITUTES] [SECONDS]
#   DATABASE_URL  a postgres:// URL of an empty database (filled here), or empty for a SQLite
#                 file in $BENCH_DIR, generated once and reused
#   INSTITUTES    synthetic institutes, each with five years of budgets and headcounts, loaded
#                 through the import write path by `generate` (default 120000)
#   SECONDS       duration of each wrk run (default 10)
# Environment (default): CONNECTIONS (32) and THREADS (2) of wrk; WORKERS (2) of the server;
# BENCH_DIR (target/bench); MIXED_SECONDS (60) of the mixed run with writes (scripts/load.sh,
# 0 to skip it); KINDS, the kinds to measure (default all: slug budgets list1 list2 search
# suggest stats countries; /healthz is always measured first, as the ceiling).
#
# For each kind it prints requests/s, the share of the same run's `/healthz` requests/s (the
# stack's ceiling on this machine: the machine is shared and noisy, the ratio is stable), p50
# and p99; then the full CSV export's wall time, the start-up time on this registry, and the
# server's peak resident memory over the whole run. Needs wrk (Debian package `wrk`; installed
# when missing), curl, python3, and psql for a PostgreSQL URL.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${1:-}
INSTITUTES=${2:-120000}
SECONDS_EACH=${3:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
MIXED_SECONDS=${MIXED_SECONDS:-60}
KINDS=${KINDS:-slug budgets list1 list2 search suggest stats countries}
BENCH_DIR=${BENCH_DIR:-target/bench}
BIN=target/release/institute-registry
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null
cargo build --release -q

if [[ $DATABASE_URL != postgres://* && $DATABASE_URL != postgresql://* ]]; then
  DATABASE_URL=${DATABASE_URL:-$BENCH_DIR/bench-$INSTITUTES.db}
  if [[ ! -f $DATABASE_URL ]]; then
    rm -f "$DATABASE_URL.new"*
    "$BIN" --database-url "$DATABASE_URL.new" generate --institutes "$INSTITUTES"
    mv "$DATABASE_URL.new" "$DATABASE_URL"
  fi
else
  have=$(psql "$DATABASE_URL" -tAqc "SELECT count(*) FROM institutes WHERE id LIKE 'ins_syn%'" 2>/dev/null || echo 0)
  [[ $have == 0 ]] && "$BIN" --database-url "$DATABASE_URL" generate --institutes "$INSTITUTES"
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
# No rate limit: wrk is one client sending as fast as it can.
started=$(date +%s.%N)
RUST_LOG=warn RATE_LIMIT=0 "$BIN" --database-url "$DATABASE_URL" serve --pool-size 8 --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  >"$BENCH_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs -o /dev/null "$BASE/readyz" && break; sleep 0.05; done
STARTUP=$(python3 -c "import time; print(f'{time.time() - $started:.2f}')")
curl -fs -o /dev/null "$BASE/readyz" || { echo "the server did not become ready; see $BENCH_DIR/server.log" >&2; exit 1; }

# The keys: slugs, filter combinations and search words, from the registry itself.
python3 - "$BASE" "$BENCH_DIR" <<'PY'
import collections, json, random, re, sys, urllib.parse, urllib.request
base, out = sys.argv[1], sys.argv[2]
rng = random.Random(7)
get = lambda p: json.load(urllib.request.urlopen(base + p))
items, cursor = [], ""
for _ in range(60):  # 6,000 institutes, the most recently updated first
    page = get("/v1/institutes?limit=100&sort=-updated" + (f"&cursor={cursor}" if cursor else ""))
    items += page["items"]
    cursor = page.get("next_cursor")
    if not cursor:
        break
slugs = [i["slug"] for i in items][:4000]
countries = [c["code"] for c in get("/v1/countries")["items"] if c["institutes"] > 0]
sectors = [s["slug"] for s in get("/v1/sectors")["items"]]
kinds = sorted({i["kind"] for i in items})
words = collections.Counter(w for i in items for w in re.findall(r"[a-z]{4,}", i["name"].lower()))
common = [w for w, _ in words.most_common(60)]
search_words = common[5:45]  # not only the most frequent
def write(name, paths):
    with open(f"{out}/{name}.paths", "w") as f:
        f.write("\n".join(paths) + "\n")
    print(f"{name}: {len(paths)} distinct paths")
write("healthz", ["/healthz"])
write("slug", [f"/v1/institutes/{s}" for s in slugs])
write("budgets", [f"/v1/institutes/{s}/budgets" for s in slugs])
pairs = [(c, s) for c in countries for s in sectors]
rng.shuffle(pairs)
write("list1", [f"/v1/institutes?country={c}&sector={s}&sort=-budget&limit=20" for c, s in pairs[:400]])
combos = [(c, k) for c in countries for k in kinds]
write("list2", [f"/v1/institutes?country={c}&kind={k}&founded_from={1950 + n % 50}&sort=-headcount,name&limit=20"
                for n, (c, k) in enumerate(combos)] +
               [f"/v1/institutes?sector={s}&headcount_min={100 * (n % 10)}&sort=-founded,-budget&limit=20"
                for n, s in enumerate(sectors * 10)])
write("search", [f"/v1/institutes?q={urllib.parse.quote(w)}&limit=20" for w in search_words] +
                [f"/v1/institutes?q={urllib.parse.quote(a + ' ' + b)}&limit=20" for a, b in zip(search_words, reversed(search_words))])
write("suggest", [f"/v1/institutes/suggest?q={w[:n]}" for w in search_words for n in (3, 4, 5)])
stats = [f"/v1/stats?group_by={g}&country={c}" for g in ("sector", "kind", "founded_decade") for c in countries] + \
        [f"/v1/stats?group_by=country&sector={s}" for s in sectors] + \
        [f"/v1/stats?group_by=country&kind={k}&founded_from={1950 + n}" for k in kinds for n in range(0, 60, 3)]
write("stats", stats)
write("countries", ["/v1/countries"] + [f"/v1/countries/{c}" for c in countries] + ["/v1/sectors"] +
      [f"/v1/sectors/{s}" for s in sectors])
PY

# Every path answers 200 before it is measured.
for kind in slug budgets list1 list2 search suggest stats countries; do
  bad=$(head -n 50 "$BENCH_DIR/$kind.paths" | while read -r p; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE$p"); [[ $code == 200 ]] || echo "$code $p"; done)
  [[ -z $bad ]] || { echo "preflight failed for $kind:"; echo "$bad"; exit 1; }
done

peak() { awk '/VmHWM/{print $2}' "/proc/$SERVER/status"; }
RESULTS=$BENCH_DIR/results.tsv
: >"$RESULTS"
run() { # kind label
  ROTATE_PATHS="$BENCH_DIR/$1.paths" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
    -s scripts/rotate.lua "$BASE" >"$BENCH_DIR/wrk-$1.txt"
  python3 - "$BENCH_DIR/wrk-$1.txt" "$1" "$2" >>"$RESULTS" <<'PY'
import re, sys
text, kind, label = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
def ms(v):
    n, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
bad = int(re.search(r"non-2xx or errors: (\d+)", text).group(1))
print(f"{kind}\t{label}\t{rps:.0f}\t{p50:.2f}\t{p99:.2f}\t{bad}")
PY
}
echo "bench: ${DATABASE_URL%%\?*}, $INSTITUTES institutes; wrk $THREADS threads, $CONNECTIONS connections, ${SECONDS_EACH}s each; server $WORKERS workers"
declare -A LABEL=([slug]="get by slug" [budgets]="budget series" [list1]="filtered list, one sort key"
  [list2]="filtered list, two sort keys" [search]="search q=" [suggest]="suggest" [stats]="stats"
  [countries]="countries, sectors")
run healthz "/healthz (the ceiling)"
for kind in $KINDS; do
  [[ -n ${LABEL[$kind]:-} ]] || { echo "unknown kind: $kind" >&2; exit 2; }
  run "$kind" "${LABEL[$kind]}"
done

# The full CSV export, three runs.
EXPORT=""
for _ in 1 2 3; do
  t=$(curl -s -o "$BENCH_DIR/export.csv" -w '%{time_total}' "$BASE/v1/exports/institutes?format=csv")
  EXPORT="$EXPORT ${t}s"
done
ROWS=$(($(wc -l <"$BENCH_DIR/export.csv") - 1))
PEAK=$(peak)
kill $SERVER; wait $SERVER 2>/dev/null || true
trap - EXIT

python3 - "$RESULTS" <<PY
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
ceiling = float(rows[0][2])
print()
print("| kind | req/s | share of /healthz | p50 | p99 | errors |")
print("|---|---|---|---|---|---|")
for kind, label, rps, p50, p99, bad in rows:
    print(f"| {label} | {float(rps):,.0f} | {100 * float(rps) / ceiling:.1f}% | {p50} ms | {p99} ms | {bad} |")
print()
print(f"full CSV export ($ROWS rows):$EXPORT")
print(f"start-up to ready on this registry: ${STARTUP} s")
print(f"server peak RSS over the run: {int('$PEAK') / 1024:.0f} MiB")
PY

if (( MIXED_SECONDS > 0 )); then
  echo
  echo "mixed load, ${MIXED_SECONDS}s, 10% writes (scripts/load.sh):"
  CONNECTIONS=$CONNECTIONS THREADS=$THREADS WORKERS=$WORKERS LOAD_DIR=$BENCH_DIR/load \
    scripts/load.sh "$DATABASE_URL" "$MIXED_SECONDS" "$INSTITUTES"
fi
