#!/usr/bin/env bash
# End-to-end CSV import throughput (issue 3): PURCHASES purchases (each a purchase event plus an
# accrual) for MEMBERS enrolled members, under full durability, RUNS times on fresh ledgers.
# Prints purchases/s per run, their median and spread, and writes results/import-<time>.json.
# BASELINE=/path/to/another/loyalty runs it too, alternately with this tree's (baseline first),
# and prints both medians and each run's user+sys CPU: a comparison on this noisy machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
PURCHASES="${PURCHASES:-200000}"; MEMBERS="${MEMBERS:-20000}"; RUNS="${RUNS:-3}"
swift build -c release --static-swift-stdlib --product loyalty >/dev/null
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
WORK="$(mktemp -d -t import-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK" "$PURCHASES" "$MEMBERS" <<'PY'
import random, sys
work, purchases, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
with open(f"{work}/members.csv", "w") as f:
    f.write("member_id,enrolled_at,store_id,birth_date,gender\n")
    for i in range(members):
        f.write(f"C{i:07d},2026-01-01,S{i % 40:03d},{1950 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d},{'female' if i % 2 else 'male'}\n")
with open(f"{work}/purchases.csv", "w") as f:
    f.write("member_id,purchase_id,occurred_at,amount,currency,store_id\n")
    for i in range(purchases):
        f.write(f"C{random.randrange(members):07d},T{i:09d},2026-02-{1 + i % 28:02d}T{8 + i % 12:02d}:{i % 60:02d}:00Z,"
                f"{random.randrange(150, 30000) / 100:.2f},EUR,S{i % 40:03d}\n")
PY
# One timed import with BIN; appends "rate cpu-seconds" to the file $2.
one_run() {
  local bin=$1 out=$2
  rm -rf "$WORK/ledger"
  "$bin" init --ledger "$WORK/ledger" >/dev/null
  "$bin" import "$WORK/members.csv" --ledger "$WORK/ledger" >/dev/null
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$bin" import "$WORK/purchases.csv" --ledger "$WORK/ledger" >/dev/null
  end=$(date +%s.%N)
  python3 -c "u, s = open('$WORK/cpu').read().split()[-2:]; print(round($PURCHASES / ($end - $start)), round(float(u) + float(s), 2))" >> "$out"
}
: > "$WORK/rates"; : > "$WORK/baseline"
for run in $(seq 1 "$RUNS"); do
  if [[ -n ${BASELINE:-} ]]; then
    one_run "$BASELINE" "$WORK/baseline"
    echo "run $run: baseline $(tail -1 "$WORK/baseline" | cut -d' ' -f1) purchases/s ($(tail -1 "$WORK/baseline" | cut -d' ' -f2) s CPU)"
  fi
  one_run "$BIN" "$WORK/rates"
  echo "run $run: $(tail -1 "$WORK/rates" | cut -d' ' -f1) purchases/s ($(tail -1 "$WORK/rates" | cut -d' ' -f2) s CPU)"
done
if [[ -n ${BASELINE:-} ]]; then
  python3 -c "
import statistics
r = [int(l.split()[0]) for l in open('$WORK/baseline')]
print(f'baseline: median {statistics.median(r)} purchases/s ({min(r)} .. {max(r)})')"
fi
rates=($(cut -d' ' -f1 "$WORK/rates"))
mkdir -p tools/bench/results
python3 - "$PURCHASES" "${rates[@]}" <<'PY'
import json, statistics, sys, time
purchases, rates = int(sys.argv[1]), [int(r) for r in sys.argv[2:]]
print(f"import: median {statistics.median(rates)} purchases/s ({min(rates)} .. {max(rates)}), {len(rates)} runs of {purchases}")
json.dump({"scenario": "import", "parameters": {"purchases": purchases}, "figures": {"purchasesPerSecond": statistics.median(rates),
           "min": min(rates), "max": max(rates)}}, open(f"tools/bench/results/import-{int(time.time())}.json", "w"), indent=2)
PY
