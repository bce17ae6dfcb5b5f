#!/usr/bin/env bash
# Constant-time open (issue 14), through the real CLI (release build, full durability):
#  1. one `loyalty adjust` on a ledger of EVENTS events (MEMBERS members) against the same command
#     on an empty ledger, RUNS interleaved pairs (wall time of the whole process: open, decide,
#     commit, flush, close);
#  2. resident memory (max RSS) of that adjust at half and at all of the events: it must not grow
#     with the events;
#  3. the first `loyalty balance` after an import of 1,000,000 events (500,000 purchases), RUNS
#     times on a copy of the big ledger (so it grows by 1M events per run).
# The big ledger is made once and kept at BIG (default /tmp/open-bench-<EVENTS>): minutes of import.
# Prints every run, the medians with min .. max, and writes tools/bench/results/open-<time>.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
EVENTS="${EVENTS:-10000000}"; MEMBERS="${MEMBERS:-1000000}"; RUNS="${RUNS:-3}"
BIG="${BIG:-/tmp/open-bench-$EVENTS}"
swift build -c release --static-swift-stdlib --product loyalty >/dev/null
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
WORK="$(mktemp -d -t open-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
PURCHASES=$(( (EVENTS - MEMBERS) / 2 ))
HALF=$(( PURCHASES / 2 ))

# Members enrolled in 2024; purchases spread over 2025-01-01 .. 2026-10-31 (never in the future).
gen() {  # gen KIND FIRST COUNT FILE
  python3 - "$1" "$2" "$3" "$4" "$MEMBERS" <<'PY'
import random, sys
kind, first, count, path, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
random.seed(first + 11)
with open(path, "w") as f:
    if kind == "members":
        f.write("member_id,enrolled_at,store_id,birth_date,gender\n")
        for i in range(first, first + count):
            f.write(f"C{i:07d},2024-{1 + i % 12:02d}-{1 + i % 28:02d},S{i % 40:03d},{1950 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d},{'female' if i % 2 else 'male'}\n")
    else:
        f.write("member_id,purchase_id,occurred_at,amount,currency,store_id\n")
        days = 669  # 2025-01-01 .. 2026-10-31
        for i in range(first, first + count):
            d = i * days // 10_000_000 % days
            y, doy = (2025, d) if d < 365 else (2026, d - 365)
            months = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            m = 0
            while doy >= months[m]: doy -= months[m]; m += 1
            f.write(f"C{random.randrange(members):07d},T{i:010d},{y}-{m + 1:02d}-{doy + 1:02d}T{8 + i % 12:02d}:{i % 60:02d}:00Z,"
                    f"{random.randrange(150, 30000) / 100:.2f},EUR,S{i % 40:03d}\n")
PY
}

rss_adjust() {  # rss_adjust LEDGER KEY -> "milliseconds kilobytes"
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$WORK/rss" "$BIN" adjust C0000001 --points 5 --reason bench --id "$2" --ledger "$1" >/dev/null
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 )) $(tail -1 "$WORK/rss")"
}

if [[ ! -f "$BIG/.complete" ]]; then
  rm -rf "$BIG"
  echo "making $BIG: $MEMBERS members, $PURCHASES purchases (about $EVENTS events)"
  "$BIN" init --ledger "$BIG" >/dev/null
  gen members 0 "$MEMBERS" "$WORK/members.csv"
  "$BIN" import "$WORK/members.csv" --ledger "$BIG" >/dev/null
  gen purchases 0 "$HALF" "$WORK/p1.csv"
  "$BIN" import "$WORK/p1.csv" --ledger "$BIG" >/dev/null
  rm -f "$WORK/p1.csv"
  "$BIN" stats --ledger "$BIG" --format json > "$BIG/.half-stats.json" || true
  rss_adjust "$BIG" half-size > "$BIG/.half-rss"
  gen purchases "$HALF" "$(( PURCHASES - HALF ))" "$WORK/p2.csv"
  "$BIN" import "$WORK/p2.csv" --ledger "$BIG" >/dev/null
  rm -f "$WORK/p2.csv"
  touch "$BIG/.complete"
fi
HEAD=$("$BIN" stats --ledger "$BIG" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['headPosition'])")
echo "big ledger: $BIG, head $HEAD"

# 1 and 2: adjust, empty against big, interleaved.
rm -rf "$WORK/empty"
"$BIN" init --ledger "$WORK/empty" >/dev/null
"$BIN" enroll C0000001 --store S001 --at 2024-01-01 --ledger "$WORK/empty" >/dev/null
: > "$WORK/adjust"
for run in $(seq 1 "$RUNS"); do
  stamp=$(date +%s%N)
  read -r e_ms e_kb < <(rss_adjust "$WORK/empty" "e-$stamp")
  read -r b_ms b_kb < <(rss_adjust "$BIG" "b-$stamp")
  echo "run $run: adjust on the empty ledger $e_ms ms ($e_kb KB), on $HEAD events $b_ms ms ($b_kb KB)"
  echo "$e_ms $e_kb $b_ms $b_kb" >> "$WORK/adjust"
done
read -r half_ms half_kb < "$BIG/.half-rss"
echo "adjust at about half the events (when the big ledger was made): $half_ms ms, $half_kb KB"

# 3: first balance after an import of 1,000,000 events.
cp -a "$BIG" "$WORK/copy"
: > "$WORK/balance"
for run in $(seq 1 "$RUNS"); do
  gen purchases "$(( 100000000 + run * 500000 ))" 500000 "$WORK/more.csv"
  "$BIN" import "$WORK/more.csv" --ledger "$WORK/copy" >/dev/null
  start=$(date +%s%N)
  "$BIN" balance C0000002 --ledger "$WORK/copy" >/dev/null
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  echo "run $run: first balance after importing 1,000,000 events: $ms ms"
  echo "$ms" >> "$WORK/balance"
done

mkdir -p tools/bench/results
python3 - "$WORK" "$HEAD" "$half_kb" <<'PY'
import json, statistics, sys, time
work, head, half_kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [list(map(int, l.split())) for l in open(f"{work}/adjust")]
balance = [int(l) for l in open(f"{work}/balance")]
def med(xs): return statistics.median(xs), min(xs), max(xs)
e, b = med([r[0] for r in rows]), med([r[2] for r in rows])
ratio = b[0] / e[0] if e[0] else float("inf")
print(f"adjust, empty ledger: median {e[0]} ms ({e[1]} .. {e[2]})")
print(f"adjust, {head} events: median {b[0]} ms ({b[1]} .. {b[2]}); {ratio:.2f}x the empty ledger")
print(f"adjust max RSS: {med([r[1] for r in rows])[0]} KB empty, {med([r[3] for r in rows])[0]} KB at {head} events, {half_kb} KB at about half")
print(f"first balance after an import of 1M events: median {med(balance)[0]} ms ({min(balance)} .. {max(balance)})")
json.dump({"scenario": "open", "parameters": {"events": head, "runs": len(rows)},
           "figures": {"adjustEmptyMs": e, "adjustBigMs": b, "ratio": round(ratio, 2),
                       "adjustRssKB": {"empty": med([r[1] for r in rows])[0], "big": med([r[3] for r in rows])[0], "half": half_kb},
                       "firstBalanceAfterImportMs": med(balance)}},
          open(f"tools/bench/results/open-{int(time.time())}.json", "w"), indent=2)
PY
