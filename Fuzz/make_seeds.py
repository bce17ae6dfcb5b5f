#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/corpus/<target>/, committed) from the
golden fixtures and examples under schemas/ and a few edge cases: years 0001 and 9999, Int64
extremes, huge numbers, invalid UTF-8, a byte-order mark. `loyalty generate` output is added
when a built CLI is given: Fuzz/make_seeds.py [.build/debug/loyalty]. regressions/ is left alone."""
import json, pathlib, subprocess, sys

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "Fuzz" / "corpus"
fixtures = root / "schemas" / "events" / "fixtures"

def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def record(type_, member, data, key=None, version=1, delta=0, recorded=1_780_000_000_000_000, occurred=1_780_000_000_000_000):
    def s(b):
        return varint(len(b)) + b
    out = bytes([1, 1 if key is not None else 0]) + varint(1)
    out += (recorded & (2**64 - 1)).to_bytes(8, "big") + (occurred & (2**64 - 1)).to_bytes(8, "big")
    out += varint(version) + varint(delta) + s(type_.encode()) + s(member)
    if key is not None:
        out += s(key)
    return out + s(data)

# stored-event: the stored records of the fixtures, and their payloads as TYPE\nDATA.
for hexfile in sorted(fixtures.glob("*.record.hex")):
    type_ = hexfile.name[: -len(".record.hex")]
    write("stored-event", f"record-{type_}", bytes.fromhex(hexfile.read_text().strip()))
    write("stored-event", f"data-{type_}", type_.encode() + b"\n" + (fixtures / f"{type_}.json").read_bytes().strip())
earned = json.loads((fixtures / "points.earned.json").read_text())
edge = {
    "year-0001": dict(earned, availableAt="0001-01-01T00:00:00Z", expiresAt="0001-01-01T00:00:00Z"),
    "year-9999": dict(earned, availableAt="9999-12-31T23:59:59.999999Z", expiresAt="9999-12-31T23:59:59.999999Z"),
    "int64-max": dict(earned, points=2**63 - 1, debtPaid=2**63 - 1),
    "int64-min": dict(earned, points=-(2**63), debtPaid=0),
    "huge-number": dict(earned, points=10**30),
}
for name, value in edge.items():
    write("stored-event", f"edge-{name}", b"points.earned\n" + json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
write("stored-event", "edge-invalid-utf8", b'member.closed\n{"member":"M\xff\xfe","reason":"x"}')
write("stored-event", "edge-bom", b'member.closed\n\xef\xbb\xbf{"member":"M1","reason":"x"}')
write("stored-event", "edge-escapes", b'member.closed\n{ "member" : "M\\u0031", "reason" : "a\\"b" }')
write("stored-event", "edge-record-invalid-utf8-member", record("member.closed", b"M\xff", b'{"member":"M1","reason":"x"}'))
write("stored-event", "edge-record-key-long-varint", record("member.closed", b"M1", b'{"member":"M1","reason":"x"}', key=b"K" * 300, version=3, delta=7))
write("stored-event", "edge-record-time-extremes", record("member.closed", b"M1", b'{"member":"M1","reason":"x"}', recorded=-(2**63), occurred=2**63 - 1))

# command-json: the examples, one of each command, edge cases.
for i, line in enumerate((root / "schemas/commands/examples/commands.jsonl").read_text().splitlines()):
    if line.strip():
        write("command-json", f"example-{i + 1}", line)
rules = json.loads((root / "schemas/examples/retail.rules.json").read_text())
at = "2026-03-01T10:00:00Z"
commands = {
    "publish-program": {"command": "publish-program", "rules": rules, "occurredAt": at},
    "update-profile": {"command": "update-profile", "member": "M1", "changes": {"city": "Lyon"}, "occurredAt": at},
    "close-member": {"command": "close-member", "member": "M1", "reason": "asked", "occurredAt": at},
    "redeem-reward": {"command": "redeem", "member": "M1", "redemptionId": "R-2", "reward": "W1"},
    "reverse-redemption": {"command": "reverse-redemption", "redemptionId": "R-1", "occurredAt": at},
    "transfer": {"command": "transfer", "from": "M1", "to": "M2", "points": 10, "key": "T-1", "occurredAt": at},
    "hold": {"command": "hold", "member": "M1", "points": 5, "holdId": "H-1", "expiresAt": "2026-03-02", "occurredAt": at},
    "release": {"command": "release", "holdId": "H-1"},
    "define-reward": {"command": "define-reward", "rewardId": "W1", "name": "Mug", "cost": 500, "stock": 10, "budget": 5000},
    "evaluate-tiers": {"command": "evaluate-tiers", "asOf": "2027-01-01"},
    "enroll-profile": {"command": "enroll", "member": "M2", "store": "S1", "brand": "b", "channel": "web",
                       "profile": {"email": "x@example.com"}, "occurredAt": "2026-01-01T00:00:00.5+01:00"},
    "purchase-paid-with-points": {"command": "purchase", "member": "M1", "purchaseId": "P-2", "amount": "10.00",
                                  "currency": "EUR", "store": "S1", "paidWithPoints": "2.50"},
    "edge-year-0001": {"command": "expire", "asOf": "0001-01-01T00:00:00Z"},
    "edge-year-9999": {"command": "hold", "member": "M1", "points": 5, "holdId": "H-9", "expiresAt": "9999-12-31T23:59:59.999999Z"},
    "edge-int64-max": {"command": "adjust", "member": "M1", "points": 2**63 - 1, "reason": "r", "key": "K"},
    "edge-int64-min": {"command": "adjust", "member": "M1", "points": -(2**63), "reason": "r", "key": "K"},
    "edge-huge-number": {"command": "redeem", "member": "M1", "points": 10**25, "redemptionId": "R"},
    "edge-huge-amount": {"command": "purchase", "member": "M1", "purchaseId": "P", "amount": "9" * 40 + ".99", "store": "S"},
    "edge-card-decomposed": {"command": "issue-card", "member": "M1", "number": "e\u0301-\u212b-1", "key": "C-9"},
    "edge-card-long": {"command": "replace-card", "card": "カ" * 22, "number": "\u200b1"},
    "set-tier-plain": {"command": "set-tier", "member": "M1", "tier": "gold", "reason": "r", "key": "T-2", "floor": False},
}
for name, value in commands.items():
    write("command-json", name, json.dumps(value, ensure_ascii=False))
write("command-json", "edge-invalid-utf8", b'{"command":"close-member","member":"M\xc3\x28","reason":"x"}')
write("command-json", "edge-bom", b'\xef\xbb\xbf{"command":"release","holdId":"H-1"}')
write("command-json", "edge-escapes", b'{"command":"release","holdId":"H\\u00e9\\ud83d\\ude00\\n"}')
write("command-json", "edge-deep", b"[" * 70 + b"]" * 70)

# program-rules: the example, the fixture's rules, a minimal one, edge cases.
write("program-rules", "retail", (root / "schemas/examples/retail.rules.json").read_bytes())
write("program-rules", "fixture", (fixtures / "program.published.json").read_bytes())
write("program-rules", "minimal", '{"version":1}')
write("program-rules", "never-expire", json.dumps({"version": 3, "expiry": {"policy": "never"}, "returnPolicy": "only_pending",
                                                   "tiers": [{"name": "silver", "threshold": 1000}, {"name": "gold", "threshold": 5000}]}))
write("program-rules", "idle-days", json.dumps({"version": 4, "expiry": {"policy": "idle_days", "idleDays": 365}, "timeZone": "Europe/Paris"}))
write("program-rules", "edge-int64-max", json.dumps({"version": 2**63 - 1, "birthdayBonus": 2**63 - 1, "pendingDays": 2**31}))
write("program-rules", "edge-huge-ratio", json.dumps({"version": 1, "earning": {"pointsPerUnit": "9223372036854775807/1"},
                                                      "categoryMultipliers": {"x": "1/9223372036854775807"}}))
write("program-rules", "edge-campaign-years", json.dumps({"version": 1, "campaigns": [{"id": "c", "from": "0001-01-01", "to": "9999-12-31", "multiplier": 2}]}))
write("program-rules", "edge-invalid-utf8", b'{"version":1,"currency":"E\xffR"}')
write("program-rules", "edge-bom", b'\xef\xbb\xbf{"version":1}')

# import-csv: CSV members and purchases, JSON Lines, edge cases.
write("import-csv", "members", "member_id,enrolled_at,store_id,birth_date,gender\nM1,2026-01-01,S1,1980-02-29,female\nM2,2026-01-02T10:00:00Z,S2,,\n")
write("import-csv", "purchases", "member_id,purchase_id,occurred_at,amount,currency,store_id\nM1,P1,2026-01-03T10:00:00Z,12.50,EUR,S1\nM2,P2,2026-01-04,3,,S2\n")
write("import-csv", "quoted", 'member_id,purchase_id,occurred_at,amount,currency,store_id\r\n"M,1","P""2", 2026-01-03 ,"1.00",EUR,"S é"\r\n')
write("import-csv", "jsonl", (root / "schemas/commands/examples/commands.jsonl").read_text())
write("import-csv", "edge-years", "member_id,enrolled_at,store_id,birth_date,gender\nM1,0001-01-01,S1,,\nM2,9999-12-31T23:59:59.999999Z,S1,,\n")
write("import-csv", "edge-huge-amount", "member_id,purchase_id,occurred_at,amount,currency,store_id\nM1,P1,2026-01-03," + "9" * 30 + ",EUR,S1\n")
write("import-csv", "edge-invalid-utf8", b"member_id,enrolled_at,store_id,birth_date,gender\nM\xff,2026-01-01,S\xc3,,\n")
write("import-csv", "edge-bom", b"\xef\xbb\xbfmember_id,enrolled_at,store_id,birth_date,gender\nM1,2026-01-01,S1,,\n")
write("import-csv", "edge-fields", "member_id,purchase_id,occurred_at,amount,currency,store_id\n,,,,,\nM1,P1\n\t \nM1,P1,2026-13-45,1,EUR,S1,extra\n")

if len(sys.argv) > 1:
    cli = sys.argv[1]
    events = subprocess.run([cli, "generate", "--count", "12", "--seed", "7"], check=True, capture_output=True).stdout.decode()
    for i, line in enumerate(events.splitlines()[:8]):
        e = json.loads(line)
        data = json.dumps(e["data"], separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        write("stored-event", f"generated-{i + 1}", e["type"] + "\n" + data)
    cmds = subprocess.run([cli, "generate", "--count", "30", "--seed", "7", "--commands"], check=True, capture_output=True).stdout.decode()
    lines = cmds.splitlines()
    for i, line in enumerate(lines[:8]):
        write("command-json", f"generated-{i + 1}", line)
    write("import-csv", "generated", "\n".join(lines[:30]) + "\n")
