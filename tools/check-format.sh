#!/usr/bin/env bash
# Proves schemas/ledger-format.md against the implementation: tools/verify_ledger.py (written from
# the document alone) must read a ledger written by the real CLI exactly as `loyalty` does, and
# both verifiers must catch the same tampering at the same position.
#
#   tools/check-format.sh            # exit 0 when everything agrees
#
# Environment: LOYALTY (the CLI binary, default .build/debug/loyalty, built if missing),
# KEEP=1 keeps the temporary directory. Exit 1 on any disagreement.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LOYALTY=${LOYALTY:-$ROOT/.build/debug/loyalty}
VERIFY=(python3 "$ROOT/tools/verify_ledger.py")
export PYTHONDONTWRITEBYTECODE=1  # importing tools/verify_ledger.py must not leave tools/__pycache__

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# --- dependencies ------------------------------------------------------------------------------
if ! python3 -c 'import lmdb' 2>/dev/null; then
  step "installing the Python lmdb package"
  python3 -m pip install --quiet lmdb 2>/dev/null || python3 -m pip install --quiet --break-system-packages lmdb
fi

if [[ ! -x $LOYALTY ]]; then
  # Never run two SwiftPM builds at once in one checkout: wait for any running build first.
  waited=0
  while pgrep -x swift-build >/dev/null; do
    (( waited == 0 )) && echo "waiting for a running swift-build to finish..."
    (( waited >= 1800 )) && fail "a swift-build has been running for 30 minutes"
    sleep 5; waited=$((waited + 5))
  done
  if [[ ! -x $LOYALTY ]]; then
    step "building the CLI"
    swift build --product loyalty
  fi
fi
[[ -x $LOYALTY ]] || fail "no CLI at $LOYALTY"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-format.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then echo "keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
LEDGER=$WORK/ledger

head_of() { sed -nE 's/.*head ([0-9]+) ([0-9a-f]{64}).*/\1 \2/p' "$1" | tail -1; }
first_bad_of() { sed -nE 's/.*first bad position ([0-9]+|n\/a).*/\1/p' "$1" | tail -1; }

# Runs both verifiers on $1; writes $WORK/{swift,py}.{out,err,rc}.
run_both() {
  set +e
  "$LOYALTY" verify --ledger "$1" >"$WORK/swift.out" 2>"$WORK/swift.err"; echo $? >"$WORK/swift.rc"
  "${VERIFY[@]}" "$1" >"$WORK/py.out" 2>"$WORK/py.err"; echo $? >"$WORK/py.rc"
  set -e
}

show() { for f in swift.out swift.err py.out py.err; do [[ -s $WORK/$f ]] && sed "s/^/  [$f] /" "$WORK/$f" | head -8; done; true; }

# Both verifiers succeed and report the same head; prints "POSITION HASH".
expect_same_head() {
  run_both "$1"
  [[ $(cat "$WORK/swift.rc") == 0 ]] || { show; fail "loyalty verify failed on $1"; }
  [[ $(cat "$WORK/py.rc") == 0 ]] || { show; fail "verify_ledger.py failed on $1"; }
  local s p
  s=$(head_of "$WORK/swift.out"); p=$(head_of "$WORK/py.out")
  [[ -n $s && $s == "$p" ]] || { show; fail "heads differ: loyalty '$s', verify_ledger.py '$p'"; }
  echo "$s"
}

# --- the document's worked example ---------------------------------------------------------------
step "the worked example of schemas/ledger-format.md decodes and hashes as printed"
python3 - "$ROOT/schemas/ledger-format.md" "$ROOT/tools" <<'EOF'
import json, re, sys
sys.path.insert(0, sys.argv[2])
import verify_ledger as v
doc = open(sys.argv[1], encoding="utf-8").read()
example = doc[doc.index("## 11. Worked example"):doc.index("## 12.")]
blocks = re.findall(r"```\n(.*?)```", example, re.S)
records = [bytes.fromhex(b.replace("\n", "")) for b in blocks if re.fullmatch(r"[0-9a-f\n]+", b)]
lines = [json.loads(l) for b in blocks for l in b.splitlines() if l.startswith('{"position"')]
assert len(records) == len(lines) == 2, (len(records), len(lines))
h = v.GENESIS
for position, (record, line) in enumerate(zip(records, lines), start=1):
    e = v.decode_record(position, record)
    h = v.chain_next(h, position, record)
    assert h.hex() == line["hash"], (position, h.hex(), line["hash"])
    assert v.rfc3339(e["recordedAt"]) == line["recordedAt"] and v.rfc3339(e["occurredAt"]) == line["occurredAt"]
    assert e["type"].decode() == line["type"] and e["member"].decode() == line["member"]
    assert e["version"] == line["version"] and e["schemaVersion"] == line.get("schemaVersion", 1)
    assert (e["idempotencyKey"] or b"").decode() == line.get("idempotencyKey", "")
    assert json.loads(e["data"]) == line["data"]
    assert f"h({position})" in example and line["hash"] in example
print(f"  {len(records)} records decode to the printed events; head hash {h.hex()}")
EOF

# --- a ledger written by the real CLI -------------------------------------------------------------
step "writing 5000 events (200 members) with the CLI"
"$LOYALTY" init --ledger "$LEDGER" >/dev/null
# Every third event carries an actor (flags bit 1, field 10a), as the server writes them.
"$LOYALTY" generate --count 5000 --members 200 \
  | python3 -c 'import json, sys
for i, line in enumerate(sys.stdin):
    e = json.loads(line)
    if i % 3 == 0: e["actor"] = "till-%d" % (i % 7)
    print(json.dumps(e, ensure_ascii=False, separators=(",", ":")))' \
  | "$LOYALTY" append --ledger "$LEDGER" --batch 500 >"$WORK/append.out"
cat "$WORK/append.out"

step "both verifiers on the intact ledger"
read -r HEAD_POS HEAD_HASH < <(expect_same_head "$LEDGER")
[[ $HEAD_POS == 5000 ]] || fail "head position $HEAD_POS, expected 5000"
grep -q "hash $HEAD_HASH" "$WORK/append.out" || fail "append reported another head hash than the verifiers"
echo "  loyalty:          $(cat "$WORK/swift.out")"
echo "  verify_ledger.py: $(cat "$WORK/py.out")"

step "every decoded field agrees with \`loyalty events\`"
"$LOYALTY" events --ledger "$LEDGER" >"$WORK/events.cli.jsonl"
"${VERIFY[@]}" "$LEDGER" --json >"$WORK/events.py.jsonl" 2>/dev/null
python3 - "$WORK/events.cli.jsonl" "$WORK/events.py.jsonl" <<'EOF'
import json, sys
cli = open(sys.argv[1], encoding="utf-8").read().splitlines()
py = open(sys.argv[2], encoding="utf-8").read().splitlines()
assert len(cli) == len(py) == 5000, (len(cli), len(py))
for a, b in zip(cli, py):
    a, b = json.loads(a), json.loads(b)
    for field in ("position", "recordedAt", "occurredAt", "type", "member", "version", "hash", "data"):
        assert a[field] == b[field], (a["position"], field, a[field], b[field])
    assert a.get("idempotencyKey") == b.get("idempotencyKey"), a["position"]
    assert a.get("actor") == b.get("actor"), a["position"]
    assert a.get("schemaVersion", 1) == b["schemaVersion"], a["position"]
assert sum(1 for line in cli if '"actor"' in line) == 1667, "every third event has an actor"
print("  5000 events identical (position, times, type, schemaVersion, member, version, key, actor, hash, data)")
EOF

# --- tampering ------------------------------------------------------------------------------------
# Flips one digit inside the data payload of the event at $2 in $1/data.mdb, in place (every copy of
# the record in the file: copy-on-write leaves stale copies in free pages). Same length, still
# valid JSON, so the record still decodes: only the chain can tell.
tamper() {
  python3 - "$1" "$2" "$ROOT/tools" <<'EOF'
import sys
sys.path.insert(0, sys.argv[3])
import lmdb, verify_ledger as v
path, position = sys.argv[1], int(sys.argv[2])
env = v.open_env(path)
events = env.open_db(b"events", create=False)
with env.begin() as txn:
    record = txn.get(v.u64be(position), db=events)
env.close()
event = v.decode_record(position, record)
start = len(record) - len(event["data"])
offset = next(i for i in range(start, len(record)) if 0x31 <= record[i] <= 0x38)  # a digit 1-8
tampered = bytearray(record)
tampered[offset] += 1
with open(path + "/data.mdb", "r+b") as f:
    image = bytearray(f.read())
    needle = v.u64be(position) + record  # an LMDB leaf node: the key, then the value
    hits, at = 0, image.find(needle)
    while at >= 0:
        image[at + 8:at + 8 + len(record)] = tampered
        hits += 1
        at = image.find(needle, at + 1)
    if hits == 0:
        sys.exit(f"record of position {position} not found in data.mdb")
    f.seek(0)
    f.write(image)
print(f"  position {position}: data byte {offset - start} {chr(record[offset])!r} -> {chr(tampered[offset])!r} "
      f"({hits} cop{'y' if hits == 1 else 'ies'} in data.mdb)")
EOF
}

cp -a "$LEDGER" "$WORK/ledger-tail"
cp -a "$LEDGER" "$WORK/ledger-noindex"
cp -a "$LEDGER" "$WORK/ledger-base"

TAMPERED=1000
EXPECTED=$(( (TAMPERED + 255) / 256 * 256 ))
step "tampering with the event at $TAMPERED (caught at the checkpoint $EXPECTED)"
tamper "$LEDGER" "$TAMPERED"
run_both "$LEDGER"
[[ $(cat "$WORK/swift.rc") != 0 ]] || { show; fail "loyalty verify did not notice the tampering"; }
[[ $(cat "$WORK/py.rc") != 0 ]] || { show; fail "verify_ledger.py did not notice the tampering"; }
SB=$(first_bad_of "$WORK/swift.err"); PB=$(first_bad_of "$WORK/py.err")
echo "  loyalty:          $(tail -1 "$WORK/swift.err")"
echo "  verify_ledger.py: $(tail -1 "$WORK/py.err")"
[[ -n $SB && $SB == "$PB" ]] || { show; fail "first bad positions differ: loyalty '$SB', verify_ledger.py '$PB'"; }
[[ $SB == "$EXPECTED" ]] || { show; fail "first bad position $SB, expected $EXPECTED"; }
bad_positions() { sed -nE 's/^bad: position ([0-9]+):.*/\1/p' "$1" | sort -n | tr '\n' ' '; }
[[ $(bad_positions "$WORK/swift.err") == "$(bad_positions "$WORK/py.err")" ]] \
  || { show; fail "the verifiers list different bad positions"; }

# After the last checkpoint nothing stored can contradict a change: only the head hash, compared
# with a copy kept elsewhere, shows it (format section 9). Both verifiers must agree on the new head.
TAIL=4990
step "tampering after the last checkpoint (position $TAIL): only the head hash changes"
tamper "$WORK/ledger-tail" "$TAIL"
read -r TAIL_POS TAIL_HASH < <(expect_same_head "$WORK/ledger-tail")
[[ $TAIL_POS == "$HEAD_POS" && $TAIL_HASH != "$HEAD_HASH" ]] || fail "expected head $HEAD_POS with a new hash, got $TAIL_POS $TAIL_HASH"
echo "  both report head $TAIL_POS $TAIL_HASH (was $HEAD_HASH)"

# Structural damage, written with plain LMDB into copies: both verifiers must name the same first
# bad position, the one expected.
cat >"$WORK/damage.py" <<'EOF'
import sys
sys.path.insert(0, sys.argv[3])
import lmdb, verify_ledger as v
path, case = sys.argv[1], sys.argv[2]
def edit(position, change):
    env = lmdb.open(path, max_dbs=16)
    events = env.open_db(b"events")
    with env.begin(write=True) as txn:
        record = bytearray(txn.get(v.u64be(position), db=events))
        assert record[2] < 0x80 and record[19] < 0x7F  # one-byte schemaVersion and version
        change(record)
        txn.put(v.u64be(position), bytes(record), db=events)
    env.close()
def drop(db, position):
    env = lmdb.open(path, max_dbs=16)
    handle = env.open_db(db)
    with env.begin(write=True) as txn:
        assert txn.delete(v.u64be(position), db=handle)
    env.close()
if case == "nonminimal-varint":    # version 0xNN -> 0x80|NN 0x00: same value, two bytes
    edit(300, lambda r: r.__setitem__(slice(19, 20), bytes([r[19] | 0x80, 0])))
elif case == "trailing-byte":
    edit(900, lambda r: r.append(0))
elif case == "unknown-flag":
    edit(1200, lambda r: r.__setitem__(1, r[1] | 0x04))
elif case == "wrong-version":
    edit(1500, lambda r: r.__setitem__(19, r[19] + 1))
elif case == "recordedAt-back":    # 2^48 µs earlier: decreasing time (and a chain break)
    edit(1700, lambda r: r.__setitem__(slice(3, 5), b"\0\0"))
elif case == "gap":
    drop(b"events", 700)
elif case == "missing-checkpoint":
    drop(b"chain", 512)
elif case == "index-member":        # an index head one position off
    env = lmdb.open(path + "/index", max_dbs=16)
    members = env.open_db(b"members")
    with env.begin(write=True) as txn:
        key, value = next(iter(txn.cursor(db=members)))
        txn.put(key, value[:8] + v.u64be(int.from_bytes(value[8:], "big") - 1), db=members)
        print(int.from_bytes(value[8:], "big") - 1)
    env.close()
elif case == "key-zero":            # a key u64be(0) before position 1 (I1)
    env = lmdb.open(path, max_dbs=16)
    events = env.open_db(b"events")   # outside the write transaction: open_db takes one of its own
    with env.begin(write=True) as txn:
        txn.put(v.u64be(0), txn.get(v.u64be(1), db=events), db=events)
    env.close()
elif case == "key-3-bytes":         # a 3-byte key, after every position (I1): named at head + 1
    env = lmdb.open(path, max_dbs=16)
    events = env.open_db(b"events")
    with env.begin(write=True) as txn:
        txn.put(b"\xff\xff\xff", b"x", db=events)
    env.close()
elif case in ("meta-extra-key", "createdAt-7-bytes", "ledgerId-15-bytes"):   # 5.1, I7
    env = lmdb.open(path, max_dbs=16)
    meta = env.open_db(b"meta")
    with env.begin(write=True) as txn:
        if case == "meta-extra-key": txn.put(b"note", b"hello", db=meta)
        elif case == "createdAt-7-bytes": txn.put(b"createdAt", txn.get(b"createdAt", db=meta)[1:], db=meta)
        else: txn.put(b"ledgerId", txn.get(b"ledgerId", db=meta)[1:], db=meta)
    env.close()
elif case == "chain-dupsort":       # chain re-created with MDB_DUPSORT, same entries (3)
    env = lmdb.open(path, max_dbs=16)
    chain = env.open_db(b"chain")
    with env.begin(write=True) as txn:
        entries = list(txn.cursor(db=chain))
        txn.drop(chain, delete=True)
    with env.begin(write=True) as txn:
        chain = env.open_db(b"chain", txn=txn, dupsort=True)
        for key, value in entries: txn.put(key, value, db=chain)
    env.close()
elif case == "extra-database":      # a named database the format does not name (3)
    env = lmdb.open(path, max_dbs=16)
    env.open_db(b"notes")
    env.close()
elif case == "schemaVersion-zero":  # 5.3, 12.2
    edit(1300, lambda r: r.__setitem__(2, 0))
elif case == "not-nfc":             # a member id in NFD ("e" + U+0301), appended after the head
    def varint(n):
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0)); n >>= 7
            if not n: return bytes(out)
    lp = lambda b: varint(len(b)) + b
    env = lmdb.open(path, max_dbs=16)
    events = env.open_db(b"events")
    with env.begin(write=True) as txn:
        head, last = next(iter(txn.cursor(db=events).iterprev()))
        head = v.read_u64be(head)
        recorded = v.decode_record(head, last)["recordedAt"]
        record = (bytes([1, 0]) + varint(1) + v.u64be(recorded) + v.u64be(recorded) + varint(1) + varint(0)
                  + lp(b"member.enrolled") + lp("Me\u0301".encode()) + lp(b"{}"))
        txn.put(v.u64be(head + 1), record, db=events, append=True)
    env.close()
    print(head + 1)
elif case == "merkle-node":         # one stored leaf of merkle/ changed: named at its position
    env = lmdb.open(path + "/merkle", max_dbs=16)
    nodes = env.open_db(b"nodes")
    position = 3000
    key = 2 * (position - 1) - bin(position - 1).count("1")
    with env.begin(write=True) as txn:
        value = bytearray(txn.get(v.u64be(key), db=nodes))
        value[0] ^= 1
        txn.put(v.u64be(key), bytes(value), db=nodes)
    env.close()
    print(position)
elif case == "index-key-slot":      # the first non-empty slot emptied
    with open(path + "/index/keys.table", "r+b") as f:
        table = bytearray(f.read())
        at = next(i for i in range(4096, len(table), 8) if any(table[i:i + 8]))
        print(int.from_bytes(table[at:at + 8], "little") >> 24)
        table[at:at + 8] = bytes(8)
        f.seek(0)
        f.write(table)
EOF

step "structural damage: both verifiers name the same first bad position"
# One case per rule of the document the log can break; "n/a": a problem without a position (meta,
# databases); "?": the position the damage script prints.
"$LOYALTY" keys generate --out "$WORK/keys" >/dev/null
cp -a "$WORK/ledger-base" "$WORK/ledger-merkle"
"$LOYALTY" checkpoint --ledger "$WORK/ledger-merkle" --key "$WORK/keys/checkpoint-key.private.json" --out "$WORK/cp-base.json" >/dev/null
expect_same_head "$WORK/ledger-merkle" >/dev/null
grep -q "merkle ok: all 9995 of the 9995 nodes" "$WORK/swift.out" && grep -q "merkle ok: all 9995 of the 9995 nodes" "$WORK/py.out" \
  || { show; fail "both verifiers must check every node of merkle/"; }
for spec in nonminimal-varint:300 trailing-byte:900 unknown-flag:1200 wrong-version:1500 \
            recordedAt-back:1700 gap:700 missing-checkpoint:512 index-member:? index-key-slot:? \
            key-zero:1 key-3-bytes:5001 meta-extra-key:n/a createdAt-7-bytes:n/a chain-dupsort:n/a \
            extra-database:n/a schemaVersion-zero:1300 not-nfc:? merkle-node:?; do
  case=${spec%%:*}; want=${spec##*:}
  base=$WORK/ledger-base; [[ $case == merkle-node ]] && base=$WORK/ledger-merkle
  rm -rf "$WORK/damaged"; cp -a "$base" "$WORK/damaged"
  out=$(python3 "$WORK/damage.py" "$WORK/damaged" "$case" "$ROOT/tools")
  [[ $want == "?" ]] && want=$out   # the damaged index entry's position
  run_both "$WORK/damaged"
  [[ $(cat "$WORK/swift.rc") == 1 && $(cat "$WORK/py.rc") == 1 ]] || { show; fail "$case: both verifiers must fail"; }
  SB=$(first_bad_of "$WORK/swift.err"); PB=$(first_bad_of "$WORK/py.err")
  [[ $SB == "$PB" && $SB == "$want" ]] || { show; fail "$case: first bad position loyalty '$SB', verify_ledger.py '$PB', expected $want"; }
  printf '  %-20s both name position %s\n' "$case" "$SB"
done

# A ledgerId of 15 bytes: not a ledger this format can read; both refuse it, naming ledgerId.
rm -rf "$WORK/damaged"; cp -a "$WORK/ledger-base" "$WORK/damaged"
python3 "$WORK/damage.py" "$WORK/damaged" ledgerId-15-bytes "$ROOT/tools" >/dev/null
run_both "$WORK/damaged"
[[ $(cat "$WORK/swift.rc") != 0 && $(cat "$WORK/py.rc") != 0 ]] || { show; fail "ledgerId-15-bytes: both verifiers must refuse"; }
grep -q "meta/ledgerId is 15 bytes, not 16" "$WORK/swift.err" && grep -q "meta/ledgerId is 15 bytes, not 16" "$WORK/py.err" \
  || { show; fail "ledgerId-15-bytes: both must name meta/ledgerId"; }
printf '  %-20s both refuse: %s\n' ledgerId-15-bytes "$(grep -o 'meta/ledgerId is 15 bytes, not 16' "$WORK/py.err")"

# An event changed after the last chain checkpoint (4864): nothing in `chain` contradicts it, the
# stored Merkle tree does (at the event's position), and without the tree the signed checkpoint.
step "an event changed after the last chain checkpoint: caught by merkle/ and by a signed checkpoint"
rm -rf "$WORK/damaged"; cp -a "$WORK/ledger-merkle" "$WORK/damaged"
tamper "$WORK/damaged" 4990 >/dev/null
run_both "$WORK/damaged"
SB=$(first_bad_of "$WORK/swift.err"); PB=$(first_bad_of "$WORK/py.err")
[[ $SB == 4990 && $PB == 4990 ]] || { show; fail "tail change with merkle/: loyalty '$SB', verify_ledger.py '$PB', expected 4990"; }
echo "  merkle/: both name position 4990"
rm -rf "$WORK/damaged/merkle"
set +e
"$LOYALTY" verify --ledger "$WORK/damaged" --checkpoint "$WORK/cp-base.json" --public-key "$WORK/keys/checkpoint-key.public.json" >"$WORK/swift.out" 2>"$WORK/swift.err"; echo $? >"$WORK/swift.rc"
"${VERIFY[@]}" "$WORK/damaged" --checkpoint "$WORK/cp-base.json" --public-key "$WORK/keys/checkpoint-key.public.json" >"$WORK/py.out" 2>"$WORK/py.err"; echo $? >"$WORK/py.rc"
set -e
[[ $(cat "$WORK/swift.rc") == 1 && $(cat "$WORK/py.rc") == 1 ]] || { show; fail "tail change, checkpoint: both verifiers must fail"; }
for f in swift py; do
  grep -q "the Merkle root of the first 5000 events is" "$WORK/$f.err" && grep -q "h(5000) is" "$WORK/$f.err" || { show; fail "$f: the checkpoint's root and head hash must both be named"; }
done
[[ $(first_bad_of "$WORK/swift.err") == n/a && $(first_bad_of "$WORK/py.err") == n/a ]] || { show; fail "checkpoint problems carry no position"; }
echo "  without merkle/, --checkpoint: both name the signed root and h(5000)"

# A neutralisation (format section 5.6): a domain event no fold can apply, written past the
# domain with plain LMDB, then neutralised with the CLI; both verifiers check the `neutralised`
# table and print the same line, and both name the correcting event once its entry is gone.
step "a neutralised event: both verifiers check the neutralised table"
NL=$WORK/ledger-neutralise
"$LOYALTY" init --ledger "$NL" >/dev/null
"$LOYALTY" enroll M1 --store S1 --at 2026-01-02T00:00:00Z --ledger "$NL" >/dev/null
"$LOYALTY" purchase M1 --id P1 --amount 10 --store S1 --at 2026-01-03T00:00:00Z --ledger "$NL" >/dev/null
BAD=$(python3 - "$NL" "$ROOT/tools" <<'EOF2'
import json, sys
sys.path.insert(0, sys.argv[2])
import lmdb, verify_ledger as v
def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n: return bytes(out)
lp = lambda b: varint(len(b)) + b
env = lmdb.open(sys.argv[1], max_dbs=16)
events = env.open_db(b"events")
with env.begin(write=True) as txn:
    decoded = [v.decode_record(v.read_u64be(k), val) for k, val in txn.cursor(db=events)]
    head = len(decoded)
    mine = [p for p, e in enumerate(decoded, start=1) if e["member"] == b"M1"]
    data = json.dumps({"allocations": [{"lotId": "P:nope", "points": 5}], "member": "M1", "points": 5,
                       "redemptionId": "R1"}, separators=(",", ":")).encode()
    record = (bytes([1, 0]) + varint(1) + v.u64be(decoded[-1]["recordedAt"]) + v.u64be(1_767_398_400_000_000)
              + varint(len(mine) + 1) + varint(head + 1 - mine[-1]) + lp(b"points.redeemed") + lp(b"M1") + lp(data))
    txn.put(v.u64be(head + 1), record, db=events, append=True)
env.close()
print(head + 1)
EOF2
)
! "$LOYALTY" purchase M1 --id P2 --amount 10 --store S1 --ledger "$NL" >/dev/null 2>"$WORK/refused.err" || fail "a purchase was decided on a log the model cannot fold"
grep -q "event at position $BAD (points.redeemed, member M1) cannot be applied" "$WORK/refused.err" || { cat "$WORK/refused.err"; fail "the refusal does not name position $BAD"; }
"$LOYALTY" neutralise --position "$BAD" --reason "a redemption from a lot that never existed" --operator check-format --ledger "$NL" >/dev/null
"$LOYALTY" purchase M1 --id P2 --amount 10 --store S1 --ledger "$NL" >/dev/null || fail "a purchase was refused after the neutralisation"
expect_same_head "$NL" >/dev/null
grep -q "^position $BAD neutralised by position" "$WORK/swift.out" || { show; fail "loyalty verify does not print the neutralisation"; }
[[ $(grep neutralised "$WORK/swift.out") == "$(grep neutralised "$WORK/py.out")" ]] || { show; fail "the verifiers print the neutralisation differently"; }
echo "  both: $(grep neutralised "$WORK/py.out")"
CORRECTING=$(sed -nE 's/.*neutralised by position ([0-9]+) .*/\1/p' "$WORK/py.out")
python3 - "$NL" "$BAD" "$ROOT/tools" <<'EOF2'
import sys
sys.path.insert(0, sys.argv[3])
import lmdb, verify_ledger as v
env = lmdb.open(sys.argv[1], max_dbs=16)
neutralised = env.open_db(b"neutralised")
with env.begin(write=True) as txn:
    assert txn.delete(v.u64be(int(sys.argv[2])), db=neutralised)
env.close()
EOF2
run_both "$NL"
[[ $(cat "$WORK/swift.rc") == 1 && $(cat "$WORK/py.rc") == 1 ]] || { show; fail "a correcting event without its entry: both verifiers must fail"; }
SB=$(first_bad_of "$WORK/swift.err"); PB=$(first_bad_of "$WORK/py.err")
[[ $SB == "$PB" && $SB == "$CORRECTING" ]] || { show; fail "entry removed: first bad position loyalty '$SB', verify_ledger.py '$PB', expected $CORRECTING"; }
echo "  the entry removed: both name the correcting event at position $SB"

# The index is derived: deleting it is safe, a writer's open rebuilds it from the log.
step "deleting index/ and letting a writer rebuild it"
rm -rf "$WORK/ledger-noindex/index"
read -r NI_POS NI_HASH < <(expect_same_head "$WORK/ledger-noindex")
grep -q "index through 0" "$WORK/py.out" || fail "verify_ledger.py saw an index that was deleted"
"$LOYALTY" init --ledger "$WORK/ledger-noindex" >/dev/null 2>"$WORK/rebuild.err"
read -r NI_POS NI_HASH < <(expect_same_head "$WORK/ledger-noindex")
grep -q "index through 5000" "$WORK/swift.out" || { show; fail "loyalty: the index was not rebuilt through 5000"; }
grep -q "index through 5000" "$WORK/py.out" || { show; fail "verify_ledger.py: the index was not rebuilt through 5000"; }
[[ $NI_HASH == "$HEAD_HASH" ]] || fail "head hash changed by an index rebuild"
echo "  rebuilt; both verifiers check it through 5000"

# --- tamper evidence (format section 14) -------------------------------------------------------
# Checkpoints and proofs made by the CLI must verify with `loyalty verify-proof` and with
# verify_ledger.py (written from section 14: signature, Merkle root recomputed from the log, RFC 9162
# proof checks), validate against schemas/proofs/, and tampering must be caught by both.
step "tamper evidence: keys, checkpoints and proofs, checked by loyalty and by verify_ledger.py"
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography 2>/dev/null \
  || python3 -m pip install --quiet --break-system-packages cryptography
python3 - "$ROOT/schemas/ledger-format.md" "$ROOT/tools" <<'EOF2'
import re, sys
sys.path.insert(0, sys.argv[2])
import verify_ledger as v
doc = open(sys.argv[1], encoding="utf-8").read()
vectors = doc[doc.index("### 14.8 Test vectors"):doc.index("### 14.9")]
roots = re.findall(r"^([1-8]) ([0-9a-f]{64})$", vectors, re.M)
leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
assert len(roots) == 8, roots
tree = v.MerkleRoot()
assert tree.root().hex() in vectors
for (n, root), leaf in zip(roots, leaves):
    tree.add(v.leaf_hash(bytes.fromhex(leaf)))
    assert tree.root().hex() == root, (n, tree.root().hex(), root)
print("  the test vectors of section 14.8 are reproduced by verify_ledger.py")
EOF2
P=$WORK/proofs; PL=$P/ledger; mkdir -p "$P"
"$LOYALTY" generate --count 2500 --members 100 >"$P/events.jsonl"
"$LOYALTY" init --ledger "$PL" >/dev/null
head -n 1000 "$P/events.jsonl" | "$LOYALTY" append --ledger "$PL" >/dev/null
"$LOYALTY" keys generate --out "$P/keys" >/dev/null
PRIV=$P/keys/checkpoint-key.private.json; PUB=$P/keys/checkpoint-key.public.json
"$LOYALTY" checkpoint --ledger "$PL" --key "$PRIV" --out "$P/cp1000.json" >/dev/null
tail -n +1001 "$P/events.jsonl" | "$LOYALTY" append --ledger "$PL" >/dev/null
"$LOYALTY" checkpoint --ledger "$PL" --key "$PRIV" --out "$P/cp2500.json" >/dev/null
for pos in 1 777 1000; do "$LOYALTY" prove "$pos" --ledger "$PL" --checkpoint "$P/cp1000.json" --out "$P/inc$pos.json"; done
"$LOYALTY" prove 2400 --ledger "$PL" --checkpoint "$P/cp2500.json" --out "$P/inc2400.json"
"$LOYALTY" prove --consistency "$P/cp1000.json" "$P/cp2500.json" --ledger "$PL" --out "$P/cons.json"
for pos in 1 777 1000; do
  "$LOYALTY" verify-proof "$P/inc$pos.json" --checkpoint "$P/cp1000.json" --public-key "$PUB" >/dev/null \
    || fail "loyalty verify-proof rejected the proof of $pos"
  "${VERIFY[@]}" --proof "$P/inc$pos.json" --checkpoint "$P/cp1000.json" --public-key "$PUB" >/dev/null \
    || fail "verify_ledger.py rejected the proof of $pos"
done
"${VERIFY[@]}" --proof "$P/inc2400.json" --checkpoint "$P/cp2500.json" --public-key "$PUB" >/dev/null || fail "verify_ledger.py: proof of 2400"
"$LOYALTY" verify-proof "$P/cons.json" --old-checkpoint "$P/cp1000.json" --checkpoint "$P/cp2500.json" --public-key "$PUB" >/dev/null \
  || fail "loyalty verify-proof rejected the consistency proof"
echo "  $("${VERIFY[@]}" --proof "$P/cons.json" --old-checkpoint "$P/cp1000.json" --checkpoint "$P/cp2500.json" --public-key "$PUB")"
for cp in cp1000 cp2500; do
  "${VERIFY[@]}" "$PL" --checkpoint "$P/$cp.json" --public-key "$PUB" >"$P/$cp.out" 2>&1 || { cat "$P/$cp.out"; fail "verify_ledger.py rejected $cp against the log"; }
  grep -q "checkpoint ok" "$P/$cp.out" || fail "verify_ledger.py did not check $cp"
done
echo "  verify_ledger.py: both checkpoints' signatures, Merkle roots and head hashes match the log"
python3 - "$ROOT/schemas" "$P" <<'EOF2'
import glob, json, os, sys
from jsonschema import Draft202012Validator
schemas, work = sys.argv[1], sys.argv[2]
def check(schema, path):
    errors = list(Draft202012Validator(json.load(open(os.path.join(schemas, "proofs", schema)))).iter_errors(json.load(open(path))))
    assert not errors, (path, [e.message for e in errors])
for cp in glob.glob(work + "/cp*.json"): check("checkpoint.schema.json", cp)
for inc in glob.glob(work + "/inc*.json"): check("inclusion-proof.schema.json", inc)
check("consistency-proof.schema.json", work + "/cons.json")
check("public-key.schema.json", work + "/keys/checkpoint-key.public.json")
print("  checkpoints, proofs and the public key validate against schemas/proofs/")
EOF2
# A forged proof (one hash of the path changed) is rejected by both verifiers.
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); h=p["auditPath"][3]; p["auditPath"][3]=("0" if h[0]!="0" else "1")+h[1:]; json.dump(p,open(sys.argv[2],"w"))' "$P/inc777.json" "$P/forged.json"
! "$LOYALTY" verify-proof "$P/forged.json" --checkpoint "$P/cp1000.json" --public-key "$PUB" 2>/dev/null || fail "loyalty accepted a forged proof"
! "${VERIFY[@]}" --proof "$P/forged.json" --checkpoint "$P/cp1000.json" --public-key "$PUB" 2>/dev/null || fail "verify_ledger.py accepted a forged proof"
# Tampering after the last chain checkpoint (2304): `verify` cannot tell, the signed checkpoint can.
tamper "$PL" 2400 >/dev/null
run_both "$PL"   # merkle/ exists (checkpoint and prove built it): both name the changed event
[[ $(first_bad_of "$WORK/swift.err") == 2400 && $(first_bad_of "$WORK/py.err") == 2400 ]] || { show; fail "the change at 2400 must be named by merkle/ in both verifiers"; }
! "${VERIFY[@]}" "$PL" --checkpoint "$P/cp2500.json" --public-key "$PUB" >/dev/null 2>"$P/tampered.err" || fail "verify_ledger.py missed the tampering"
grep -q "the Merkle root of the first 2500 events is" "$P/tampered.err" || { cat "$P/tampered.err"; fail "verify_ledger.py: unexpected reason"; }
! "$LOYALTY" prove 2400 --ledger "$PL" --checkpoint "$P/cp2500.json" 2>"$P/prove.err" >/dev/null || fail "loyalty proved a tampered event"
grep -q "is not the one the tree recorded" "$P/prove.err" || { cat "$P/prove.err"; fail "loyalty prove: unexpected reason"; }
rm -rf "$PL/merkle"   # rebuilt from the tampered log: its root is no longer the signed one
! "$LOYALTY" prove 2400 --ledger "$PL" --checkpoint "$P/cp2500.json" 2>"$P/prove.err" >/dev/null || fail "loyalty proved against a rebuilt tree"
grep -q "the log was altered since" "$P/prove.err" || { cat "$P/prove.err"; fail "loyalty prove (rebuilt): unexpected reason"; }
"$LOYALTY" verify-proof "$P/inc1000.json" --checkpoint "$P/cp1000.json" --public-key "$PUB" >/dev/null || fail "an earlier proof must still verify"
echo "  tampering at 2400 (after the last chain checkpoint): merkle/ and the signed checkpoint catch it (both tools)"

# A validly signed checkpoint whose head hash is not h(N): `prove`, `prove --consistency` and both
# verifiers with --checkpoint refuse it (section 14.5).
step "a signed checkpoint with a wrong head hash, and files that break their JSON Schemas"
python3 - "$P/cp1000.json" "$PRIV" "$P/cp-badhead.json" <<'EOF2'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
c, k = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
c["headHash"] = ("0" if c["headHash"][0] != "0" else "1") + c["headHash"][1:]
message = "".join(f"{l}\n" for l in ["loyalty-checkpoint/1", f"ledger {c['ledgerId']}", f"size {c['treeSize']}",
                                   f"root {c['rootHash']}", f"head {c['headHash']}", f"time {c['timestamp']}"])
c["signature"] = base64.b64encode(Ed25519PrivateKey.from_private_bytes(base64.b64decode(k["privateKey"])).sign(message.encode())).decode()
json.dump(c, open(sys.argv[3], "w"), indent=2, sort_keys=True)
EOF2
# $PL's first 1000 events are intact (the change is at 2400), so only the head hash is wrong.
! "$LOYALTY" prove 5 --ledger "$PL" --checkpoint "$P/cp-badhead.json" >/dev/null 2>"$P/prove.err" || fail "loyalty prove accepted a wrong head hash"
grep -q "signed the head hash" "$P/prove.err" || { cat "$P/prove.err"; fail "loyalty prove: the head hash must be named"; }
! "$LOYALTY" prove --consistency "$P/cp-badhead.json" "$P/cp-badhead.json" --ledger "$PL" >/dev/null 2>"$P/prove.err" || fail "loyalty prove --consistency accepted a wrong head hash"
grep -q "signed the head hash" "$P/prove.err" || { cat "$P/prove.err"; fail "loyalty prove --consistency: the head hash must be named"; }
set +e
"$LOYALTY" verify --ledger "$PL" --checkpoint "$P/cp-badhead.json" --public-key "$PUB" >"$WORK/swift.out" 2>"$WORK/swift.err"; echo $? >"$WORK/swift.rc"
"${VERIFY[@]}" "$PL" --checkpoint "$P/cp-badhead.json" --public-key "$PUB" >"$WORK/py.out" 2>"$WORK/py.err"; echo $? >"$WORK/py.rc"
set -e
for f in swift py; do
  [[ $(cat "$WORK/$f.rc") == 1 ]] && grep -q "h(1000) is .*, the checkpoint signed" "$WORK/$f.err" && ! grep -q "Merkle root" "$WORK/$f.err" \
    || { show; fail "$f: a wrong head hash must be the one problem named"; }
done
echo "  prove, prove --consistency and both verifiers (--checkpoint) refuse a wrong head hash"

# Files that break their schemas (section 14.4): both verifiers refuse each, naming the field.
schema_case() {  # NAME FIELD FILE-TO-BREAK PYTHON-EDIT
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[3]); open(sys.argv[2],'w').write(d if isinstance(d,str) else json.dumps(d))" "$3" "$P/broken.json" "$4"
  local proof=$P/inc777.json checkpoint=$P/cp1000.json key=$PUB
  case $3 in *inc777*) proof=$P/broken.json;; *cp1000*) checkpoint=$P/broken.json;; *public*) key=$P/broken.json;; esac
  set +e
  "$LOYALTY" verify-proof "$proof" --checkpoint "$checkpoint" --public-key "$key" >/dev/null 2>"$WORK/swift.err"; local src=$?
  "${VERIFY[@]}" --proof "$proof" --checkpoint "$checkpoint" --public-key "$key" >/dev/null 2>"$WORK/py.err"; local prc=$?
  set -e
  [[ $src != 0 && $prc != 0 ]] || { show; fail "$1: both verifiers must refuse"; }
  grep -q "field '$2'" "$WORK/swift.err" && grep -q "field '$2'" "$WORK/py.err" || { show; fail "$1: both must name the field '$2'"; }
  printf '  %-28s both refuse it, naming %s\n' "$1" "$2"
}
schema_case "extra field in a checkpoint" comment "$P/cp1000.json" 'd["comment"]="x"'
schema_case "uppercase hex in a proof" leafHash "$P/inc777.json" 'd["leafHash"]=d["leafHash"].upper()'
schema_case "treeSize 237254.0" treeSize "$P/cp1000.json" 'd=json.dumps(d).replace("\"treeSize\": %d" % d["treeSize"], "\"treeSize\": %d.0" % d["treeSize"])'
schema_case "unpadded signature" signature "$P/cp1000.json" 'd["signature"]=d["signature"].rstrip("=")'
schema_case "extra field in a public key" note "$PUB" 'd["note"]="x"'
schema_case "a proof without its auditPath" auditPath "$P/inc777.json" 'del d["auditPath"]'

echo "PASS: both verifiers agree (head $HEAD_POS $HEAD_HASH; tampering at $TAMPERED named at $EXPECTED by both)"
