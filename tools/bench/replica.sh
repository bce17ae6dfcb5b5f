#!/usr/bin/env bash
# Read replica benchmark: how fast `loyalty replicate` applies a log from a local `loyalty serve`.
# Builds a primary of EVENTS realistic events (`loyalty generate` + `loyalty append`), serves it
# on loopback (waiting for /ready, so the primary's projections are idle), then RUNS times
# replicates it into a fresh replica and times the whole run (creation, every page fetched,
# every record's chain hash checked, every commit synced). Prints events/s per run and the
# median with min..max; checks the last replica with `loyalty verify` and compares its head;
# writes tools/bench/results/replica-<time>.json.
#   EVENTS  events in the primary (default 1000000)
#   RUNS    replications timed (default 3)
#   WORK    folder (default: a temporary one, removed at the end unless KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
EVENTS="${EVENTS:-1000000}"; RUNS="${RUNS:-3}"
swift build -c release --static-swift-stdlib --product loyalty >/dev/null
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
WORK="${WORK:-$(mktemp -d -t replica-bench.XXXXXX)}"
SERVER=""
cleanup() {
  [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
P="$WORK/primary"; R="$WORK/replica"; OUT="$WORK/results.txt"; : > "$OUT"
rm -rf "$P" "$R"
"$BIN" init --ledger "$P" >/dev/null
"$BIN" generate --count "$EVENTS" --members $((EVENTS / 20 + 1)) --seed 7 > "$WORK/events.jsonl"
"$BIN" append "$WORK/events.jsonl" --ledger "$P" >/dev/null
KEY=$("$BIN" api-keys create bench-replica --role auditor --ledger "$P")
"$BIN" serve --ledger "$P" --listen 127.0.0.1:0 --no-jobs > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 1 600); do grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL="http://$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)"
python3 - "$URL" <<'PY'
import sys, time, urllib.request
for _ in range(6000):
    try:
        if urllib.request.urlopen(sys.argv[1] + "/ready", timeout=5).status == 200: break
    except Exception: pass
    time.sleep(0.1)
PY
HEAD=$("$BIN" stats --ledger "$P" --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['eventCount'])")
for run in $(seq 1 "$RUNS"); do
  rm -rf "$R"
  start=$(date +%s.%N)
  "$BIN" replicate --from "$URL" --api-key "$KEY" --ledger "$R" > "$WORK/replicate.out"
  end=$(date +%s.%N)
  echo "replicate $HEAD $(python3 -c "print(round($end - $start, 3))")" | tee -a "$OUT"
done
"$BIN" verify --ledger "$R" > /dev/null
[ "$("$BIN" stats --ledger "$R" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['headHash'])")" = \
  "$("$BIN" stats --ledger "$P" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['headHash'])")" ] \
  || { echo "the replica's head differs from the primary's" >&2; exit 1; }
mkdir -p tools/bench/results
python3 - "$OUT" "$(git rev-parse --short HEAD)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys, time
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
rates = [int(r[1]) / float(r[2]) for r in rows]
out = {"scenario": "replica", "gitCommit": sys.argv[2], "nproc": int(sys.argv[3]), "loadAverageAtEnd": sys.argv[4],
       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "events": int(rows[0][1]),
       "seconds": [float(r[2]) for r in rows],
       "eventsPerSecond": {"median": round(statistics.median(rates)), "min": round(min(rates)), "max": round(max(rates)), "runs": len(rates)},
       "target": 200000}
path = time.strftime("tools/bench/results/replica-%Y%m%dT%H%M%SZ.json", time.gmtime())
json.dump(out, open(path, "w"), indent=2)
e = out["eventsPerSecond"]
print(f"replicate {out['events']} events: median {e['median']} events/s (min {e['min']}, max {e['max']}, {e['runs']} runs); target 200000")
print(f"wrote {path}")
PY
