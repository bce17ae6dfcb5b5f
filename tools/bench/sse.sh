#!/usr/bin/env bash
# The event stream's latency under load: a committed event reaches an SSE consumer within
# 10 ms at p99 while purchases are written at 5,000 per second through the HTTP API.
#
#   tools/bench/sse.sh [N] [ARGS...]      e.g. tools/bench/sse.sh 3 --rate 5000 --seconds 10
#
# Builds `loyalty` in release mode (LOYALTY_BIN overrides the binary), and N times (default 3):
# makes a fresh ledger, starts `loyalty serve` on a free loopback port, runs sse.py against it
# (ARGS go to sse.py: --rate, --seconds, --connections, --members), stops the server. Server and
# load share the machine. Prints each run's p99 (commit -> receipt), their median and min..max,
# and writes tools/bench/results/sse-<stamp>-run<i>.json and sse-<stamp>-summary.json.
set -euo pipefail
cd "$(dirname "$0")"
runs=3
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then runs="$1"; shift; fi

if [ -z "${LOYALTY_BIN:-}" ]; then
  (cd ../.. && swift build -c release --product loyalty >/dev/null)
  LOYALTY_BIN="$(cd ../.. && swift build -c release --show-bin-path)/loyalty"
fi
mkdir -p results
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
files=()
for i in $(seq 1 "$runs"); do
  dir="$(mktemp -d)"
  "$LOYALTY_BIN" init --ledger "$dir/ledger" >/dev/null
  "$LOYALTY_BIN" serve --ledger "$dir/ledger" --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
  server=$!
  for _ in $(seq 1 200); do grep -q "listening on" "$dir/serve.out" 2>/dev/null && break; sleep 0.05; done
  address="$(sed -n 's/^listening on //p' "$dir/serve.out")"
  f="results/sse-${stamp}-run${i}.json"
  echo "--- sse: run ${i} of ${runs} (${address})"
  python3 sse.py "$address" "$@" >"$f"
  kill -TERM "$server"; wait "$server" || true
  rm -rf "$dir"
  python3 - "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); c = r["commitToReceiptMs"]; s = r["sendToReceiptMs"]
print(f"  {r['purchasesPerSecondAchieved']} purchases/s ({r['eventsPerSecondAppended']} events/s): commit->receipt p50 {c['p50']} "
      f"p99 {c['p99']} max {c['max']} ms; send->receipt p50 {s['p50']} p99 {s['p99']} ms; all in order {r['allReceivedInOrder']}; "
      f"errors {r['requestErrors']}")
PY
  files+=("$f")
done
python3 - "results/sse-${stamp}-summary.json" "${files[@]}" <<'PY'
import json, statistics, sys
out, files = sys.argv[1], sys.argv[2:]
runs = [json.load(open(f)) for f in files]
def figure(get):
    values = [get(r) for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}
summary = {
    "benchmark": "sse-latency", "runs": len(runs), "files": files,
    "commitToReceiptP99Ms": figure(lambda r: r["commitToReceiptMs"]["p99"]),
    "commitToReceiptP50Ms": figure(lambda r: r["commitToReceiptMs"]["p50"]),
    "sendToReceiptP99Ms": figure(lambda r: r["sendToReceiptMs"]["p99"]),
    "purchasesPerSecondAchieved": figure(lambda r: r["purchasesPerSecondAchieved"]),
    "allReceivedInOrder": all(r["allReceivedInOrder"] for r in runs),
}
json.dump(summary, open(out, "w"), indent=2)
p99 = summary["commitToReceiptP99Ms"]
print(f"commit -> receipt p99: median {p99['median']} ms (min {p99['min']}, max {p99['max']}) over {len(runs)} runs; "
      f"purchases/s median {summary['purchasesPerSecondAchieved']['median']}; summary {out}")
PY
