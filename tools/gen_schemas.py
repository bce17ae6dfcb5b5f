#!/usr/bin/env python3
"""Writes the JSON Schemas of every event (schemas/events/<type>.schema.json) and command
(schemas/commands/<name>.schema.json) from the field tables below, which mirror
Sources/LoyaltyDomain/DomainEvent+JSON.swift and Command.swift. Run after changing either."""
import json, os

ROOT = os.path.join(os.path.dirname(__file__), "..", "schemas")
S = {"type": "string", "minLength": 1}
I = {"type": "integer"}
P = {"type": "integer", "minimum": 0}
T = {"type": "string", "format": "date-time", "description": "RFC 3339"}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
MONEY = {"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "decimal amount in the program currency, e.g. 12.50"}
PERIOD = {"type": "string", "pattern": r"^\d{4}-(\d{2}(-\d{2})?|W\d{2})$", "description": "YYYY-MM-DD (a local day), YYYY-Www (an ISO week) or YYYY-MM (a month)"}
DICT = {"type": "object", "additionalProperties": {"type": "string"}}
ALLOC = {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["lotId", "points"],
                                     "properties": {"lotId": S, "points": P}}}
XALLOC = {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["lotId", "points"],
                                      "properties": {"lotId": S, "points": P, "expiresAt": T}}}
SOURCE = {"type": "object", "additionalProperties": False, "required": ["kind", "id"],
          "properties": {"kind": {"enum": ["purchase", "adjustment", "transfer", "bonus"]}, "id": S}}

def req(**fields): return {k: (v, True) for k, v in fields.items()}
def opt(**fields): return {k: (v, False) for k, v in fields.items()}

EVENTS = {
    "member.enrolled": ("A member joined (stream: the member).", {**req(member=S, brand=S, store=S, channel=S), **opt(birthDate=DATE, gender=S, profile=DICT)}),
    "member.profile_updated": ("Profile fields changed.", req(member=S, changes=DICT)),
    "member.closed": ("The membership ended.", req(member=S, reason=S)),
    "purchase.recorded": ("A purchase, amounts in minor units.", {**req(member=S, purchaseId=S, store=S, amount=P, currency=S),
        **opt(lines={"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["category", "amount"], "properties": {"category": {"type": "string"}, "amount": P}}}, paidWithPoints=P)}),
    "purchase.returned": ("A (partial) return and the points it clawed back.", req(member=S, purchaseId=S, returnId=S, amount=P, clawedBack=ALLOC, debt=P, forgiven=P)),
    "points.earned": ("A lot of points.", {**req(member=S, lotId=S, points=P, source=SOURCE, ruleVersion=I, rule={"type": "string"}, availableAt=T),
        **opt(expiresAt=T, debtPaid=P, capCounted=P, birthdayBonus=P)}),
    "points.redeemed": ("A redemption and the lots it consumed.", {**req(member=S, redemptionId=S, points=P, allocations=ALLOC), **opt(reward=S)}),
    "redemption.reversed": ("A redemption undone: lots restored, or expired when past expiry; debtPaid: of the restored points, those that paid the member's debt first (0 when absent).",
        {**req(member=S, redemptionId=S, restored=ALLOC, expired=ALLOC), **opt(debtPaid=P)}),
    "points.adjusted": ("An operator's signed adjustment.", {**req(member=S, key=S, points=I, reason=S, operator=S), **opt(lotId=S, expiresAt=T, allocations=ALLOC)}),
    "points.expired": ("A lot's unspent remainder expired.", req(member=S, lotId=S, points=P)),
    "points.held": ("Points held until a time.", req(member=S, holdId=S, points=P, expiresAt=T)),
    "points.hold_released": ("A hold released.", req(member=S, holdId=S)),
    "points.transferred_out": ("Points sent to another member (stream: the sender).", req(**{"from": S, "to": S, "transferId": S, "points": P, "allocations": XALLOC})),
    "points.transferred_in": ("Points received (stream: the receiver); new lots keep the expiry.", req(**{"from": S, "to": S, "transferId": S, "points": P, "allocations": XALLOC})),
    "tier.changed": ("A tier change with the figures that justified it.", {**req(member=S, reason=S, qualifyingValue=I, windowFrom=T, windowTo=T),
        **opt(**{"from": S, "to": S, "floorUntil": T})}),
    "reward.defined": ("A reward defined or updated (stream: $program).", {**req(rewardId=S, name=S, cost=P), **opt(stock=P, budget=P)}),
    "card.issued": ("A membership card issued to a member (stream: the member); the number is unique in the program, in Unicode NFC. "
                    "key: the issue's idempotency key (absent for a replacement); replaces: the card this one replaces (blocked from then on).",
                    {**req(member=S, number=S), **opt(key=S, replaces=S)}),
    "card.blocked": ("A membership card blocked (stream: the card's member): refused from then on.", req(member=S, number=S, reason=S)),
    "tier.set": ("A tier set by an operator, audited like an adjustment (key, operator, reason); from: the tier before. With floor (true; "
                 "absent: false), tier evaluation never goes below it until `until` (absent: no end).",
                 {**req(member=S, key=S, tier=S, reason=S, operator=S), **opt(**{"from": S, "floor": {"const": True}, "until": T})}),
    "target.set": ("A target for a store, a period and a metric (stream: $program); replaces an earlier one of the same store, period and metric (schemas/reports.md).",
        req(store=S, period=PERIOD, metric={"enum": ["enrollments"]}, value=P)),
}

# Commands carry the bounds of Sources/LoyaltyDomain/DomainLimits.swift (schemas/domain.md, Limits).
CID = {"type": "string", "pattern": r"^[!-~]{1,128}$", "description": "id: 1 to 128 bytes of printable ASCII, no spaces"}
CTEXT = {"type": "string", "pattern": r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$", "maxLength": 1024,
         "description": "free text: UTF-8, no control characters, at most 1,024 bytes"}
CTEXT1 = {**CTEXT, "minLength": 1}
CPOINTS = {"type": "integer", "minimum": 1, "maximum": 1000000000000}
CBUDGET = {"type": "integer", "minimum": 0, "maximum": 1000000000000}
CSIGNED = {"type": "integer", "minimum": -1000000000000, "maximum": 1000000000000, "not": {"const": 0}}
CMONEY = {"type": "string", "pattern": r"^\d+(\.\d+)?$",
          "description": "decimal amount in the program currency, e.g. 12.50: digits and one '.', no sign, no spaces; at most 10^15 minor units"}
CTIME = {"type": "string", "format": "date-time", "description": "RFC 3339, from 1900-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"}
CDATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "YYYY-MM-DD, from 1900-01-01"}
CCARD = {"type": "string", "pattern": r"^[^\s\u0000-\u001f\u007f-\u00a0]+$", "minLength": 1, "maxLength": 64,
         "description": "card number: any script, no white space or control characters, at most 64 bytes of UTF-8 (stored in Unicode NFC)"}
CDICT = {"type": "object", "maxProperties": 64, "propertyNames": CTEXT1, "additionalProperties": CTEXT}

COMMANDS = {
    "publish-program": req(rules={"$ref": "../program-rules.schema.json"}),
    "enroll": {**req(member=CID, store=CID), **opt(brand=CID, channel=CID, birthDate=CDATE, gender=CTEXT, profile=CDICT)},
    "update-profile": req(member=CID, changes=CDICT),
    "close-member": req(member=CID, reason=CTEXT),
    "purchase": {**req(member=CID, purchaseId=CID, amount=CMONEY, store=CID), **opt(currency={"type": "string", "pattern": "^[A-Z]{3}$"}, paidWithPoints=CMONEY,
        lines={"type": "array", "maxItems": 1000, "items": {"type": "object", "additionalProperties": False, "required": ["category", "amount"], "properties": {"category": CID, "amount": CMONEY}}})},
    "return": {**req(purchaseId=CID, returnId=CID), **opt(amount=CMONEY)},
    "redeem": {**req(member=CID, redemptionId=CID), **opt(points=CPOINTS, reward=CID)},
    "reverse-redemption": req(redemptionId=CID),
    "adjust": {**req(member=CID, points=CSIGNED, reason=CTEXT1, key=CID), **opt(operator=CID)},
    "transfer": req(**{"from": CID, "to": CID, "points": CPOINTS, "key": CID}),
    "hold": req(member=CID, points=CPOINTS, holdId=CID, expiresAt=CTIME),
    "release": req(holdId=CID),
    "define-reward": {**req(rewardId=CID, cost=CPOINTS), **opt(name=CTEXT1, stock=CBUDGET, budget=CBUDGET)},
    "expire": opt(asOf=CTIME),
    "evaluate-tiers": opt(asOf=CTIME),
    "issue-card": req(member=CID, number=CCARD, key=CID),
    "block-card": {**req(number=CCARD), **opt(reason=CTEXT1)},
    "replace-card": req(card=CCARD, number=CCARD),
    "set-tier": {**req(member=CID, tier=CID, reason=CTEXT1, key=CID), **opt(operator=CID, until=CTIME, floor={"type": "boolean"})},
    "set-target": req(store=CID, period={"type": "string", "pattern": r"^\d{4}-(\d{2}(-\d{2})?|W\d{2})$"}, metric={"enum": ["enrollments"]}, value=CBUDGET),
}

def schema(title, description, fields, extra=None):
    props = {k: v for k, (v, _) in fields.items()}
    props.update(extra or {})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "description": description,
            "type": "object", "additionalProperties": False, "properties": props,
            "required": sorted([k for k, (_, r) in fields.items() if r] + list((extra or {}).keys() & {"command"}))}

for t, (desc, fields) in EVENTS.items():
    s = schema(t, desc + " Schema version 1; canonical JSON (sorted keys, integers only).", fields)
    json.dump(s, open(os.path.join(ROOT, "events", t + ".schema.json"), "w"), indent=2, sort_keys=True)
json.dump({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "program.published",
           "description": "A rule set published (stream: $program); the data is the rules document.",
           "$ref": "../program-rules.schema.json"}, open(os.path.join(ROOT, "events", "program.published.schema.json"), "w"), indent=2, sort_keys=True)
for name, fields in COMMANDS.items():
    s = schema(name, f"The `{name}` command (JSON Lines for `loyalty import`).", fields,
               {"command": {"const": name}, "occurredAt": CTIME})
    json.dump(s, open(os.path.join(ROOT, "commands", name + ".schema.json"), "w"), indent=2, sort_keys=True)
print(f"wrote {len(EVENTS) + 1} event schemas and {len(COMMANDS)} command schemas")
