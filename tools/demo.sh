#!/usr/bin/env bash
# The main job on the embedded default: a fresh ledger, a realistic batch of a retail chain's
# events, appended, replayed (idempotent), tailed, verified, with its stats.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build -c release --product loyalty
BIN="$(swift build -c release --show-bin-path)/loyalty"
LEDGER="${LEDGER:-./demo-ledger}"
EVENTS="${EVENTS:-200000}"
MEMBERS="${MEMBERS:-10000}"
DATA="$(mktemp -t demo-events.XXXXXX.jsonl)"
trap 'rm -f "$DATA"' EXIT
rm -rf "$LEDGER"

step() { printf '\n== %s\n' "$*"; }

step "create a ledger at $LEDGER"
"$BIN" init --ledger "$LEDGER"

step "generate $EVENTS realistic events for $MEMBERS members (enrollments, purchases, redemptions, returns)"
"$BIN" generate --count "$EVENTS" --members "$MEMBERS" > "$DATA"
head -n 2 "$DATA"

step "append them in atomic batches of 1,000 (full durability)"
time "$BIN" append --ledger "$LEDGER" --batch 1000 "$DATA"

step "append the same file again: every event carries an idempotency key, so nothing is written"
"$BIN" append --ledger "$LEDGER" --batch 1000 "$DATA"

step "a bad line is refused with its line number and field; nothing of its batch is written"
printf '%s\n' '{"type":"purchase.recorded","member":"M0000001","occurredAt":"2026-02-01T10:00:00Z","data":{"amount":12.5}}' \
  | "$BIN" append --ledger "$LEDGER" || echo "(exit code $?, as expected)"

step "tail the last three events (a downstream consumer resuming from its checkpoint)"
HEAD=$("$BIN" stats --ledger "$LEDGER" --format json | sed -n 's/.*"headPosition" : \([0-9]*\).*/\1/p')
"$BIN" tail --ledger "$LEDGER" --after $((HEAD - 3))

step "verify: re-walk the hash chain, every member stream and every index"
"$BIN" verify --ledger "$LEDGER"

step "stats"
"$BIN" stats --ledger "$LEDGER"
