#!/usr/bin/env bash
# The HTTP API under load over loopback (issue 15): `wrk` (Debian's) against a release
# `loyalty serve` on a ledger of MEMBERS members, 64 connections, server and load on the same 2
# cores. RUNS runs of SECONDS each per scenario; prints requests/s and p50/p99 latency per run,
# their median and spread, and writes tools/bench/results/http-<stamp>.json.
#   balance:  GET /v1/members/{id}/balance, random members         (target >= 30,000 req/s, p99 < 10 ms)
#   purchase: POST /v1/purchases, distinct ids, full durability     (target >= 10,000 req/s, p99 < 50 ms)
# The same work without HTTP (the application called in process, 64 concurrent callers) is
# `ledger-bench app-balance` / `app-purchase` (tools/bench/run.sh), so the cost of HTTP shows.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y wrk >/dev/null; }
MEMBERS="${MEMBERS:-20000}"; RUNS="${RUNS:-3}"; SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"; CONNECTIONS="${CONNECTIONS:-64}"
SCENARIOS="${SCENARIOS:-balance purchase}"
swift build -c release --static-swift-stdlib --product loyalty >/dev/null
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
WORK="$(mktemp -d -t http-bench.XXXXXX)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

python3 - "$WORK" "$MEMBERS" <<'PY'
import sys
work, members = sys.argv[1], int(sys.argv[2])
with open(f"{work}/members.csv", "w") as f:
    f.write("member_id,enrolled_at,store_id,birth_date,gender\n")
    for i in range(members):
        f.write(f"C{i:07d},2026-01-01,S{i % 40:03d},,\n")
with open(f"{work}/purchases.csv", "w") as f:
    f.write("member_id,purchase_id,occurred_at,amount,currency,store_id\n")
    for i in range(members * 3):
        f.write(f"C{i % members:07d},T{i:09d},2026-02-{1 + i % 28:02d}T10:00:00Z,{10 + i % 90}.00,EUR,S{i % 40:03d}\n")
PY
"$BIN" init --ledger "$WORK/ledger" >/dev/null
"$BIN" import "$WORK/members.csv" --ledger "$WORK/ledger" >/dev/null
"$BIN" import "$WORK/purchases.csv" --ledger "$WORK/ledger" >/dev/null
KEY=""
if "$BIN" --help | grep -q "api-keys"; then
  KEY="$("$BIN" api-keys create bench --role operator --ledger "$WORK/ledger" 2>/dev/null | head -n 1)"
fi
export KEY MEMBERS

"$BIN" serve --ledger "$WORK/ledger" --listen 127.0.0.1:0 --no-jobs >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 600); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT="$(grep -o '[0-9]*$' "$WORK/serve.out" | head -1)"
[ -n "$PORT" ] || { cat "$WORK/serve.err" >&2; echo "the server did not start" >&2; exit 1; }

: > "$WORK/results"
for scenario in $SCENARIOS; do
  for run in $(seq 1 "$RUNS"); do
    RUN="$run" wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "tools/bench/wrk/$scenario.lua" "http://127.0.0.1:$PORT" \
      >"$WORK/wrk.out" 2>"$WORK/wrk.err" || { cat "$WORK/wrk.out" "$WORK/wrk.err" >&2; exit 1; }
    line="$(grep '^RESULT' "$WORK/wrk.out")"
    echo "$scenario $line" >> "$WORK/results"
    bad="$(head -3 "$WORK/wrk.err")"
    [ -z "$bad" ] || echo "  (non-2xx answers, first: $bad)" >&2
    set -- $line
    python3 -c "r,d,p50,p99,e=$2,$3,$4,$5,$6; print(f'$scenario run $run: {r/(d/1e6):,.0f} req/s, p50 {p50/1000:.2f} ms, p99 {p99/1000:.2f} ms, {e} errors')"
  done
done
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""

mkdir -p tools/bench/results
python3 - "$WORK/results" "tools/bench/results/http-$(date -u +%Y%m%dT%H%M%SZ).json" "$CONNECTIONS" "$SECONDS_PER_RUN" "$MEMBERS" <<'PY'
import json, statistics, sys, subprocess
rows = [l.split() for l in open(sys.argv[1])]
out = {"connections": int(sys.argv[3]), "secondsPerRun": int(sys.argv[4]), "members": int(sys.argv[5]),
       "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(), "scenarios": {}}
for name in dict.fromkeys(r[0] for r in rows):
    runs = [dict(rps=int(r[2]) / (int(r[3]) / 1e6), p50ms=int(r[4]) / 1000, p99ms=int(r[5]) / 1000, errors=int(r[6])) for r in rows if r[0] == name]
    med = {k: statistics.median(x[k] for x in runs) for k in ("rps", "p50ms", "p99ms")}
    out["scenarios"][name] = {"runs": runs, "median": med}
    rps = [x["rps"] for x in runs]; p99 = [x["p99ms"] for x in runs]
    print(f"{name}: median {med['rps']:,.0f} req/s ({min(rps):,.0f} .. {max(rps):,.0f}), p99 {med['p99ms']:.2f} ms ({min(p99):.2f} .. {max(p99):.2f}), {len(runs)} runs")
json.dump(out, open(sys.argv[2], "w"), indent=2)
print("wrote", sys.argv[2])
PY
