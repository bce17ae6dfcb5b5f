#!/usr/bin/env bash
# Disputes and reconciliation benchmark: builds one ledger in stages (realistic retail commands
# from `loyalty generate --commands`, under the example rules) plus one member with about 10,000
# events, and after each stage times `loyalty reconcile` (RUNS runs: median, min..max); at the
# end times `loyalty history` of the heavy member (RUNS runs). Writes
# tools/bench/results/audit-<time>.json.
#   STAGE_COMMANDS  commands imported per stage (default 300000, about 520,000 events)
#   STAGES          number of stages (default 4)
#   RUNS            runs per measurement (default 3)
#   WORK            ledger folder (default: a temporary one, removed at the end unless KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
STAGE_COMMANDS="${STAGE_COMMANDS:-300000}"; STAGES="${STAGES:-4}"; RUNS="${RUNS:-3}"
swift build -c release --static-swift-stdlib --product loyalty >/dev/null
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
WORK="${WORK:-$(mktemp -d -t audit-bench.XXXXXX)}"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
L="$WORK/ledger"
OUT="$WORK/results.txt"; : > "$OUT"
rm -rf "$L"
"$BIN" init --ledger "$L" >/dev/null
"$BIN" program publish schemas/examples/retail.rules.json --at 2025-01-01 --ledger "$L" >/dev/null
# The heavy member: 4,500 purchases (purchase + accrual each), 1,000 redemptions, a few late
# purchases (business time before events already recorded).
python3 - "$WORK/heavy.jsonl" <<'PY'
import random, sys
random.seed(11)
with open(sys.argv[1], "w") as f:
    f.write('{"command":"enroll","member":"HEAVY","store":"S001","occurredAt":"2026-01-01T08:00:00Z"}\n')
    minute = 0
    for i in range(5500):
        minute += 60
        day, rest = divmod(minute, 1440)
        at = f"2026-{1 + (day // 28) % 12:02d}-{1 + day % 28:02d}T{rest // 60:02d}:{rest % 60:02d}:00Z"
        if i % 11 == 10:
            f.write(f'{{"command":"redeem","member":"HEAVY","points":20,"redemptionId":"HR{i}","occurredAt":"{at}"}}\n')
        else:
            late = i % 50 == 49
            when = f"2026-01-01T{10 + i % 8:02d}:{i % 60:02d}:00Z" if late else at
            f.write(f'{{"command":"purchase","member":"HEAVY","purchaseId":"HP{i}","amount":"{random.randrange(500, 6000) / 100:.2f}","store":"S001","occurredAt":"{when}"}}\n')
PY
"$BIN" import "$WORK/heavy.jsonl" --ledger "$L" >/dev/null 2>&1 || true
"$BIN" generate --commands --count $((STAGE_COMMANDS * STAGES)) --members $((STAGE_COMMANDS * STAGES / 20)) --seed 5 > "$WORK/commands.jsonl"
for stage in $(seq 1 "$STAGES"); do
  sed -n "$(( (stage - 1) * STAGE_COMMANDS + 1 )),$(( stage * STAGE_COMMANDS ))p" "$WORK/commands.jsonl" > "$WORK/stage.jsonl"
  # The generator writes only commands the ledger accepts; `|| true` keeps a refusal (import
  # exits 1) from stopping the measurement.
  "$BIN" import "$WORK/stage.jsonl" --ledger "$L" 2>/dev/null | tail -1 || true
  events=$("$BIN" stats --ledger "$L" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['eventCount'])")
  for run in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    "$BIN" reconcile --ledger "$L" --report "$WORK/report.json" > "$WORK/reconcile.txt"
    end=$(date +%s.%N)
    split=$(grep '^time:' "$WORK/reconcile.txt" | sed -E 's/.*ready in ([0-9]+) ms.*comparison in ([0-9]+) ms/\1 \2/')
    echo "reconcile $events $(python3 -c "print(round($end - $start, 3))") $split" | tee -a "$OUT"
  done
done
heavy=$("$BIN" history HEAVY --ledger "$L" --format json | wc -l)
for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  "$BIN" history HEAVY --ledger "$L" --format json > /dev/null
  end=$(date +%s.%N)
  echo "history $heavy $(python3 -c "print(round($end - $start, 4))")" | tee -a "$OUT"
  start=$(date +%s.%N)
  "$BIN" balance HEAVY --as-of 2026-06-01 --ledger "$L" > /dev/null
  end=$(date +%s.%N)
  echo "asof $heavy $(python3 -c "print(round($end - $start, 4))")" | tee -a "$OUT"
done
mkdir -p tools/bench/results
python3 - "$OUT" "$(git rev-parse --short HEAD)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys, time, collections
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def summary(values): return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}
rec = collections.OrderedDict()
for r in rows:
    if r[0] == "reconcile": rec.setdefault(int(r[1]), []).append((float(r[2]), int(r[3]) / 1000, int(r[4]) / 1000))
out = {"scenario": "audit", "gitCommit": sys.argv[2], "nproc": int(sys.argv[3]), "loadAverageAtEnd": sys.argv[4],
       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "reconcile": [], "history": None, "asOf": None}
for events, runs in rec.items():
    entry = {"events": events, "wallSeconds": summary([x[0] for x in runs]), "sourceSeconds": summary([x[1] for x in runs]),
             "foldAndCompareSeconds": summary([x[2] for x in runs])}
    entry["foldEventsPerSecond"] = round(events / entry["foldAndCompareSeconds"]["median"])
    out["reconcile"].append(entry)
    print(f"reconcile {events} events: wall {entry['wallSeconds']}, source {entry['sourceSeconds']['median']} s, fold+compare {entry['foldAndCompareSeconds']['median']} s ({entry['foldEventsPerSecond']} events/s)")
for kind in ("history", "asof"):
    values = [float(r[2]) for r in rows if r[0] == kind]
    if values:
        out["history" if kind == "history" else "asOf"] = {"memberEvents": int([r for r in rows if r[0] == kind][0][1]), "seconds": summary(values)}
        print(f"{kind} of a member with {[r for r in rows if r[0] == kind][0][1]} events: {summary(values)}")
path = f"tools/bench/results/audit-{int(time.time())}.json"
json.dump(out, open(path, "w"), indent=2)
print("wrote", path)
PY
