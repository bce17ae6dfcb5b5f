#!/usr/bin/env bash
# Builds ledger-bench in release mode and runs one scenario N times (default 3), then prints each
# run's headline figure, their median and min..max spread, and the median of every other figure.
#
#   tools/bench/run.sh SCENARIO [N] [ARGS...]      e.g. tools/bench/run.sh online 3 --seconds 10
#
# SCENARIO: online | bulk | size | latency | read | tail | disk | proof. ARGS go to `ledger-bench SCENARIO`.
# Reports: tools/bench/results/<scenario>-<stamp>-run<i>.json and <scenario>-<stamp>-summary.json.
# The machine is shared: before each run the script waits (up to BENCH_QUIET_WAIT seconds, default
# 120) for a 2-second window in which other processes use less than BENCH_QUIET_CPU percent of one
# core (default 30), and records what they used during the run (otherProcessesCpuPercent).
set -euo pipefail
cd "$(dirname "$0")"
if [ $# -lt 1 ]; then sed -n 2,12p "$0"; exit 2; fi
scenario="$1"; shift
runs=3
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then runs="$1"; shift; fi

../install-deps.sh   # LMDB headers and library on a fresh machine (no-op otherwise)
swift build -c release --product ledger-bench >/dev/null
bin="$(swift build -c release --show-bin-path)/ledger-bench"

wait_for_quiet() {
  python3 - "${BENCH_QUIET_WAIT:-120}" "${BENCH_QUIET_CPU:-30}" <<'PY'
import os, sys, time
limit, threshold = float(sys.argv[1]), float(sys.argv[2])
tick = os.sysconf("SC_CLK_TCK")
def busy():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
start = time.time()
while True:
    a = busy(); time.sleep(2); b = busy()
    used = (b - a) / tick / 2 * 100
    if used < threshold:
        break
    if time.time() - start > limit:
        print(f"  (machine still busy: other processes use {used:.0f}% of a core; running anyway)", file=sys.stderr)
        break
    print(f"  (waiting for a quiet machine: other processes use {used:.0f}% of a core)", file=sys.stderr)
PY
}

mkdir -p results
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
files=()
for i in $(seq 1 "$runs"); do
  wait_for_quiet
  f="results/${scenario}-${stamp}-run${i}.json"
  echo "--- ${scenario}: run ${i} of ${runs}"
  "$bin" "$scenario" --json "$f" "$@"
  files+=("$f")
done

python3 - "results/${scenario}-${stamp}-summary.json" "${files[@]}" <<'PY'
import json, statistics, sys
out, paths = sys.argv[1], sys.argv[2:]
reports = [json.load(open(p)) for p in paths]
head = reports[0]["headline"]
units = reports[0].get("units", {})
def fmt(v):
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
values = [r["figures"][head] for r in reports]
busy = [r["figures"].get("otherProcessesCpuPercent", 0) for r in reports]
med = statistics.median(values)
spread = (max(values) - min(values)) / med * 100 if med else 0.0
print(f"\n{reports[0]['scenario']}: {len(reports)} runs, parameters {reports[0]['parameters']}")
print(f"  headline {head}: " + ", ".join(fmt(v) for v in values) + f" {units.get(head, '')}")
print(f"  median {fmt(med)}   min {fmt(min(values))}   max {fmt(max(values))}   spread (max-min)/median {spread:.1f}%")
limit = float(__import__("os").environ.get("BENCH_QUIET_CPU", "30"))
print("  other processes during each run (% of a core): " + ", ".join(f"{b:.0f}" for b in busy))
clean = [v for v, b in zip(values, busy) if b < limit]
if len(clean) < len(values):
    print(f"  {len(values) - len(clean)} run(s) shared the machine with other processes (>= {limit:.0f}% of a core);"
          + (f" median of the {len(clean)} quiet run(s): {fmt(statistics.median(clean))}" if clean else " no quiet run"))
print("  median of every figure (min .. max):")
summary = {"scenario": reports[0]["scenario"], "headline": head, "runs": paths, "parameters": reports[0]["parameters"],
           "machine": reports[0]["machine"], "gitCommit": reports[0].get("gitCommit"), "gitDirty": reports[0].get("gitDirty"),
           "otherProcessesCpuPercent": busy, "figures": {}}
for k in reports[0]["figures"]:
    vs = [r["figures"].get(k) for r in reports if k in r["figures"]]
    m = statistics.median(vs)
    summary["figures"][k] = {"median": m, "min": min(vs), "max": max(vs), "values": vs, "unit": units.get(k, "")}
    mark = "*" if k == head else " "
    print(f"   {mark}{k:40} {fmt(m):>14}   ({fmt(min(vs))} .. {fmt(max(vs))}) {units.get(k, '')}")
json.dump(summary, open(out, "w"), indent=2, sort_keys=True)
print(f"  summary: tools/bench/{out}")
PY
