#!/usr/bin/env bash
# Mixed load on the release build: 90% reads, 10% keyed writes, then a proof that no
# acknowledged write was lost.
#
# Usage: scripts/load.sh [DATABASE_URL] [SECONDS] [INSTITUTES]
#   DATABASE_URL  a postgres:// URL, a SQLite file, or empty for $LOAD_DIR/load-INSTITUTES.db.
#                 The synthetic registry is generated once (`institute-registry generate`) and
#                 reused: a SQLite file that exists, or a PostgreSQL database that already holds
#                 INSTITUTES synthetic institutes, is used as it is; an empty one is filled.
#   SECONDS       duration of the wrk run (default 60)
#   INSTITUTES    synthetic institutes (default 120000)
# Environment (default):
#   THREADS (2), CONNECTIONS (8)  of wrk
#   TIMEOUT (10s)                 wrk's per-request timeout (wrk's own default is 2s)
#   WORKERS (2), POOL_SIZE (8)    of the server
#   WRITE_TARGETS (32)            institutes each wrk thread writes to, and as many again that
#                                 it adds headcount entries to
#   READ_SAMPLE (1000)            synthetic institutes read by slug
#   LOAD_DIR (target/load)        the generated SQLite file, the server's log, the run's files
#   RUST_LOG (warn)               of the server; with `info` it logs every request with its
#                                 time, and the report adds where the server's time went
#
# Reads and writes are described in scripts/load.lua. The server runs with RATE_LIMIT=0 (no
# rate limit, where the build has one). After the run, every institute written to is read back
# through the API: its description must be the last token whose write was acknowledged (2xx),
# its version and its history total must have grown by exactly the number of acknowledged
# writes (a write still unanswered when wrk stopped may or may not have landed: one more is
# allowed then, and only then); every institute given headcount entries must hold exactly the
# acknowledged ones more (plus at most those unanswered at the stop). Exit status 1 on any non-2xx response, socket error, or lost or
# extra update.
#
# Needs wrk (Debian package `wrk`; installed when missing), curl, python3, and psql for a
# PostgreSQL URL.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${1:-}
DURATION=${2:-60}
INSTITUTES=${3:-120000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-8}
TIMEOUT=${TIMEOUT:-10s}
WORKERS=${WORKERS:-2}
POOL_SIZE=${POOL_SIZE:-8}
WRITE_TARGETS=${WRITE_TARGETS:-32}
READ_SAMPLE=${READ_SAMPLE:-1000}
LOAD_DIR=${LOAD_DIR:-target/load}
BIN=target/release/institute-registry
mkdir -p "$LOAD_DIR"
LOAD_DIR=$(cd "$LOAD_DIR" && pwd)

if (( WRITE_TARGETS * THREADS > INSTITUTES / 4 )); then
  echo "WRITE_TARGETS × THREADS must be at most a quarter of INSTITUTES" >&2
  exit 2
fi
if (( CONNECTIONS / THREADS >= WRITE_TARGETS )); then
  echo "WRITE_TARGETS must exceed the connections per thread, so that a write always finds an idle institute" >&2
  exit 2
fi

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null
cargo build --release -q

# The registry: generated once, then reused.
if [[ $DATABASE_URL != postgres://* && $DATABASE_URL != postgresql://* ]]; then
  DATABASE_URL=${DATABASE_URL#sqlite://}
  DATABASE_URL=${DATABASE_URL:-$LOAD_DIR/load-$INSTITUTES.db}
  if [[ ! -f $DATABASE_URL ]]; then
    # Into a temporary file first, so that an interrupted generation is never reused.
    rm -f "$DATABASE_URL.new" "$DATABASE_URL.new-wal" "$DATABASE_URL.new-shm"
    "$BIN" --database-url "$DATABASE_URL.new" generate --institutes "$INSTITUTES"
    mv "$DATABASE_URL.new" "$DATABASE_URL"
  fi
else
  have=$(psql "$DATABASE_URL" -tAqc "SELECT count(*) FROM institutes WHERE id LIKE 'ins_syn%'" 2>/dev/null || echo 0)
  if [[ $have == 0 ]]; then
    "$BIN" --database-url "$DATABASE_URL" generate --institutes "$INSTITUTES"
  elif [[ $have != "$INSTITUTES" ]]; then
    echo "$DATABASE_URL holds $have synthetic institutes, not $INSTITUTES: give an empty database" >&2
    exit 2
  fi
fi

RUN=$(date +%s)$RANDOM
KEY=$("$BIN" --database-url "$DATABASE_URL" keys create --name "load-$RUN" --role editor 2>/dev/null | tail -n 1)
[[ -n $KEY ]] || { echo "could not create an editor key" >&2; exit 2; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
RATE_LIMIT=0 RUST_LOG=${RUST_LOG:-warn} "$BIN" --database-url "$DATABASE_URL" serve --pool-size "$POOL_SIZE" \
  --bind "127.0.0.1:$PORT" --workers "$WORKERS" >"$LOAD_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done
curl -fs "$BASE/readyz" >/dev/null || { echo "the server did not become ready; see $LOAD_DIR/server.log" >&2; exit 1; }
rss() { awk '/VmRSS/{print $2, $3}' "/proc/$SERVER/status"; }

# Read paths and write targets, and the write targets' state before the run.
python3 - "$BASE" "$INSTITUTES" "$THREADS" "$WRITE_TARGETS" "$READ_SAMPLE" "$LOAD_DIR" <<'PY'
import json, random, sys, urllib.error, urllib.request
base, n, threads, per_thread, sample, out = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]

def get(path):
    with urllib.request.urlopen(base + path) as r:
        return r.status, r.headers, json.load(r)

# Write targets: the last institutes generated, thread by thread; never read by slug below.
targets = [(t + 1, f"ins_syn{n - 1 - t * per_thread - j:013d}") for t in range(threads) for j in range(per_thread)]
figure_targets = [(t + 1, f"ins_syn{n - 1 - (threads + t) * per_thread - j:013d}") for t in range(threads) for j in range(per_thread)]
written = {i for _, i in targets} | {i for _, i in figure_targets}

def series(i):
    _, _, body = get(f"/v1/institutes/{i}/headcounts")
    return body["items"] if isinstance(body, dict) else body
def entries(i):
    return len(series(i))
def first_free_year(i):
    # The run's entries take years 1900-1999 from the first one no earlier run took.
    taken = [e["year"] for e in series(i) if 1900 <= e["year"] <= 1999]
    return max(taken) + 1 if taken else 1900
before = {}
with open(f"{out}/writes.tsv", "w") as f:
    for t, i in targets:
        try:
            _, headers, rec = get(f"/v1/institutes/{i}")
        except urllib.error.HTTPError as e:
            sys.exit(f"{i}: {e.code}; the database must hold {n} synthetic institutes (institute-registry generate --institutes {n})")
        _, _, hist = get(f"/v1/institutes/{i}/history?limit=1")
        before[i] = {"version": rec["version"], "history": hist["total"], "description": rec.get("description")}
        f.write(f"{t}\t{i}\t{headers.get('ETag')}\n")
with open(f"{out}/figures.tsv", "w") as f:
    for t, i in figure_targets:
        before[i] = {"headcounts": entries(i)}
        f.write(f"{t}\t{i}\t{first_free_year(i)}\n")
json.dump(before, open(f"{out}/before.json", "w"))

# Read sample: synthetic institutes by slug (looked up 100 at a time), and the seed's slugs.
rng = random.Random(1)
ids = [f"ins_syn{k:013d}" for k in rng.sample(range(n - 2 * threads * per_thread), min(sample, n - 2 * threads * per_thread))]
slugs = []
for k in range(0, len(ids), 100):
    _, _, page = get("/v1/institutes?status=all&limit=100&ids=" + ",".join(ids[k:k + 100]))
    slugs += [r["slug"] for r in page["items"]]
seed = [r["slug"] for r in json.load(open("data/institutes.json"))]
with open(f"{out}/reads.tsv", "w") as f:
    for s in slugs:
        assert s.startswith("synthetic-") and s not in written
        f.write(f"synthetic\t/v1/institutes/{s}\n")
    for s in seed:
        f.write(f"seed\t/v1/institutes/{s}\n")
print(f"{len(targets)} write targets, {len(slugs)} synthetic and {len(seed)} seed slugs to read")
PY

# Every read path answers 200 before the run (a typo in load.lua must not pass for load).
preflight=$(grep -oE '"/v1/[^"]*[^/"]"' scripts/load.lua | tr -d '"'; cut -f2 "$LOAD_DIR/reads.tsv"; sed -n 's/^seed\t\(.*\)$/\1\/budgets/p' "$LOAD_DIR/reads.tsv")
bad=0
while read -r path; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE$path")
  [[ $code == 200 ]] || { echo "preflight: $path answered $code" >&2; bad=1; }
done <<<"$preflight"
(( bad == 0 )) || exit 1

RSS_BEFORE=$(rss)
LOG_START=$(wc -l <"$LOAD_DIR/server.log")
LOADAVG_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
echo "load: ${DATABASE_URL%%\?*}, $INSTITUTES institutes; wrk $THREADS threads, $CONNECTIONS connections, ${DURATION}s; server $WORKERS workers, pool $POOL_SIZE"
LOAD_KEY=$KEY LOAD_RUN=$RUN LOAD_READS=$LOAD_DIR/reads.tsv LOAD_WRITES=$LOAD_DIR/writes.tsv \
  LOAD_FIGURES=$LOAD_DIR/figures.tsv \
  LOAD_OUT=$LOAD_DIR/outcome.tsv \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout "$TIMEOUT" --latency -s scripts/load.lua "$BASE" \
  | tee "$LOAD_DIR/wrk.txt"
RSS_AFTER=$(rss)
LOADAVG_AFTER=$(cut -d" " -f1-3 /proc/loadavg)

# The proof, through the API, and the report.
python3 - "$BASE" "$LOAD_DIR" "$RSS_BEFORE" "$RSS_AFTER" "$LOADAVG_BEFORE" "$LOADAVG_AFTER" "$(nproc)" "$LOG_START" "$CONNECTIONS" <<'PY'
import json, re, sys, urllib.request
base, out, rss_before, rss_after, load_before, load_after, cores, log_start, connections = sys.argv[1:10]
wrk = open(f"{out}/wrk.txt").read()
before = json.load(open(f"{out}/before.json"))
statuses, counts, latency, summary, institutes, figures = {}, {}, {}, {}, [], []
for line in open(f"{out}/outcome.tsv"):
    kind, *f = line.rstrip("\n").split("\t")
    if kind == "institute":
        institutes.append((f[1], int(f[2]), f[3], f[4]))
    elif kind == "figures":
        figures.append((f[1], int(f[2]), int(f[3])))
    elif kind == "status":
        statuses[int(f[0])] = int(f[1])
    elif kind == "count":
        counts[f[0]] = int(f[1])
    elif kind == "latency":
        latency[f[0]] = int(f[1])
    elif kind == "summary":
        summary[f[0]] = int(f[1])

def get(path):
    with urllib.request.urlopen(base + path) as r:
        return json.load(r)

lost, extra = [], []
for i, acked, last, inflight in institutes:
    rec = get(f"/v1/institutes/{i}")
    hist = get(f"/v1/institutes/{i}/history?limit=1")["total"]
    b = before[i]
    dv, dh = rec["version"] - b["version"], hist - b["history"]
    expected = last if acked else b["description"]
    ok_plain = rec.get("description") == expected and dv == acked and dh == acked
    # A write unanswered when wrk stopped may have landed after its predecessor.
    ok_late = inflight != "-" and rec.get("description") == inflight and dv == acked + 1 and dh == acked + 1
    if not (ok_plain or ok_late):
        problem = f"{i}: acknowledged {acked} writes (last {last}), in flight {inflight}; " \
                  f"now description {rec.get('description')!r}, version +{dv}, history +{dh}"
        (lost if dv < acked or rec.get("description") != expected else extra).append(problem)

for i, acked, inflight in figures:
    series = get(f"/v1/institutes/{i}/headcounts")
    added = len(series["items"] if isinstance(series, dict) else series) - before[i]["headcounts"]
    if not acked <= added <= acked + inflight:
        problem = f"{i}: {acked} headcount entries acknowledged, {inflight} unanswered at stop; {added} added"
        (lost if added < acked else extra).append(problem)

def wrk_line(pattern):
    m = re.search(pattern, wrk, re.M)
    return m.group(1) if m else None

non2xx = sum(c for s, c in statuses.items() if not 200 <= s < 300)
socket = wrk_line(r"^\s*Socket errors: (.*)$")
requests = summary.get("requests", 0)
secs = summary.get("duration_us", 1) / 1e6
ms = lambda us: f"{us / 1000:.2f} ms"
inflight_at_stop = sum(1 for *_, f in institutes if f != "-")
print()
print("| figure | value |")
print("|---|---|")
print(f"| requests | {requests} in {secs:.1f} s |")
print(f"| throughput | {requests / secs:.1f} requests/s |")
print(f"| reads sent / writes sent | {counts.get('reads', 0)} / {counts.get('writes', 0)} |")
print(f"| writes acknowledged (2xx) | {counts.get('acked', 0)} on {len(institutes)} institutes ({inflight_at_stop} unanswered at stop) |")
print(f"| headcount entries sent / acknowledged | {counts.get('figure_writes', 0)} / {counts.get('figure_acked', 0)} on {len(figures)} institutes |")
print(f"| write answers matching no write in flight | {counts.get('unmatched', 0)} |")
print(f"| latency p50 / p90 / p99 / max | {ms(latency['p50'])} / {ms(latency['p90'])} / {ms(latency['p99'])} / {ms(latency['max'])} |")
print(f"| statuses | {', '.join(f'{s}: {c}' for s, c in sorted(statuses.items()))} |")
print(f"| non-2xx responses | {non2xx} |")
print(f"| socket errors | {socket or 'none'} |")
print(f"| lost updates | {len(lost)} |")
print(f"| unexpected extra updates | {len(extra)} |")
print(f"| server RSS before / after | {rss_before} / {rss_after} |")
print(f"| machine load average before / after ({cores} cores) | {load_before} / {load_after} |")
for p in lost + extra:
    print("  " + p)
# With RUST_LOG=info the server logged each request with its time: where that time went.
by = {}
for n, line in enumerate(open(f"{out}/server.log", errors="replace")):
    if n < int(log_start):
        continue  # before the run: start-up and preflight
    m = re.search(r'"(\w+) (\S+) HTTP[^"]*" \d+ \S+ ([\d.]+)ms', line)
    if not m:
        continue
    method, path, ms = m.group(1), m.group(2), float(m.group(3))
    if method == "PATCH":
        key = "PATCH /v1/institutes/{synthetic}"
    elif method == "POST":
        key = "POST /v1/institutes/{synthetic}/headcounts"
    elif "ids=" in path or "/history" in path or "/ins_syn" in path or not path.startswith("/v1/"):
        continue  # set-up and verification, not the load
    elif path.startswith("/v1/institutes/synthetic-"):
        key = "GET /v1/institutes/{synthetic slug}"
    elif re.fullmatch(r"/v1/institutes/[a-z0-9-]+/budgets", path):
        key = "GET /v1/institutes/{seed slug}/budgets"
    elif re.fullmatch(r"/v1/institutes/[a-z0-9-]+", path) and not path.endswith("/suggest"):
        key = "GET /v1/institutes/{seed slug}"
    else:
        key = f"{method} {path}"
    by.setdefault(key, []).append(ms)
if by:
    total = sum(sum(v) for v in by.values())
    print("\nServer time by request (from the server's log):\n")
    print("| share of server time | requests | mean | max | request |")
    print("|---|---|---|---|---|")
    for key, v in sorted(by.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {100 * sum(v) / total:.1f}% | {len(v)} | {sum(v) / len(v):.1f} ms | {max(v):.1f} ms | `{key}` |")

# At most one request per connection is in flight when wrk stops; more unanswered writes
# means some answers were never recognised as theirs.
unrecognised = inflight_at_stop > int(connections)
if unrecognised:
    print(f"{inflight_at_stop} writes unanswered at stop, more than the {connections} connections")
failed = (non2xx or socket or lost or extra or unrecognised or counts.get("unmatched", 0)
          or counts.get("acked", 0) == 0 or counts.get("figure_acked", 0) == 0)
print("\nFAILED" if failed else "\nOK: no errors, every acknowledged write is there")
sys.exit(1 if failed else 0)
PY
