#!/usr/bin/env python3
"""Independent reader and verifier of a LoyaltyLedger directory.

Written from schemas/ledger-format.md only (no Swift code is called or ported): Python 3, the
standard library and the `lmdb` package (`python3 -m pip install lmdb`).

    python3 tools/verify_ledger.py LEDGER_DIR            # verify; exit 0 when all is well
    python3 tools/verify_ledger.py LEDGER_DIR --json     # also dump every event as JSON Lines
    python3 tools/verify_ledger.py LEDGER_DIR --quick     # merkle/: a random sample of nodes, not all
    python3 tools/verify_ledger.py LEDGER_DIR --checkpoint CP.json --public-key KEY.json
        # also: the checkpoint's signature, and its Merkle root and h(N) recomputed from the log
    python3 tools/verify_ledger.py --proof PROOF.json --checkpoint CP.json --public-key KEY.json
        [--old-checkpoint OLD.json]     # a proof, offline (no ledger)            [section 14]

Checkpoint signatures need the `cryptography` package (`python3 -m pip install cryptography`).

What it checks (format sections in brackets):
  - the named databases of data.mdb, index/ and merkle/: only those the format names, each
    with default flags (no MDB_DUPSORT, ...)                                          [3]
  - meta: format "loyalty-ledger/1", a 16-byte ledgerId, an 8-byte createdAt, no
    other key                                                                         [5.1, I7]
  - events: keys are u64be positions 1..head without gaps, no other key; every record
    decodes (varints minimal, limits, UTF-8, NFC, schemaVersion >= 1, write rules,
    nothing trailing)                                                                 [5.2, 5.3, 12.2]
  - recordedAt never decreases; each member's versions are 1, 2, 3, ... and
    previousDelta links every event to its member's previous one                      [4.2]
  - idempotency keys are unique                                                       [4.2, 5]
  - the hash chain: h(n) recomputed from h(0) and compared with every checkpoint in
    `chain`; a checkpoint exists at every multiple of 256 up to the head, and `chain`
    holds no other key                                                                [4.3, 4.4]
  - if index/ exists: its format and ledgerId; every `members` entry equals the
    member's last event at or before indexedThrough, and no member is missing; every
    slot of index/keys.table names an event whose key has the slot's fingerprint and
    is reachable from its home slot; every keyed event up to indexedThrough is found   [6]
  - if `neutralised` exists: every entry N -> M has 1 <= N < M <= head, event M is a
    `ledger.neutralised` event whose data names N, and every such event has its entry;
    each neutralisation is printed before the "ok" line                               [5.6]
  - if merkle/ exists: its state, and every stored node (or, --quick, a random sample)
    recomputed from the log; the first node that differs is named at the position
    whose leaf completed it                                                           [14.2]
  - with --checkpoint: the files against schemas/proofs/, the signature, and the
    Merkle root and h(N) of the first N events recomputed from the log                [13, 14.5]
  - key, checkpoint and proof files (--proof) are checked against their JSON Schemas in
    schemas/proofs/ first: no extra field, lowercase hex, padded base64, integer
    literals (237254.0 is refused), naming the field                                  [14.4]

On success it prints one line ("ok: ... head POSITION HASH", the same shape as `loyalty verify`)
and exits 0. Otherwise it prints every problem ("bad: position P: ...") on standard error, then
"verification failed: first bad position P, N problem(s)", and exits 1. Exit 2: usage errors or
a directory that is not a ledger.

The log is read in short read transactions of at most 4,096 events, like any reader, so a writer
may append meanwhile: the walk covers the log as it was when verification started (and, if the
index was flushed past that point meanwhile, up to the index).
"""

import argparse
import hashlib
import json
import mmap
import os
import random
import re
import struct
import sys
import unicodedata

import lmdb

LOG_FORMAT = b"loyalty-ledger/1"
INDEX_FORMAT = b"loyalty-index/2"
KEY_TABLE_MAGIC = b"LLKEYTB1"
KEY_TABLE_HEADER = 4096
CHECKPOINT_INTERVAL = 256
READ_BATCH = 4096
TYPE_MAX, MEMBER_MAX, KEY_MAX, ACTOR_MAX, DATA_MAX = 128, 256, 256, 128, 1 << 20
U64 = (1 << 64) - 1
GENESIS = bytes(32)
NEUTRALISED_TYPE = b"ledger.neutralised"
LOG_DATABASES = {b"meta", b"events", b"chain", b"neutralised"}   # section 3; neutralised: 5.6
INDEX_DATABASES = {b"state", b"members", b"keys"}                # keys: the obsolete format-1 table (2)
MERKLE_DATABASES = {b"state", b"nodes"}                          # 14.2
META_KEYS = {b"format", b"ledgerId", b"createdAt"}
MERKLE_FORMAT = b"loyalty-merkle/1"
STRAY_KEYS_MAX = 16
QUICK_SAMPLE_NODES = 4096
LMDB_FLAG_NAMES = {"reverse_key": "MDB_REVERSEKEY", "dupsort": "MDB_DUPSORT", "integerkey": "MDB_INTEGERKEY",
                   "dupfixed": "MDB_DUPFIXED", "integerdup": "MDB_INTEGERDUP", "reverse_dup": "MDB_REVERSEDUP"}


def neutralisation_line(n, m, data):
    """The line both verifiers print for a neutralisation (the same text as `loyalty verify`)."""
    try:
        fields = json.loads(data)
    except ValueError:
        fields = {}
    text = lambda k: fields.get(k) if isinstance(fields.get(k), str) else "?"
    return (f"position {n} neutralised by position {m} (operator {text('operator')}, reason: {text('reason')}; "
            f"type {text('type')}, fault: {text('fault')})")


class Corrupt(Exception):
    """A stored record that breaks the format: which field, and why."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")


class NotALedger(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Primitives (format section 3)

def u64be(n):
    return n.to_bytes(8, "big")


def read_u64be(b):
    return int.from_bytes(b, "big")


def read_i64be(b):
    return int.from_bytes(b, "big", signed=True)


class Reader:
    def __init__(self, buf):
        self.buf = buf
        self.off = 0

    def u8(self, field):
        if self.off >= len(self.buf):
            raise Corrupt(field, "truncated")
        b = self.buf[self.off]
        self.off += 1
        return b

    def i64be(self, field):
        if self.off + 8 > len(self.buf):
            raise Corrupt(field, "truncated")
        v = read_i64be(self.buf[self.off:self.off + 8])
        self.off += 8
        return v

    def varint(self, field):
        """Unsigned LEB128, at most 10 bytes, value < 2^64, minimal (no trailing zero group)."""
        result = 0
        shift = 0
        while True:
            if self.off >= len(self.buf):
                raise Corrupt(field, "truncated varint")
            b = self.buf[self.off]
            self.off += 1
            if shift >= 64 or (shift == 63 and b > 1):
                raise Corrupt(field, "varint overflows 64 bits")
            result |= (b & 0x7F) << shift
            if b & 0x80 == 0:
                if b == 0 and shift > 0:
                    raise Corrupt(field, "non-minimal varint")
                return result
            shift += 7

    def length_prefixed(self, field, limit):
        n = self.varint(field)
        if n > limit:
            raise Corrupt(field, f"length {n} over the limit {limit}")
        if self.off + n > len(self.buf):
            raise Corrupt(field, "truncated")
        v = bytes(self.buf[self.off:self.off + n])
        self.off += n
        return v

    def text(self, field, limit):
        raw = self.length_prefixed(field, limit)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Corrupt(field, "not valid UTF-8") from None
        # Write rules (4.2): 1..limit bytes, no control characters (0x00-0x1F, 0x7F).
        if not raw:
            raise Corrupt(field, "empty")
        if any(c < 0x20 or c == 0x7F for c in raw):
            raise Corrupt(field, "contains a control character")
        # Unicode normalization form C (12.2); ASCII text is always NFC.
        if any(c >= 0x80 for c in raw) and not unicodedata.is_normalized("NFC", raw.decode("utf-8")):
            raise Corrupt(field, "is not in Unicode normalization form C (NFC)")
        return raw


def decode_record(position, buf):
    """The event record (format 4.2). Text fields are returned as UTF-8 bytes."""
    r = Reader(buf)
    fmt = r.u8("format")
    if fmt != 1:
        raise Corrupt("format", f"unknown record format {fmt}")
    flags = r.u8("flags")
    if flags & ~0x03:
        raise Corrupt("flags", f"unknown flags {flags}")
    schema_version = r.varint("schemaVersion")
    if not 1 <= schema_version <= 0xFFFFFFFF:
        raise Corrupt("schemaVersion", f"{schema_version} is outside 1...{0xFFFFFFFF}")
    recorded_at = r.i64be("recordedAt")
    occurred_at = r.i64be("occurredAt")
    version = r.varint("version")
    delta = r.varint("previousDelta")
    if version < 1:
        raise Corrupt("version", "zero")
    if (version == 1) != (delta == 0) or delta >= position:
        raise Corrupt("previousDelta", f"{delta} inconsistent with version {version}")
    etype = r.text("type", TYPE_MAX)
    member = r.text("member", MEMBER_MAX)
    key = r.text("idempotencyKey", KEY_MAX) if flags & 0x01 else None
    actor = r.text("actor", ACTOR_MAX) if flags & 0x02 else None
    data = r.length_prefixed("data", DATA_MAX)
    if r.off != len(buf):
        raise Corrupt("data", f"{len(buf) - r.off} trailing bytes")
    return {
        "position": position,
        "schemaVersion": schema_version,
        "recordedAt": recorded_at,
        "occurredAt": occurred_at,
        "version": version,
        "previousPosition": position - delta if delta else None,
        "type": etype,
        "member": member,
        "idempotencyKey": key,
        "actor": actor,
        "data": data,
    }


def chain_next(previous, position, record):
    """h(n) = SHA-256(h(n-1) || u64be(n) || record(n))  (format 4.3)."""
    return hashlib.sha256(previous + u64be(position) + bytes(record)).digest()


def key_hash(utf8):
    """KeyHash (format 6.3): FNV-1a 64 over the UTF-8 bytes, then the splitmix64 finalizer."""
    h = 0xCBF29CE484222325
    for b in utf8:
        h = ((h ^ b) * 0x100000001B3) & U64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & U64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & U64
    return h ^ (h >> 31)


def fingerprint(h):
    return h >> 40


def home_slot(fp, bits):
    return fp >> (24 - bits) if bits <= 24 else fp << (bits - 24)


def rfc3339(micros):
    """YYYY-MM-DDTHH:MM:SS[.ffffff]Z in UTC, the fraction only when not zero (format 3)."""
    days, rest = divmod(micros, 86_400_000_000)
    # Civil date from days since 1970-01-01 (proleptic Gregorian), any range.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    seconds, fraction = divmod(rest, 1_000_000)
    text = f"{y:04d}-{m:02d}-{d:02d}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if fraction:
        text += f".{fraction:06d}"
    return text + "Z"


# ---------------------------------------------------------------------------------------------
# LMDB access

def open_env(path):
    # A read-only reader beside a writer in another process: MDB_RDONLY, with the lock file (the
    # reader table) so the writer never reuses pages this reader still sees. 510 readers and
    # 16 named databases, as the format sets them (section 2).
    return lmdb.open(path, readonly=True, lock=True, max_dbs=16, max_readers=510, subdir=True, create=False)


def begin(env):
    """A read transaction; adopts a map the writer grew meanwhile (MDB_MAP_RESIZED)."""
    while True:
        try:
            return env.begin(buffers=False)
        except lmdb.MapResizedError:
            env.set_mapsize(0)


def open_db(env, name):
    try:
        return env.open_db(name, create=False)
    except lmdb.NotFoundError:
        raise NotALedger(f"database '{name.decode()}' missing in {env.path()}") from None


# ---------------------------------------------------------------------------------------------
# Verification

class Verifier:
    def __init__(self, path, dump=None, problems_max=100, quick=False, anchor=None):
        self.path = path
        self.quick = quick
        self.anchor = anchor        # (checkpoint path, (public key, key id)) or None
        self.anchor_checkpoint = None
        self.lines = []             # printed before the "ok" line: merkle/ and checkpoint results
        self.dump = dump
        self.problems_max = problems_max
        self.problems = []          # (position or None, text)
        self.position = 0           # last position walked
        self.hash = GENESIS         # h(position)
        self.recorded_at = None
        self.members = {}           # member bytes -> [first position, version, position]
        self.keys = {}              # key bytes -> position
        self.checkpoints = 0
        self.indexed_through = 0
        self.walk_stopped = False
        self.correcting = {}        # position of a ledger.neutralised event -> the position its data names
        self.neutralisations = []   # (N, M, data of M), checked

    def problem(self, position, text):
        self.problems.append((position, text))

    def full(self):
        return len(self.problems) >= self.problems_max

    # -- log ----------------------------------------------------------------------------------

    def open_log(self):
        if not os.path.exists(os.path.join(self.path, "data.mdb")):
            raise NotALedger(f"no ledger at {self.path} (no data.mdb)")
        self.env = open_env(self.path)
        self.meta = open_db(self.env, b"meta")
        self.events = open_db(self.env, b"events")
        self.chain = open_db(self.env, b"chain")
        with begin(self.env) as txn:
            fmt = txn.get(b"format", db=self.meta)
            ledger_id = txn.get(b"ledgerId", db=self.meta)
            created = txn.get(b"createdAt", db=self.meta)
            meta_keys = [k for k, _ in txn.cursor(db=self.meta)]
        if fmt != LOG_FORMAT:
            raise NotALedger(f"meta/format is {fmt!r}, this verifier reads {LOG_FORMAT.decode()}")
        if ledger_id is None or len(ledger_id) != 16:
            raise NotALedger(f"meta/ledgerId is {'missing' if ledger_id is None else f'{len(ledger_id)} bytes'}, not 16 bytes (format 5.1)")
        self.ledger_id = ledger_id
        self.check_databases(self.env, LOG_DATABASES, "data.mdb")
        for key in meta_keys:
            if key not in META_KEYS:
                self.problem(None, f"meta holds the key {key.hex()} ('{key.decode('utf-8', 'replace')}'): "
                                   "only format, ledgerId and createdAt are written (5.1, I7)")
            elif key == b"createdAt" and len(created) != 8:
                self.problem(None, f"meta/createdAt is {len(created)} bytes, not 8 (5.1, I7)")
        if created is None:
            self.problem(None, "meta/createdAt is missing (5.1, I7)")

    def check_databases(self, env, allowed, label):
        """Section 3: the environment holds only the named databases the format names, each with
        default flags (no MDB_DUPSORT, MDB_INTEGERKEY, MDB_REVERSEKEY, ...)."""
        with begin(env) as txn:
            names = [k for k, _ in txn.cursor()]
        for name in names:
            if name not in allowed:
                self.problem(None, f"{label} holds the database '{name.decode('utf-8', 'replace')}', which the format does not name (3)")
                continue
            db = env.open_db(name, create=False)
            with begin(env) as txn:
                flags = db.flags(txn)
            set_flags = [LMDB_FLAG_NAMES[f] for f in LMDB_FLAG_NAMES if flags.get(f)]
            if set_flags:
                self.problem(None, f"{label}: database '{name.decode()}' was created with {' | '.join(set_flags)}; "
                                   "every database has default flags (3)")

    def head_position(self):
        """The last key of `events` that is a position (I1); keys after it that are not 8 bytes,
        a first key that is not u64be(1) and a key count other than the head are problems."""
        with begin(self.env) as txn:
            cur = txn.cursor(db=self.events)
            stray = []
            found = cur.last()
            head = 0
            while found:
                if len(cur.key()) == 8:
                    head = read_u64be(cur.key())
                    break
                stray.insert(0, cur.key())
                if len(stray) >= STRAY_KEYS_MAX:
                    break
                found = cur.prev()
            first = cur.key() if cur.first() else None
            entries = txn.stat(self.events)["entries"]
        for key in stray:
            self.problem(head + 1, f"events holds the key {key.hex()} ({len(key)} bytes) after position {head}: "
                                   "every key is a u64be position (I1)")
        if first is not None and first != u64be(1) and (head > 0 or not stray):
            self.problem(1, f"events starts with the key {first.hex()} ({len(first)} bytes), not u64be(1): positions start at 1 (I1)")
        if entries != head + len(stray) and not self.problems:
            self.problem(None, f"events holds {entries} keys for the positions 1...{head} (I1)")
        return head

    def walk(self, target):
        """Walks positions position+1 .. target, in read transactions of READ_BATCH events."""
        while self.position < target and not self.walk_stopped and not self.full():
            with begin(self.env) as txn:
                cur = txn.cursor(db=self.events)
                expected = self.position + 1
                found = cur.set_range(u64be(expected))
                n = 0
                while found and n < READ_BATCH and expected <= target:
                    key, value = cur.item()
                    if key != u64be(expected):
                        self.problem(expected, "event missing (gap in positions)" if len(key) == 8
                                     else f"events key of {len(key)} bytes after position {expected - 1}")
                        self.walk_stopped = True
                        return
                    if not self.check_event(expected, value, txn):
                        return
                    expected += 1
                    n += 1
                    found = cur.next()
                if n == 0:
                    self.problem(self.position + 1, f"event missing (head is {target})")
                    self.walk_stopped = True
                    return

    def check_event(self, p, value, txn):
        try:
            event = decode_record(p, value)
        except Corrupt as e:
            self.problem(p, str(e))
            self.walk_stopped = True
            return False
        self.hash = chain_next(self.hash, p, value)
        if self.recorded_at is not None and event["recordedAt"] < self.recorded_at:
            self.problem(p, f"recordedAt {event['recordedAt']} is before the previous event's {self.recorded_at}")
        member = event["member"]
        prev = self.members.get(member)
        want_version = prev[1] + 1 if prev else 1
        want_link = prev[2] if prev else None
        if event["version"] != want_version or event["previousPosition"] != want_link:
            self.problem(p, f"member '{member.decode()}' stream: version {event['version']} linked to "
                            f"{event['previousPosition'] or 'none'}, expected version {want_version} "
                            f"linked to {want_link or 'none'}")
        self.members[member] = [prev[0] if prev else p, event["version"], p]
        if event["type"] == NEUTRALISED_TYPE:
            try:
                named = json.loads(event["data"]).get("position")
            except (ValueError, AttributeError):
                named = None
            self.correcting[p] = (named if isinstance(named, int) and not isinstance(named, bool) else None, event["data"])
        key = event["idempotencyKey"]
        if key is not None:
            if key in self.keys:
                self.problem(p, f"idempotency key '{key.decode()}' already used at position {self.keys[key]}")
            else:
                self.keys[key] = p
        if p % CHECKPOINT_INTERVAL == 0:
            stored = txn.get(u64be(p), db=self.chain)
            if stored is None:
                self.problem(p, "chain checkpoint missing")
            else:
                self.checkpoints += 1
                if stored != self.hash:
                    self.problem(p, "chain hash differs from the stored checkpoint "
                                    "(an event at or before it was altered)")
        self.recorded_at = event["recordedAt"] if self.recorded_at is None else max(self.recorded_at, event["recordedAt"])
        self.position = p
        if self.dump:
            self.dump_event(event)
        return True

    def dump_event(self, e):
        out = {
            "position": e["position"],
            "recordedAt": rfc3339(e["recordedAt"]),
            "recordedAtMicros": e["recordedAt"],
            "occurredAt": rfc3339(e["occurredAt"]),
            "occurredAtMicros": e["occurredAt"],
            "type": e["type"].decode(),
            "schemaVersion": e["schemaVersion"],
            "member": e["member"].decode(),
            "version": e["version"],
            "previousPosition": e["previousPosition"],
        }
        if e["idempotencyKey"] is not None:
            out["idempotencyKey"] = e["idempotencyKey"].decode()
        if e["actor"] is not None:
            out["actor"] = e["actor"].decode()
        out["hash"] = self.hash.hex()
        line = json.dumps(out, ensure_ascii=False, separators=(",", ":"))[:-1]
        data = e["data"]
        try:  # canonical JSON by convention (section 8): embed it verbatim, else as hex
            json.loads(data.decode("utf-8"))
            line += ',"data":' + data.decode("utf-8") + "}"
        except (UnicodeDecodeError, ValueError):
            line += ',"dataHex":"' + data.hex() + '"}'
        self.dump.write(line + "\n")

    def check_chain_keys(self):
        """`chain` holds exactly the multiples of 256 (checked above) and nothing else."""
        with begin(self.env) as txn:
            for key, value in txn.cursor(db=self.chain):
                if len(key) != 8:
                    self.problem(None, f"chain key of {len(key)} bytes ({key.hex()})")
                    continue
                p = read_u64be(key)
                if p == 0 or p % CHECKPOINT_INTERVAL:
                    self.problem(p, f"chain holds a key at {p}, not a multiple of {CHECKPOINT_INTERVAL}")
                elif len(value) != 32:
                    self.problem(p, f"chain checkpoint of {len(value)} bytes")
                elif p > self.position and txn.get(u64be(p), db=self.events) is None:
                    self.problem(p, "chain checkpoint past the log head")

    # -- index ---------------------------------------------------------------------------------

    def verify_index(self):
        index_path = os.path.join(self.path, "index")
        if not os.path.exists(os.path.join(index_path, "data.mdb")):
            return False
        ienv = open_env(index_path)
        try:
            self.check_databases(ienv, INDEX_DATABASES, "index/data.mdb")
            state = open_db(ienv, b"state")
            members_db = open_db(ienv, b"members")
            with begin(ienv) as itxn:
                fmt = itxn.get(b"format", db=state)
                owner = itxn.get(b"ledgerId", db=state)
                through_bytes = itxn.get(b"indexedThrough", db=state)
                if fmt != INDEX_FORMAT:
                    self.problem(None, f"index/ has format {fmt!r}, not {INDEX_FORMAT.decode()} "
                                       "(a writer rebuilds it at open; delete index/ to rebuild it now)")
                    return True
                if owner != self.ledger_id:
                    self.problem(None, "index/ belongs to another ledger (ledgerId differs)")
                    return True
                if through_bytes is None or len(through_bytes) != 8:
                    self.problem(None, "index state/indexedThrough is not 8 bytes")
                    return True
                through = read_u64be(through_bytes)
                self.indexed_through = through
                indexed = {}
                for key, value in itxn.cursor(db=members_db):
                    if len(value) != 16:
                        self.problem(None, f"index member '{key.decode('utf-8', 'replace')}' has a value of {len(value)} bytes")
                        continue
                    indexed[key] = (read_u64be(value[:8]), read_u64be(value[8:]))
            # The key table is read after indexedThrough: its entries are durable before
            # indexedThrough moves (6.1), so every key up to `through` must be in it.
            table = self.read_key_table(os.path.join(index_path, "keys.table"), through)
        finally:
            ienv.close()
        # The index may have been flushed past the walk's end meanwhile: walk up to the head now.
        need = max(through, max((s >> 24 for s, _, _ in table or []), default=0))
        if need > self.position:
            self.walk(self.head_position())
            if self.problems:
                return True
        if through > self.position:
            self.problem(through, f"index claims position {through}, past the log head {self.position}")
            return True
        self.check_members(indexed, through)
        if table is not None:
            self.check_keys(table, through)
        elif through > 0 and any(p <= through for p in self.keys.values()):
            self.problem(None, "index/keys.table is missing")
        return True

    def member_head_at(self, member, through, txn):
        """The member's last (version, position) at or before `through`, following previousDelta."""
        first, version, position = self.members[member]
        if first > through:
            return None
        while position > through:
            event = decode_record(position, txn.get(u64be(position), db=self.events))
            if event["previousPosition"] is None:
                return None
            position = event["previousPosition"]
            version -= 1
        return (version, position)

    def check_members(self, indexed, through):
        with begin(self.env) as txn:
            for member, head in indexed.items():
                expected = self.member_head_at(member, through, txn) if member in self.members else None
                if expected != head:
                    self.problem(head[1], f"index head of member '{member.decode('utf-8', 'replace')}' is version "
                                          f"{head[0]} at {head[1]}; the log says "
                                          + (f"version {expected[0]} at {expected[1]}" if expected else "no event"))
        expected_count = sum(1 for m in self.members.values() if m[0] <= through)
        if len(indexed) != expected_count:
            missing = [m for m, v in self.members.items() if v[0] <= through and m not in indexed]
            self.problem(min((self.members[m][0] for m in missing), default=None),
                         f"index holds {len(indexed)} members, the log has {expected_count} up to position {through}")

    def read_key_table(self, path, through):
        """Every non-empty slot as (slot value, slot index, reachable from its home slot)."""
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            header = f.read(16)
            bits = header[8] if len(header) > 8 else 0
            if header[:8] != KEY_TABLE_MAGIC or not 16 <= bits <= 36 or size != KEY_TABLE_HEADER + (8 << bits):
                self.problem(None, "index/keys.table is not a key table of this format")
                return []
            with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                slots = memoryview(m)[KEY_TABLE_HEADER:].cast("B")
                count = 1 << bits
                values = struct.unpack(f"<{count}Q", slots)
                slots.release()
        mask = count - 1
        out = []
        for i, s in enumerate(values):
            if s == 0:
                continue
            fp = s & 0xFFFFFF
            j = home_slot(fp, bits)
            reachable = True
            while j != i:
                if values[j] == 0:
                    reachable = False
                    break
                j = (j + 1) & mask
            out.append((s, i, reachable))
        return out

    def check_keys(self, table, through):
        fingerprint_at = {p: fingerprint(key_hash(k)) for k, p in self.keys.items()}
        found = set()
        with begin(self.env) as txn:
            for s, slot, reachable in table:
                p, fp = s >> 24, s & 0xFFFFFF
                if p < 1 or p > self.position:
                    self.problem(p, f"idempotency table slot {slot} points past the log head")
                elif fingerprint_at.get(p) != fp:
                    self.problem(p, f"idempotency table slot {slot} points at an event without a matching key")
                elif not reachable:
                    self.problem(p, f"idempotency table slot {slot} is unreachable from its home slot")
                else:
                    found.add(s)
        for key, p in self.keys.items():
            if p <= through and (p << 24 | fingerprint_at[p]) not in found:
                self.problem(p, f"idempotency key '{key.decode()}' is missing from the key table")

    # -- all -----------------------------------------------------------------------------------

    def run(self):
        self.open_log()
        head = self.head_position()
        self.walk(head)
        if not self.problems:
            self.check_chain_keys()
        if not self.problems:
            self.verify_index()
        if not self.problems:
            self.check_neutralised()
        if not self.problems:
            self.check_tree()
        self.env.close()

    # -- Merkle tree and checkpoint (section 14) ----------------------------------------------

    def open_tree(self, head):
        """merkle/ (14.2), read-only: (env, nodes db, tree size), or None (absent or unusable)."""
        path = os.path.join(self.path, "merkle")
        if not os.path.exists(os.path.join(path, "data.mdb")):
            return None
        try:
            env = open_env(path)
            nodes, state = env.open_db(b"nodes", create=False), env.open_db(b"state", create=False)
        except lmdb.Error as e:
            self.problem(None, f"merkle/: {e}: delete it, it is rebuilt from the log")
            return None
        self.check_databases(env, MERKLE_DATABASES, "merkle/data.mdb")
        with begin(env) as txn:
            keys = [k for k, _ in txn.cursor(db=state)]
            fmt, owner, size_bytes = (txn.get(k, db=state) for k in (b"format", b"ledgerId", b"treeSize"))
            count = txn.stat(nodes)["entries"]
        for k in keys:
            if k not in (b"format", b"ledgerId", b"treeSize"):
                self.problem(None, f"merkle/: state holds the key '{k.decode('utf-8', 'replace')}', not format, ledgerId or treeSize (14.2)")
        if fmt != MERKLE_FORMAT or owner != self.ledger_id:
            self.problem(None, f"merkle/: of format '{(fmt or b'none').decode('utf-8', 'replace')}' or of another ledger: "
                               "delete it, it is rebuilt from the log")
            return None
        if size_bytes is None or len(size_bytes) != 8:
            self.problem(None, "merkle/: state/treeSize is not 8 bytes")
            return None
        size = read_u64be(size_bytes)
        if size > head:
            self.problem(head + 1, f"merkle/ covers {size} events, the log holds {head}: events were removed")
            return None
        if count < node_count(size):   # a catch-up beside verify may have added nodes past `size`
            self.problem(None, f"merkle/: nodes holds {count} nodes, a tree of {size} events has {node_count(size)} (14.2)")
            return None
        return env, nodes, size

    def check_anchor(self, head):
        """The checkpoint's signature, ledger and size; its size when the log can be compared."""
        path, key = self.anchor
        try:
            c = verify_checkpoint(path, key)
        except Rejected as e:
            self.problem(None, str(e))
            return None
        if c["ledgerId"] != self.ledger_id:
            self.problem(None, f"checkpoint {path} is of ledger {c['ledgerId'].hex()}, this ledger is {self.ledger_id.hex()}")
            return None
        if c["treeSize"] > head:
            self.problem(head + 1, f"checkpoint {path} covers {c['treeSize']} events, the log holds {head}: events were removed")
            return None
        self.anchor_checkpoint = c
        return c["treeSize"]

    def check_tree(self):
        """Every stored Merkle node (or a random sample, --quick) recomputed from the log, and the
        checkpoint's Merkle root and h(N) recomputed from the first N events (14.1, 14.2, 14.5)."""
        head = self.position
        tree = self.open_tree(head)
        anchor_size = self.check_anchor(head) if self.anchor else None
        size = tree[2] if tree else 0
        end = max(size, anchor_size or 0)
        if end == 0 and anchor_size is None:
            if tree:
                self.lines.append("merkle ok: an empty tree (merkle/)")
            return
        count = node_count(size)
        sample = None
        if self.quick and tree:
            sample = set(random.sample(range(count), min(count, QUICK_SAMPLE_NODES) - 1)) | {count - 1} if count else set()
            while len(sample) < min(count, QUICK_SAMPLE_NODES):
                sample.add(random.randrange(count))
        frontier, chain, key, position, checked, failed = [], GENESIS, 0, 0, 0, False
        anchored = (sha256(b""), GENESIS) if anchor_size == 0 else None
        while position < end:
            emitted = []   # (key, position, level, hash) in key order
            with begin(self.env) as txn:
                cur = txn.cursor(db=self.events)
                found = cur.set_key(u64be(position + 1))
                batch_end = min(end, position + READ_BATCH)
                while found and position < batch_end and cur.key() == u64be(position + 1):
                    record = cur.value()
                    position += 1
                    leaf = leaf_hash(record)
                    if anchor_size is not None:
                        chain = chain_next(chain, position, record)
                    frontier.append((0, leaf))
                    emitted.append((key, position, 0, leaf))
                    key += 1
                    while len(frontier) >= 2 and frontier[-1][0] == frontier[-2][0]:
                        (level, right), (_, left) = frontier.pop(), frontier.pop()
                        frontier.append((level + 1, node_hash(left, right)))
                        emitted.append((key, position, level + 1, frontier[-1][1]))
                        key += 1
                    if position == anchor_size:
                        anchored = (frontier_root(frontier), chain)
                    found = cur.next()
            if position < batch_end:
                self.problem(position + 1, f"event missing (the tree or checkpoint covers {end})")
                return
            if tree and not failed:
                env, nodes, _ = tree
                wanted = [e for e in emitted if e[0] < count and (sample is None or e[0] in sample)]
                checked += len(wanted)
                with begin(env) as txn:
                    for k, at, level, h in wanted:
                        stored = txn.get(u64be(k), db=nodes)
                        if stored != h:
                            what = ("missing" if stored is None else "not 32 bytes" if len(stored) != 32 else
                                    "differs from the log: the event or the tree was altered since the tree recorded it")
                            self.problem(at, f"merkle/: node {k} (level {level}, completed by position {at}) {what}")
                            failed = True
                            break
        if tree:
            tree[0].close()
            if not failed:
                self.lines.append(f"merkle ok: {f'{checked} sampled' if self.quick else f'all {checked}'} of the {count} nodes "
                                  f"of the tree of {size} events in merkle/ match the log")
        if anchor_size is not None and anchored:
            c, (root, head_hash), path = self.anchor_checkpoint, anchored, self.anchor[0]
            ok = True
            if root != c["root"]:
                ok = False
                self.problem(None, f"checkpoint {path}: the Merkle root of the first {anchor_size} events is {root.hex()}, "
                                   f"the checkpoint signed {c['root'].hex()}: the log was altered since")
            if head_hash != c["head"]:
                ok = False
                self.problem(None, f"checkpoint {path}: h({anchor_size}) is {head_hash.hex()}, the checkpoint signed "
                                   f"{c['head'].hex()}: the log was altered since")
            if ok:
                self.lines.append(f"checkpoint ok: signature, Merkle root and h({anchor_size}) match the log")

    def check_neutralised(self):
        """The `neutralised` database (section 5.6) against the walked log."""
        try:
            db = self.env.open_db(b"neutralised", create=False)
        except lmdb.NotFoundError:
            db = None
        table = {}
        if db is not None:
            with begin(self.env) as txn:
                for key, value in txn.cursor(db=db):
                    if len(key) != 8 or len(value) != 8:
                        self.problem(None, f"neutralised holds an entry of {len(key)}/{len(value)} bytes (8/8 expected)")
                        return
                    table[read_u64be(key)] = read_u64be(value)
        for n, m in sorted(table.items()):
            if not (1 <= n < m <= self.position):
                self.problem(n, f"neutralised by position {m}, which is not after it and at most the head {self.position}")
            elif m not in self.correcting:
                self.problem(m, f"neutralises position {n} but is not a '{NEUTRALISED_TYPE.decode()}' event")
            elif self.correcting[m][0] != n:
                self.problem(m, f"its data does not name position {n}, which the table says it neutralises")
            else:
                self.neutralisations.append((n, m, self.correcting[m][1]))
        for m, (n, _) in sorted(self.correcting.items()):
            if n is None:
                self.problem(m, f"a '{NEUTRALISED_TYPE.decode()}' event whose data names no position")
            elif table.get(n) != m:
                self.problem(m, f"neutralises position {n} but neutralised has "
                                f"{'position ' + str(table[n]) if n in table else 'no entry'} for it")


# ---------------------------------------------------------------------------------------------
# Tamper evidence (section 14): Merkle tree, checkpoints, proofs

class Rejected(Exception):
    """A checkpoint or proof that does not verify: why."""


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(record):
    return sha256(b"\x00" + record)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def node_count(size):
    """Nodes a tree of `size` leaves stores: 2N - popcount(N) (14.2)."""
    return 2 * size - bin(size).count("1")


def frontier_root(frontier):
    """MTH from the frontier's perfect subtrees [(level, hash)], largest first (14.2)."""
    if not frontier:
        return sha256(b"")
    r = frontier[-1][1]
    for _, h in reversed(frontier[:-1]):
        r = node_hash(h, r)
    return r


class MerkleRoot:
    """MTH over leaves added in order: a stack of perfect subtrees (14.1)."""

    def __init__(self):
        self.stack = []   # [(leaf count, hash)], counts strictly decreasing

    def add(self, leaf):
        self.stack.append((1, leaf))
        while len(self.stack) >= 2 and self.stack[-1][0] == self.stack[-2][0]:
            (n, right), (_, left) = self.stack.pop(), self.stack.pop()
            self.stack.append((2 * n, node_hash(left, right)))

    def root(self):
        if not self.stack:
            return sha256(b"")
        r = self.stack[-1][1]
        for _, h in reversed(self.stack[:-1]):
            r = node_hash(h, r)
        return r


SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", "proofs")
SCHEMAS = {"checkpoint": "checkpoint.schema.json", "public key file": "public-key.schema.json",
           "inclusion proof": "inclusion-proof.schema.json", "consistency proof": "consistency-proof.schema.json"}


class NumberLiteral(str):
    """A JSON number with a fraction or an exponent (`237254.0`, `2e5`): never an integer here."""


def load_json(path, what):
    """Strict JSON: UTF-8, no duplicate keys; numbers with a fraction or exponent kept apart."""
    def pairs(items):
        seen = set()
        for k, _ in items:
            if k in seen:
                raise Rejected(f"{path}: not a {what}: duplicate field '{k}'")
            seen.add(k)
        return dict(items)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Rejected(f"{path}: cannot read the {what}: {e.strerror}") from None
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_float=NumberLiteral,
                          parse_constant=NumberLiteral)
    except (UnicodeDecodeError, ValueError):
        raise Rejected(f"{path}: not a {what}: invalid JSON") from None


def validate(value, schema, path, what, field="(root)"):
    """The subset of JSON Schema 2020-12 that schemas/proofs/ uses, applied to a parsed file;
    raises Rejected naming the field. `integer` means an integer literal (section 14.4)."""
    def bad(reason):
        raise Rejected(f"{path}: not a {what}: field '{field}': {reason}")
    kind = schema.get("type")
    if "const" in schema and (not isinstance(value, str) or value != schema["const"]):
        bad(f"{value!r}, expected '{schema['const']}'")
    if kind == "object":
        if not isinstance(value, dict):
            raise Rejected(f"{path}: not a {what}: not a JSON object")
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            for k in value:
                if k not in props:
                    raise Rejected(f"{path}: not a {what}: field '{k}': not a field of a {what} (the schema allows no other fields)")
        for k in schema.get("required", []):
            if k not in value:
                raise Rejected(f"{path}: not a {what}: field '{k}': missing")
        for k, sub in props.items():
            if k in value:
                validate(value[k], sub, path, what, k)
    elif kind == "string":
        if not isinstance(value, str) or isinstance(value, NumberLiteral):
            bad("not a string")
        if "pattern" in schema and not re.search(schema["pattern"].replace("$", r"\Z"), value):
            bad(f"does not match {schema['pattern']}")
    elif kind == "integer":
        if isinstance(value, NumberLiteral):
            bad("not an integer literal (no fraction, no exponent)")
        if not isinstance(value, int) or isinstance(value, bool):
            bad("not an integer")
        if value < schema.get("minimum", value) or value > schema.get("maximum", value) or value > U64:
            bad(f"{value} is outside {schema.get('minimum', 0)}...{schema.get('maximum', U64)}")
    elif kind == "array":
        if not isinstance(value, list):
            bad("not an array")
        if len(value) > schema.get("maxItems", len(value)):
            bad(f"{len(value)} items, at most {schema['maxItems']}")
        for i, item in enumerate(value):
            validate(item, schema.get("items", {}), path, what, f"{field}[{i}]")


def load_checked(path, what):
    """A key, checkpoint or proof file, checked against its JSON Schema (schemas/proofs/)."""
    doc = load_json(path, what)
    if what == "proof file":
        what = {"loyalty-inclusion-proof/1": "inclusion proof",
                "loyalty-consistency-proof/1": "consistency proof"}.get(doc.get("format") if isinstance(doc, dict) else None)
        if what is None:
            raise Rejected(f"{path}: format {doc.get('format') if isinstance(doc, dict) else None!r} is not a proof")
    with open(os.path.join(SCHEMA_DIR, SCHEMAS[what]), encoding="utf-8") as f:
        validate(doc, json.load(f), path, what)
    return doc


def hex_field(obj, field, size, label):
    value = obj.get(field)
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise Rejected(f"{label}: {field} is not {2 * size} lowercase hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise Rejected(f"{label}: {field} is not hex") from None


def load_public_key(path):
    import base64
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    k = load_checked(path, "public key file")
    if k.get("format") != "loyalty-public-key/1" or k.get("algorithm") != "ed25519":
        raise Rejected(f"{path}: not a loyalty-public-key/1 ed25519 key")
    raw = base64.b64decode(k.get("publicKey", ""), validate=True)
    if len(raw) != 32 or sha256(raw)[:8].hex() != k.get("keyId"):
        raise Rejected(f"{path}: publicKey is not 32 bytes or keyId does not match it")
    return Ed25519PublicKey.from_public_bytes(raw), k["keyId"]


def signed_message(c):
    """The six lines of 14.5, values verbatim."""
    return (f"loyalty-checkpoint/1\nledger {c['ledgerId']}\nsize {c['treeSize']}\nroot {c['rootHash']}\n"
            f"head {c['headHash']}\ntime {c['timestamp']}\n").encode("ascii")


def verify_checkpoint(path, key):
    """Checks a checkpoint file's fields and signature; returns the checkpoint with bytes fields."""
    import base64, re
    from cryptography.exceptions import InvalidSignature
    c = load_checked(path, "checkpoint")
    if c.get("format") != "loyalty-checkpoint/1":
        raise Rejected(f"{path}: format {c.get('format')!r} is not loyalty-checkpoint/1")
    size = c.get("treeSize")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise Rejected(f"{path}: treeSize is not a whole number")
    out = {"treeSize": size, "ledgerId": hex_field(c, "ledgerId", 16, path), "root": hex_field(c, "rootHash", 32, path),
           "head": hex_field(c, "headHash", 32, path), "timestamp": c.get("timestamp")}
    if not isinstance(out["timestamp"], str) or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out["timestamp"]):
        raise Rejected(f"{path}: timestamp is not YYYY-MM-DDTHH:MM:SSZ")
    public_key, key_id = key
    if c.get("keyId") != key_id:
        raise Rejected(f"{path}: signed by key {c.get('keyId')}, not by {key_id}")
    try:
        public_key.verify(base64.b64decode(c.get("signature", ""), validate=True), signed_message(c))
    except (InvalidSignature, ValueError):
        raise Rejected(f"{path}: the signature does not verify with key {key_id}") from None
    return out


def hash_list(proof, field, label):
    items = proof.get(field)
    if not isinstance(items, list) or len(items) > 64:
        raise Rejected(f"{label}: {field} is not a list of at most 64 hashes")
    return [hex_field({field: h}, field, 32, label) for h in items]


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 2.1.3.2, as written in 14.6."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(m, n, root1, root2, path):
    """RFC 9162 2.1.4.2, as written in 14.7."""
    if not 1 <= m <= n:
        return False
    if m == n:
        return not path and root1 == root2
    if not path:
        return False
    if m & (m - 1) == 0:
        path = [root1] + path
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0


def verify_proof_file(proof_path, checkpoint_path, key, old_checkpoint_path=None):
    """Verifies an inclusion or consistency proof file offline; returns a one-line summary."""
    proof = load_checked(proof_path, "proof file")
    new = verify_checkpoint(checkpoint_path, key)
    ledger_id = hex_field(proof, "ledgerId", 16, proof_path)
    if proof.get("format") == "loyalty-inclusion-proof/1":
        position, index, size = proof.get("position"), proof.get("leafIndex"), proof.get("treeSize")
        if ledger_id != new["ledgerId"] or size != new["treeSize"]:
            raise Rejected("the proof is for another ledger or tree size than the checkpoint")
        if not isinstance(position, int) or position < 1 or index != position - 1:
            raise Rejected(f"leafIndex {index} is not position {position} - 1")
        try:
            record = bytes.fromhex(proof.get("record", ""))
        except ValueError:
            raise Rejected(f"{proof_path}: record is not hex") from None
        leaf = leaf_hash(record)
        if leaf != hex_field(proof, "leafHash", 32, proof_path):
            raise Rejected("leafHash is not SHA-256(0x00 || record)")
        decode_record(position, record)  # the proven bytes are a well-formed event (5.3)
        if not verify_inclusion(leaf, index, size, hash_list(proof, "auditPath", proof_path), new["root"]):
            raise Rejected(f"the audit path does not lead from event {position} to the signed root")
        return f"ok: event {position} (leaf {index}) is in the signed tree of {size} events"
    if proof.get("format") == "loyalty-consistency-proof/1":
        if old_checkpoint_path is None:
            raise Rejected("a consistency proof needs --old-checkpoint")
        old = verify_checkpoint(old_checkpoint_path, key)
        if not ledger_id == old["ledgerId"] == new["ledgerId"]:
            raise Rejected("the proof and the checkpoints are not of one ledger")
        if proof.get("oldSize") != old["treeSize"] or proof.get("newSize") != new["treeSize"]:
            raise Rejected("the proof's sizes are not the checkpoints' tree sizes")
        path = hash_list(proof, "consistencyPath", proof_path)
        if not verify_consistency(old["treeSize"], new["treeSize"], old["root"], new["root"], path):
            raise Rejected(f"the tree of {new['treeSize']} events does not extend the tree of {old['treeSize']}")
        return f"ok: the signed tree of {new['treeSize']} events extends the signed tree of {old['treeSize']}"
    raise Rejected(f"{proof_path}: format {proof.get('format')!r} is not a proof")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Verify a LoyaltyLedger directory independently (schemas/ledger-format.md).")
    ap.add_argument("ledger", nargs="?", help="the ledger directory (holds data.mdb)")
    ap.add_argument("--json", action="store_true", help="dump every decoded event as JSON Lines on standard output")
    ap.add_argument("--problems-max", type=int, default=100, help="stop after this many problems")
    ap.add_argument("--checkpoint", help="a signed checkpoint: verify it (with --public-key) against the log, or the proof against it")
    ap.add_argument("--old-checkpoint", help="the older checkpoint of a consistency proof")
    ap.add_argument("--public-key", help="the operator's public key file")
    ap.add_argument("--proof", help="verify this proof file offline (section 14) instead of a ledger")
    ap.add_argument("--quick", action="store_true", help=f"compare a random sample of {QUICK_SAMPLE_NODES} stored Merkle nodes, not all")
    args = ap.parse_args(argv)
    if args.checkpoint and not args.public_key:
        ap.error("--checkpoint needs --public-key")
    if args.proof:
        if not args.checkpoint:
            ap.error("--proof needs --checkpoint and --public-key")
        try:
            print(verify_proof_file(args.proof, args.checkpoint, load_public_key(args.public_key), args.old_checkpoint))
            return 0
        except (Rejected, Corrupt) as e:
            print(f"proof rejected: {e}", file=sys.stderr)
            return 1
    if not args.ledger:
        ap.error("give a ledger directory, or --proof")
    anchor = None
    if args.checkpoint:
        try:  # the files' forms (schemas/proofs/) before the ledger is read; the signature in check_anchor
            anchor = (args.checkpoint, load_public_key(args.public_key))
            load_checked(args.checkpoint, "checkpoint")
        except Rejected as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    summary = sys.stderr if args.json else sys.stdout
    v = Verifier(args.ledger, dump=sys.stdout if args.json else None, problems_max=args.problems_max,
                 quick=args.quick, anchor=anchor)
    try:
        v.run()
    except NotALedger as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except lmdb.Error as e:
        print(f"error: lmdb: {e}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.flush()
    if not v.problems:
        for n, m, data in v.neutralisations:
            print(neutralisation_line(n, m, data), file=summary)
        for line in v.lines:
            print(line, file=summary)
        print(f"ok: {v.position} events, {len(v.members)} members, {len(v.keys)} idempotency keys, "
              f"{v.checkpoints} chain checkpoints, index through {v.indexed_through}; "
              f"head {v.position} {v.hash.hex()}", file=summary)
        return 0
    for position, text in v.problems:
        print(f"bad: position {position}: {text}" if position is not None else f"bad: {text}", file=sys.stderr)
    positions = [p for p, _ in v.problems if p is not None]
    first = min(positions) if positions else "n/a"
    print(f"verification failed: first bad position {first}, {len(v.problems)} problem(s)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
