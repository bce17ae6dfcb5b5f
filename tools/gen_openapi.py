#!/usr/bin/env python3
"""Writes schemas/openapi.yaml, the OpenAPI 3.1 document of `loyalty serve` (API version 1), from
the route table below and the JSON Schemas under schemas/ (the command bodies are the commands'
schemas without their `command` field). Then run tools/gen_openapi_swift.py, which embeds the
document in the server (GET /openapi.yaml). Run both after changing a route, a command's fields
or the problem types (Sources/LoyaltyServer/Problem.swift, `Problem.catalogue`)."""
import copy, json, os, sys
import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCHEMAS = os.path.join(ROOT, "schemas")

def load(path):
    return json.load(open(os.path.join(SCHEMAS, path)))

def strip(schema):
    schema = copy.deepcopy(schema)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return schema

# Every problem type and its status: Problem.catalogue (a Swift test checks the two agree).
PROBLEMS = [
    ("malformed-json", 400, "The body is not valid JSON (or not an object)."),
    ("invalid-field", 400, "A field of the body is missing or has the wrong type or form; `field` names it."),
    ("unknown-field", 400, "The body has a field the request does not take; `field` names it."),
    ("invalid-parameter", 400, "A query parameter or header is unknown, repeated or invalid; `field` names it."),
    ("invalid-import", 400, "The first line of an import is neither a known CSV header nor a JSON command, or not what its Content-Type says."),
    ("unauthorized", 401, "No API key, or an unknown or revoked one."),
    ("forbidden", 403, "The key's role (or, for a till, its stores) does not allow the request."),
    ("not-found", 404, "No such member (or route)."),
    ("method-not-allowed", 405, "The route does not take that method."),
    ("not-acceptable", 406, "The Accept header names no format the route writes."),
    ("idempotency-conflict", 409, "The idempotency key (the header, or the command's own) was used for a different request."),
    ("body-too-large", 413, "The body is over the route's size limit."),
    ("unsupported-media-type", 415, "The body's Content-Type is not one the route reads."),
    ("refused", 422, "The ledger refused the command (`reason`: the domain's reason), or cannot answer the query."),
    ("internal", 500, "The server failed; the error is in its log, not in the answer."),
    ("unavailable", 503, "Not ready (the projections have not caught up once), or shutting down."),
]
STATUS_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
                406: "NotAcceptable", 409: "Conflict", 413: "ContentTooLarge", 415: "UnsupportedMediaType",
                422: "Refused", 500: "Internal", 503: "Unavailable"}

ID = {"type": "string", "pattern": "^[!-~]{1,128}$", "description": "1 to 128 bytes of printable ASCII, no spaces"}
TIME = {"type": "string", "description": "RFC 3339 time, or a date YYYY-MM-DD (local midnight in the program's time zone)",
        "example": "2026-01-01T00:00:00Z"}

PERIOD_Q = {"type": "string", "pattern": r"^\d{4}-(\d{2}(-\d{2})?|W\d{2})$"}

def param(name, where, schema, description, required=False):
    p = {"name": name, "in": where, "description": description, "schema": schema}
    if required or where == "path":
        p["required"] = True
    return p

PATH_ID = lambda what: param("id", "path", ID, what)
# A member of the demo ledger tools/schemathesis.sh serves (`loyalty generate` names them so).
MEMBER_ID = {**param("id", "path", ID, "The member."), "example": "M0000001"}
IDEMPOTENCY_KEY = param("Idempotency-Key", "header", {"type": "string", "pattern": "^[!-~]{1,255}$"},
                        "Makes the request safe to retry: a retry with the same key and the same request is answered the original "
                        "status and body and nothing is carried out again; the same key with another request is 409. Kept per caller "
                        "and route. Without it, a command with its own key (purchaseId, redemptionId, ...) is idempotent by that key.")

def command_body(name, drop_required=()):
    schema = strip(load(f"commands/{name}.schema.json"))
    schema["properties"].pop("command")
    schema["required"] = [r for r in schema.get("required", []) if r != "command" and r not in drop_required]
    schema["title"] = f"{name} command"
    schema["description"] = f"The `{name}` command (schemas/commands/{name}.schema.json) without its `command` field."
    if not schema["required"]:
        del schema["required"]
    return schema

def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}

def json_content(schema):
    return {"application/json": {"schema": schema}}

def problems(*statuses):
    return {str(s): {"$ref": f"#/components/responses/{STATUS_NAMES[s]}"} for s in statuses}

SECURED = (401, 403)

def command_route(summary, body_schema_name, body_optional=False, extra_params=()):
    op = {
        "summary": summary,
        "parameters": [IDEMPOTENCY_KEY, *extra_params],
        "requestBody": {"required": not body_optional, "content": json_content(ref(body_schema_name))},
        "responses": {"201": {"description": "Carried out (or, for a retry, carried out before): the events written.",
                              "content": json_content(ref("CommandAnswer"))},
                      **problems(400, *SECURED, *((404,) if extra_params and extra_params[0]["in"] == "path" else ()), 409, 413, 415, 422)},
    }
    return op

COMMANDS = {
    "EnrollBody": command_body("enroll"), "PurchaseBody": command_body("purchase"), "ReturnBody": command_body("return"),
    "RedeemBody": command_body("redeem"), "ReverseRedemptionBody": command_body("reverse-redemption", ["redemptionId"]),
    "AdjustBody": command_body("adjust"), "TransferBody": command_body("transfer"), "HoldBody": command_body("hold"),
    "ReleaseBody": command_body("release", ["holdId"]), "DefineRewardBody": command_body("define-reward", ["rewardId"]),
    "IssueCardBody": command_body("issue-card"), "BlockCardBody": command_body("block-card", ["number"]),
    "ReplaceCardBody": command_body("replace-card", ["card"]), "SetTierBody": command_body("set-tier", ["member"]),
}

rules = strip(load("program-rules.schema.json"))
rules_defs = rules.pop("$defs")
def rewrite_refs(node):
    if isinstance(node, dict):
        return {k: (("#/components/schemas/ProgramRules." + v[len("#/$defs/"):]) if k == "$ref" and v.startswith("#/$defs/") else rewrite_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite_refs(v) for v in node]
    return node
rules = rewrite_refs(rules)
RULES_DEFS = {"ProgramRules." + k: rewrite_refs(v) for k, v in rules_defs.items()}

EVENT = {"type": "object", "required": ["position", "type", "member", "data"], "properties": {
    "position": {"type": "integer", "minimum": 1, "description": "The event's log position."},
    "type": {"type": "string", "description": "The event type (schemas/events/)."},
    "member": {"type": "string", "description": "The event's stream: the member, or $program."},
    "data": {"type": "object", "description": "The event's data (schemas/events/<type>.schema.json)."}}}

FIGURES = {"type": "object", "additionalProperties": {"type": "integer"}}
COMPONENT_SCHEMAS = {
    "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "description": "RFC 9457 problem details.",
                "properties": {
                    "type": {"type": "string", "enum": [f"/problems/{slug}" for slug, _, _ in PROBLEMS],
                             "description": "Stable per kind of error: " + "; ".join(f"`/problems/{s}` ({st}): {d}" for s, st, d in PROBLEMS)},
                    "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                    "field": {"type": "string", "description": "The request field, parameter or header at fault."},
                    "reason": {"type": "string", "description": "A refusal's reason (insufficient-points, unknown-member, ...)."}}},
    "Event": EVENT,
    "CommandAnswer": {"type": "object", "required": ["events"], "properties": {
        "events": {"type": "array", "items": ref("Event")},
        "note": {"type": "string", "description": "Rules only: how a time zone name was recorded."}}},
    **COMMANDS,
    "ProgramRules": rules, **RULES_DEFS,
    "Balance": strip(load("projections/balance.schema.json")),
    "MemberView": strip(load("projections/member-view.schema.json")),
    "KPIReport": strip(load("reports/kpis.schema.json")),
    "CohortReport": strip(load("reports/cohorts.schema.json")),
    "WarningReport": strip(load("reports/warnings.schema.json")),
    "SegmentReport": strip(load("reports/segments.schema.json")),
    "CategoryReport": strip(load("reports/categories.schema.json")),
    "HistoryRow": {"type": "object", "description": "One line of the history (JSON Lines; schemas/audit.md): a row per event, then a "
                   "`{\"neutralised\": {...}}` line per neutralised event of the member.", "properties": {
        "position": {"type": "integer"}, "recordedAt": {"type": "string"}, "occurredAt": {"type": "string"}, "type": {"type": "string"},
        "description": {"type": "string"}, "evaluatedAt": {"type": "string"}, "available": {"type": "integer"},
        "pending": {"type": "integer"}, "held": {"type": "integer"}, "debt": {"type": "integer"}, "consumed": {"type": "array"},
        "rule": {"type": "string"}, "ruleVersion": {"type": "integer"}, "fault": {"type": "string"}, "neutralised": {"type": "object"}}},
    "Explanation": {"type": "object", "required": ["member", "balance", "lots", "movements"], "description": "schemas/audit.md, explain."},
    "Figures": {"type": "object", "required": ["groupBy", "rows", "total", "outstanding", "rewards"], "properties": {
        "groupBy": {"type": "string", "enum": ["day", "store", "day-store", "none"]},
        "rows": {"type": "array", "items": {"type": "object", "required": ["key", "figures"],
                                            "properties": {"key": {"type": "string"}, "figures": FIGURES}}},
        "total": FIGURES, "outstanding": FIGURES, "rewards": {"type": "array", "items": {"type": "object"}}}},
    "ProjectionStatus": {"type": "object", "required": ["name", "codeVersion", "checkpoint", "head", "lagEvents", "lagMilliseconds", "state"],
                         "properties": {"name": {"type": "string"}, "codeVersion": {"type": "integer"},
                                        "storedVersion": {"type": ["integer", "null"]}, "generation": {"type": ["integer", "null"]},
                                        "checkpoint": {"type": "integer"}, "head": {"type": "integer"}, "lagEvents": {"type": "integer"},
                                        "lagMilliseconds": {"type": "integer"}, "buildCheckpoint": {"type": ["integer", "null"]},
                                        "state": {"type": "string"}, "stoppedBefore": {"type": ["object", "null"]}}},
    "Reconciliation": {"type": "object", "required": ["matched", "headPosition", "evaluatedAt"], "description": "schemas/audit.md, reconcile.",
                       "properties": {"matched": {"type": "boolean"}, "headPosition": {"type": "integer"}, "evaluatedAt": {"type": "string"}}},
    "Stats": {"type": "object", "required": ["format", "headPosition", "headHash", "eventCount", "memberCount"], "properties": {
        "format": {"type": "string"}, "headPosition": {"type": "integer"}, "headHash": {"type": "string"}, "eventCount": {"type": "integer"},
        "memberCount": {"type": "integer"}, "indexedThrough": {"type": "integer"}, "logFileBytes": {"type": "integer"},
        "indexFileBytes": {"type": "integer"}, "fileBytes": {"type": "integer"}, "mapSizeBytes": {"type": "integer"},
        "mapUsedBytes": {"type": "integer"}, "bytesPerEvent": {"type": ["integer", "null"]}}},
    "ImportLine": {"type": "object", "required": ["kind"], "description": "One line of an import's answer.", "properties": {
        "kind": {"type": "string", "enum": ["refused", "progress", "done", "error"]},
        "line": {"type": "integer", "description": "refused: the input line."}, "reason": {"type": "string"},
        "linesRead": {"type": "integer"}, "written": {"type": "integer"}, "replayed": {"type": "integer"}, "refused": {"type": "integer"},
        "problem": ref("Problem")}},
    "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    "Card": {"type": "object", "required": ["number", "member", "status"], "properties": {
        "number": {"type": "string", "description": "The card number, in Unicode NFC."}, "member": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "blocked", "replaced"]},
        "replacedBy": {"type": "string"}, "replaces": {"type": "string"}}},
}

TEXT = lambda description: {"type": "string", "description": description}
LISTING = lambda line_schema: {
    "application/x-ndjson": {"schema": TEXT(f"JSON Lines: one {line_schema} a line (the default).")},
    "text/csv": {"schema": TEXT("CSV with a header line.")},
}

PATHS = {
    "/v1/members": {
        "post": command_route("Enroll a member.", "EnrollBody"),
        "get": {"summary": "Every member's view, streamed (segments: stage, store, tier).",
                "parameters": [param("stage", "query", {"type": "string", "enum": ["lead", "new", "active", "defecting", "inactive"]}, "Only members in this lifecycle stage."),
                               param("store", "query", {"type": "string"}, "Only members enrolled at this store."),
                               param("tier", "query", {"type": "string"}, "Only members in this tier (one the rules name).")],
                "responses": {"200": {"description": "The member views, by `Accept`.", "content": LISTING("MemberView")},
                              **problems(400, *SECURED, 406, 422)}},
    },
    "/v1/purchases": {"post": command_route("Record a purchase (points accrue by the rules in force at its time).", "PurchaseBody")},
    "/v1/returns": {"post": command_route("Record a (partial) return; its points are clawed back.", "ReturnBody")},
    "/v1/redemptions": {"post": command_route("Redeem points.", "RedeemBody")},
    "/v1/redemptions/{id}/reversal": {"post": command_route("Reverse a redemption.", "ReverseRedemptionBody",
                                                            extra_params=[PATH_ID("The redemption (the body's redemptionId, when given, must be the same).")])},
    "/v1/adjustments": {"post": command_route("Adjust a member's points (an operator's signed correction).", "AdjustBody")},
    "/v1/transfers": {"post": command_route("Transfer points between members.", "TransferBody")},
    "/v1/holds": {"post": command_route("Hold points until a time.", "HoldBody")},
    "/v1/holds/{id}": {"delete": command_route("Release a hold.", "ReleaseBody", body_optional=True,
                                               extra_params=[PATH_ID("The hold (the body's holdId, when given, must be the same).")])},
    "/v1/rewards/{id}": {"put": command_route("Define or update a reward.", "DefineRewardBody",
                                              extra_params=[PATH_ID("The reward (the body's rewardId, when given, must be the same).")])},
    "/v1/cards": {"post": command_route("Issue a membership card to a member (numbers are unique in the program).", "IssueCardBody")},
    "/v1/cards/{number}": {"get": {"summary": "A card: its member and status.",
                                   "parameters": [param("number", "path", {"type": "string"}, "The card number (percent-encoded UTF-8).")],
                                   "responses": {"200": {"description": "The card.", "content": json_content(ref("Card"))},
                                                 **problems(400, *SECURED, 404, 422)}}},
    "/v1/cards/{number}/block": {"post": command_route("Block a card: it is refused from then on.", "BlockCardBody", body_optional=True,
                                                       extra_params=[param("number", "path", {"type": "string"}, "The card (the body's number, when given, must be the same).")])},
    "/v1/cards/{number}/replacement": {"post": command_route("Replace a card by a new number: same member, the old card refused.", "ReplaceCardBody",
                                                             extra_params=[param("number", "path", {"type": "string"}, "The card replaced (the body's card, when given, must be the same).")])},
    "/v1/members/{id}/tier": {"post": command_route("Set the member's tier (an operator's decision, audited; with floor, evaluation never goes below it until `until`).",
                                                    "SetTierBody", extra_params=[{**MEMBER_ID, "description": "The member (the body's member, when given, must be the same)."}])},
    "/v1/program/rules": {"post": {**command_route("Publish a rule set (as `loyalty program publish`).", "ProgramRules",
                                                   extra_params=[param("at", "query", TIME, "When the rules take effect (default: now).")])}},
    "/v1/imports": {"post": {
        "summary": "Import a members or purchases CSV, or JSON Lines of commands (as `loyalty import`); the outcome is streamed back.",
        "description": "Each line is idempotent by its command's own key: sending the same body again writes nothing new (the "
                       "Idempotency-Key header is not taken, 400). The answer streams while the import runs: a `refused` line per "
                       "refused input line, a `progress` line per batch, a last `done` line (or an `error` line when the body was cut "
                       "off over the size limit: the complete lines before it were imported).",
        "parameters": [param("enrollUnknown", "query", {"type": "string", "enum": ["true", "false"]}, "Enroll an unknown member at their first purchase."),
                       param("retryRefused", "query", {"type": "string", "enum": ["true", "false"]}, "Decide again the lines an earlier import refused.")],
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": TEXT("members: member_id,enrolled_at,store_id,birth_date,gender; purchases: member_id,purchase_id,occurred_at,amount,currency,store_id")},
            "application/x-ndjson": {"schema": TEXT("One command object a line (schemas/commands/).")}}},
        "responses": {"200": {"description": "The outcome, as JSON Lines (`ImportLine`).",
                              "content": {"application/x-ndjson": {"schema": TEXT("JSON Lines: one ImportLine a line.")}}},
                      **problems(400, *SECURED, 413, 415)}}},
    "/v1/members/{id}": {"get": {"summary": "A member's view: profile, tier, purchases, lifecycle stage and balance.",
                                 "parameters": [MEMBER_ID],
                                 "responses": {"200": {"description": "The member view.", "content": json_content(ref("MemberView"))},
                                               **problems(400, *SECURED, 404, 422)}}},
    "/v1/members/{id}/balance": {"get": {"summary": "A member's points now, or as of a business time and as known at a ledger time.",
                                         "parameters": [MEMBER_ID,
                                                        param("asOf", "query", TIME, "Only events that occurred by then, evaluated then."),
                                                        param("knownAt", "query", TIME, "Only events recorded by then.")],
                                         "responses": {"200": {"description": "The balance.", "content": json_content(ref("Balance"))},
                                                       **problems(400, *SECURED, 404, 422)}}},
    "/v1/members/{id}/history": {"get": {"summary": "Every event of the member in log order with the running balance (as `loyalty history`).",
                                         "parameters": [MEMBER_ID, param("from", "query", TIME, "Only rows from this business time."),
                                                        param("to", "query", TIME, "Only rows up to this business time.")],
                                         "responses": {"200": {"description": "The rows, by `Accept`.", "content": LISTING("HistoryRow")},
                                                       **problems(400, *SECURED, 404, 406, 422)}}},
    "/v1/members/{id}/explain": {"get": {"summary": "Where the member's points came from and went (as `loyalty explain`).",
                                         "parameters": [MEMBER_ID, param("at", "query", TIME, "Evaluation time (default: now).")],
                                         "responses": {"200": {"description": "The explanation.", "content": json_content(ref("Explanation"))},
                                                       **problems(400, *SECURED, 404, 422)}}},
    "/v1/figures": {"get": {"summary": "Program figures per day and store, outstanding liability, rewards (as `loyalty figures`).",
                            "parameters": [param("by", "query", {"type": "string", "enum": ["day", "store", "day-store", "none"]}, "Rows per day (default), store, day and store, or none."),
                                           param("from", "query", {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, "First local date."),
                                           param("to", "query", {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, "Last local date."),
                                           param("store", "query", {"type": "string"}, "Only this store."),
                                           param("at", "query", TIME, "Evaluate pending, expired and outstanding points at this time (default: now).")],
                            "responses": {"200": {"description": "The figures.", "content": json_content(ref("Figures"))},
                                          **problems(400, *SECURED, 422)}}},
    "/v1/reports/{name}": {"get": {"summary": "An operators' report (as `loyalty report NAME --format json`; definitions: schemas/reports.md).",
        "parameters": [param("name", "path", {"type": "string", "enum": ["kpis", "cohorts", "warnings", "segments", "categories"]}, "The report."),
                       param("period", "query", {"type": "string", "enum": ["day", "week", "month"]}, "Local days, ISO weeks or months (default month)."),
                       param("by", "query", {"type": "string", "enum": ["store", "brand"]}, "kpis: rows per store (default) or brand."),
                       param("store", "query", {"type": "string"}, "Only members enrolled at this store (purchase figures: purchases at it)."),
                       param("brand", "query", {"type": "string"}, "Only members of this brand."),
                       param("from", "query", PERIOD_Q, "First period (YYYY-MM, YYYY-Www or YYYY-MM-DD)."),
                       param("to", "query", PERIOD_Q, "Last period."),
                       param("asOf", "query", TIME, "Only events with business time up to then (default: now)."),
                       param("withinDays", "query", {"type": "integer", "minimum": 0, "maximum": 36500}, "kpis: conversion window in days (default 30)."),
                       param("in", "query", PERIOD_Q, "warnings: the period (default: the one holding asOf)."),
                       param("newDays", "query", {"type": "integer", "minimum": 0, "maximum": 3650000}, "warnings, segments: lifecycle threshold (default 90)."),
                       param("defectingDays", "query", {"type": "integer", "minimum": 0, "maximum": 3650000}, "warnings: lifecycle threshold (default 90)."),
                       param("inactiveDays", "query", {"type": "integer", "minimum": 0, "maximum": 3650000}, "warnings: lifecycle threshold (default 365).")],
        "responses": {"200": {"description": "The report.", "content": json_content({"oneOf": [ref("KPIReport"), ref("CohortReport"), ref("WarningReport"), ref("SegmentReport"), ref("CategoryReport")]})},
                      **problems(400, *SECURED, 404, 422)}}},
    "/v1/projections": {"get": {"summary": "Each projection's version, checkpoint and lag.",
                                "responses": {"200": {"description": "The projections.", "content": json_content(
                                    {"type": "object", "required": ["projections"], "properties": {"projections": {"type": "array", "items": ref("ProjectionStatus")}}})},
                                    **problems(400, *SECURED)}}},
    "/v1/reconciliation": {"get": {"summary": "The balances checked against an independent fold of the whole log (as `loyalty reconcile`).",
                                   "description": "The latest report while the log has not moved on since it ran; otherwise a new run (one at a time).",
                                   "responses": {"200": {"description": "The report (`matched` says whether everything agreed).",
                                                         "content": json_content(ref("Reconciliation"))},
                                                 **problems(400, *SECURED, 422)}}},
    "/v1/stats": {"get": {"summary": "Head, counts and sizes of the ledger (as `loyalty stats`).",
                          "responses": {"200": {"description": "The figures.", "content": json_content(ref("Stats"))}, **problems(400, *SECURED)}}},
    "/v1/events": {"get": {"summary": "Events after a position (long poll: answers as soon as one exists, or empty after `wait` seconds).",
                           "parameters": [param("after", "query", {"type": "integer", "minimum": 0}, "Events after this position (default 0)."),
                                          param("limit", "query", {"type": "integer", "minimum": 1}, "At most this many events."),
                                          param("wait", "query", {"type": "integer", "minimum": 0}, "Seconds to wait for an event (default 0: answer at once)."),
                                          param("member", "query", {"type": "string"}, "Only this member's events."),
                                          param("type", "query", {"type": "string"}, "Only events whose type starts with this.")],
                           "responses": {"200": {"description": "The events (possibly none).",
                                                 "content": {"application/x-ndjson": {"schema": TEXT("JSON Lines: one event a line, as `loyalty events`.")},
                                                             "application/json": {"schema": {"type": "object"}}}},
                                         **problems(400, *SECURED)}}},
    "/v1/events/stream": {"get": {"summary": "Events as Server-Sent Events (`id:` is the position), following the log.",
                                  "parameters": [param("after", "query", {"type": "integer", "minimum": 0}, "Start after this position."),
                                                 param("Last-Event-ID", "header", {"type": "string", "pattern": r"^\d+$"}, "Resume after this position (wins over `after`)."),
                                                 param("member", "query", {"type": "string"}, "Only this member's events."),
                                                 param("type", "query", {"type": "string"}, "Only events whose type starts with this.")],
                                  "responses": {"200": {"description": "The stream; a consumer too far behind is cut off with a last event saying where to resume.",
                                                        "content": {"text/event-stream": {"schema": TEXT("Server-Sent Events.")}}},
                                                **problems(400, *SECURED)}}},
    "/v1/records": {"get": {"summary": "Stored records after a position with their chain hashes, for read replicas (`loyalty replicate`); operator and auditor keys.",
                            "description": "The body (`application/vnd.loyalty.records`, integers big-endian, varints unsigned LEB128): `LLRP`, "
                                           "u8 version 1, ledgerId (16 bytes), createdAt (u64, microseconds), after (u64), the chain hash at `after` "
                                           "(32 bytes), head (u64), the record count (varint), then per record its length (varint), its stored bytes "
                                           "(schemas/ledger-format.md) and its chain hash (32 bytes); positions are after+1, after+2, ... Answers at "
                                           "once when records follow `after`, else after the first commit or `wait` seconds with none.",
                            "parameters": [param("after", "query", {"type": "integer", "minimum": 0}, "Records after this position (default 0); past the head is 400."),
                                           param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000}, "At most this many records (default 4096)."),
                                           param("wait", "query", {"type": "integer", "minimum": 0}, "Seconds to wait for a record (default 0: answer at once).")],
                            "responses": {"200": {"description": "A page of records (possibly none).",
                                                  "content": {"application/vnd.loyalty.records": {"schema": {"type": "string", "format": "binary"}}}},
                                          **problems(400, *SECURED)}}},
    "/health": {"get": {"summary": "Liveness.", "security": [],
                        "responses": {"200": {"description": "Alive.", "content": json_content(ref("Status"))}}}},
    "/ready": {"get": {"summary": "Readiness: 503 until the projections have caught up once.", "security": [],
                       "responses": {"200": {"description": "Ready.", "content": json_content(ref("Status"))}, **problems(503)}}},
    "/metrics": {"get": {"summary": "Prometheus metrics.",
                         "responses": {"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": TEXT("Prometheus text exposition format.")}}},
                                       **problems(*SECURED)}}},
    "/openapi.yaml": {"get": {"summary": "This document.",
                              "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/yaml": {"schema": TEXT("YAML.")}}},
                                            **problems(400, *SECURED)}}},
}

RESPONSES = {STATUS_NAMES[status]: {
    "description": " ".join(f"`/problems/{s}`: {d}" for s, st, d in PROBLEMS if st == status),
    "content": {"application/problem+json": {"schema": ref("Problem")}}} for status in sorted({st for _, st, _ in PROBLEMS})}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "LoyaltyLedger API", "version": "1",
             "description": "`loyalty serve`: the ledger as a service. Commands answer 201 with the events written; a refusal is 422 "
                            "with the domain's reason. Errors are application/problem+json (RFC 9457) with a stable `type`. Every route "
                            "but /health and /ready needs an API key (`Authorization: Bearer KEY`, made by `loyalty api-keys create`)."},
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    # Every problem type with its status, as the server's `Problem.catalogue` lists them.
    "x-problem-types": {slug: status for slug, status, _ in PROBLEMS},
    "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key."}},
                   "schemas": COMPONENT_SCHEMAS, "responses": RESPONSES},
}

def main():
    text = "# Generated by tools/gen_openapi.py from the route table there and the schemas under schemas/: do not edit.\n"
    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):  # every shared piece written out where it is used
            return True
    text += yaml.dump(DOCUMENT, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120)
    out = os.path.join(SCHEMAS, "openapi.yaml")
    if "--check" in sys.argv:
        if open(out).read() != text:
            sys.exit("schemas/openapi.yaml differs from what tools/gen_openapi.py writes: run it")
        return
    open(out, "w").write(text)

main()
