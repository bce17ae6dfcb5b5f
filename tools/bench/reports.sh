#!/usr/bin/env bash
# Operators' reports benchmark: imports realistic retail commands (`loyalty generate --commands`,
# under the example rules), then times the rebuild of the `activity` projection (events/s) and
# each report (`report kpis` by month and store, by week and brand, `report cohorts`,
# `report warnings`; RUNS runs each: median, min..max, wall time of the whole command including
# opening the ledger). Writes tools/bench/results/reports-<time>.json.
#   COMMANDS  commands imported (default 1000000, about 1.7 million events)
#   MEMBERS   members (default COMMANDS / 20)
#   RUNS      runs per measurement (default 3)
#   BIN       a loyalty binary to time instead of building the release one (figures of a debug
#             build are not comparable)
#   WORK      ledger folder (default: a temporary one, removed at the end unless KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
COMMANDS="${COMMANDS:-1000000}"; MEMBERS="${MEMBERS:-$((COMMANDS / 20))}"; RUNS="${RUNS:-3}"
if [ -z "${BIN:-}" ]; then
  swift build -c release --static-swift-stdlib --product loyalty >/dev/null
  BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
fi
WORK="${WORK:-$(mktemp -d -t reports-bench.XXXXXX)}"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
L="$WORK/ledger"
OUT="$WORK/results.txt"; : > "$OUT"
if [ ! -d "$L" ]; then
  "$BIN" init --ledger "$L" >/dev/null
  "$BIN" program publish schemas/examples/retail.rules.json --at 2024-01-01 --ledger "$L" >/dev/null
  "$BIN" generate --commands --count "$COMMANDS" --members "$MEMBERS" --seed 7 --start 2024-06-03 --days 730 > "$WORK/commands.jsonl"
  "$BIN" import "$WORK/commands.jsonl" --ledger "$L" 2>/dev/null | tail -1 || true
  rm -f "$WORK/commands.jsonl"
  "$BIN" targets set --store S001 --month 2026-05 --enrollments 300 --ledger "$L" >/dev/null
fi
events=$("$BIN" stats --ledger "$L" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['eventCount'])")
members=$("$BIN" stats --ledger "$L" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['memberCount'])")
"$BIN" projections catch-up --ledger "$L" >/dev/null 2>&1
for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  "$BIN" projections rebuild activity --ledger "$L" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "rebuild $(python3 -c "print(round($end - $start, 3))")" | tee -a "$OUT"
done
AS_OF=2026-06-01
for report in "kpis --period month --by store" "kpis --period week --by brand" "cohorts" "warnings --in 2026-05" "segments" "categories"; do
  for run in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$BIN" report $report --as-of "$AS_OF" --format json --ledger "$L" > "$WORK/report.json" 2>/dev/null
    end=$(date +%s.%N)
    echo "report ${report// /_} $(python3 -c "print(round($end - $start, 3))")" | tee -a "$OUT"
  done
done
mkdir -p tools/bench/results
python3 - "$OUT" "$(git rev-parse --short HEAD)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$events" "$members" <<'PY'
import json, statistics, sys, time, collections
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
events, members = int(sys.argv[5]), int(sys.argv[6])
def summary(values): return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}
out = {"scenario": "reports", "gitCommit": sys.argv[2], "nproc": int(sys.argv[3]), "loadAverageAtEnd": sys.argv[4],
       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "events": events, "members": members, "reports": {}}
rebuild = [float(r[1]) for r in rows if r[0] == "rebuild"]
out["activityRebuildSeconds"] = summary(rebuild)
out["activityRebuildEventsPerSecond"] = round(events / statistics.median(rebuild))
print(f"{events} events, {members} members; activity rebuild {summary(rebuild)} s ({out['activityRebuildEventsPerSecond']} events/s)")
by = collections.OrderedDict()
for r in rows:
    if r[0] == "report": by.setdefault(r[1].replace("_", " "), []).append(float(r[2]))
for name, values in by.items():
    out["reports"][name] = {"wallSeconds": summary(values)}
    print(f"report {name}: {summary(values)} s")
path = f"tools/bench/results/reports-{int(time.time())}.json"
json.dump(out, open(path, "w"), indent=2)
print("wrote", path)
PY
