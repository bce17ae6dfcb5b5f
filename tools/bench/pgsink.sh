#!/usr/bin/env bash
# PostgreSQL sink throughput (issue 18): a ledger pre-built from `loyalty generate --commands`
# (COMMANDS commands for MEMBERS members), followed into a fresh database by
# `loyalty sink postgres --stop-at-head` RUNS times. Prints events/s per run (the sink's own
# figure: from its start to caught up, connection and migration included), their median and
# spread, and writes results/pgsink-<time>.json. PostgreSQL (Debian's, installed when missing)
# runs as the `postgres` user on a private Unix socket with default durability (fsync on).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
COMMANDS="${COMMANDS:-200000}"; MEMBERS="${MEMBERS:-20000}"; RUNS="${RUNS:-3}"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z $PGBIN || ! -x $PGBIN/initdb ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
swift build -c release --static-swift-stdlib --product loyalty >/dev/null
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/loyalty"
WORK="$(mktemp -d -t pgsink-bench.XXXXXX)"
chown postgres "$WORK"
pg() { runuser -u postgres -- "$@"; }
cleanup() { pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
pg "$PGBIN/pg_ctl" -D "$WORK/pg" -o "-k $WORK -c listen_addresses='' -p 5432 -c max_wal_size=4GB" -l "$WORK/pg.log" -w start >/dev/null
"$BIN" init --ledger "$WORK/ledger" >/dev/null
"$BIN" generate --commands --count "$COMMANDS" --members "$MEMBERS" > "$WORK/commands.jsonl"
"$BIN" import "$WORK/commands.jsonl" --ledger "$WORK/ledger" >/dev/null
: > "$WORK/rates"
for run in $(seq 1 "$RUNS"); do
  pg psql -X -q -h "$WORK" -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench" >/dev/null
  "$BIN" sink postgres --url "postgres://postgres@/bench?host=$WORK" --ledger "$WORK/ledger" --stop-at-head 2> "$WORK/sink.err"
  line=$(grep "caught up at position" "$WORK/sink.err" | tail -1)
  rate=$(sed -E 's/.*\(([0-9]+) events\/s\).*/\1/' <<< "$line")
  echo "run $run: $line"
  echo "$rate" >> "$WORK/rates"
done
mkdir -p tools/bench/results
python3 - "$COMMANDS" "$MEMBERS" "$(cat "$WORK/rates")" <<'PY'
import json, statistics, sys, time
commands, members, rates = int(sys.argv[1]), int(sys.argv[2]), [int(r) for r in sys.argv[3].split()]
print(f"pgsink: median {statistics.median(rates)} events/s ({min(rates)} .. {max(rates)}), {len(rates)} runs, {commands} commands for {members} members")
json.dump({"scenario": "pgsink", "parameters": {"commands": commands, "members": members},
           "figures": {"eventsPerSecond": statistics.median(rates), "min": min(rates), "max": max(rates), "runs": rates}},
          open(f"tools/bench/results/pgsink-{int(time.time())}.json", "w"), indent=2)
PY
