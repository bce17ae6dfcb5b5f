#!/usr/bin/env bash
# Builds the benchmarks in release mode and runs one scenario N times (default 3), printing each
# run's headline figure and their median and spread. Usage: tools/bench/run.sh SCENARIO [N] [ARGS...]
set -euo pipefail
cd "$(dirname "$0")"
../install-deps.sh
scenario="$1"; runs="${2:-3}"; shift; shift || true
swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)/LedgerBench"
mkdir -p results
files=()
for i in $(seq 1 "$runs"); do
  f="results/${scenario}-run${i}-$(date +%s).json"
  "$bin" "$scenario" --json "$f" "$@"
  files+=("$f")
done
python3 - "${files[@]}" <<'PY'
import json, statistics, sys
reports = [json.load(open(f)) for f in sys.argv[1:]]
keys = sorted(reports[0]["figures"])
print(f"\n{reports[0]['scenario']}: median of {len(reports)} runs (min .. max)")
for k in keys:
    values = [r["figures"][k] for r in reports]
    print(f"  {k:28} {statistics.median(values):14.1f}   ({min(values):.1f} .. {max(values):.1f})")
PY
