#!/usr/bin/env python3
"""Writes the JSON Schemas of the operators' reports (schemas/reports/<name>.schema.json), the
`--format json` of `loyalty report NAME` and the body of `GET /v1/reports/{name}`; the fields and
their definitions are in schemas/reports.md. Run after changing a report's JSON."""
import json, os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", "reports")
SHARE = {"type": ["string", "null"], "pattern": r"^\d+\.\d{4}$",
         "description": "part / whole as a decimal with four places, rounded half up (\"0.6667\"); null when the whole is 0"}
MONEY = {"type": "integer", "description": "minor units of the program currency"}
OPT_MONEY = {"type": ["integer", "null"], "description": "minor units, floor of the quotient; null when the divisor is 0"}
COUNT = {"type": "integer", "minimum": 0}
TIME = {"type": "string", "format": "date-time"}
PERIOD = {"type": "string", "pattern": r"^\d{4}-(\d{2}(-\d{2})?|W\d{2})$",
          "description": "YYYY-MM-DD (local day), YYYY-Www (ISO week) or YYYY-MM (month) in the program's time zone"}

def obj(required, props, description=None):
    o = {"type": "object", "additionalProperties": False, "required": sorted(required), "properties": props}
    if description: o["description"] = description
    return o

def report(name, title, top, row, row_required=None):
    props = {"report": {"const": name}, "asOf": TIME, **top,
             "rows": {"type": "array", "items": obj(row_required if row_required is not None else row.keys(), row)}}
    s = obj(props.keys(), props, f"`loyalty report {name} --format json` and GET /v1/reports/{name}; definitions: schemas/reports.md.")
    s = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **s}
    json.dump(s, open(os.path.join(ROOT, name + ".schema.json"), "w"), indent=2, sort_keys=True)
    open(os.path.join(ROOT, name + ".schema.json"), "a").write("\n")

kpi_row = {"period": PERIOD, "store": {"type": "string"}, "brand": {"type": "string"}, "enrollments": COUNT,
           "enrollmentTarget": {"type": ["integer", "null"], "minimum": 0}, "targetReached": SHARE, "converted": COUNT,
           "conversion": SHARE, "active": COUNT, "repeatBuyers": COUNT, "repurchaseRate": SHARE, "quickRepurchaseRate": SHARE,
           "purchases": COUNT, "spend": MONEY, "averageSpend": OPT_MONEY, "averageBasket": OPT_MONEY}
kpi = report("kpis", "KPIs by period and store or brand",
             {"period": {"enum": ["day", "week", "month"]}, "by": {"enum": ["store", "brand"]}, "conversionDays": COUNT},
             kpi_row, [k for k in kpi_row if k not in ("store", "brand")])
# A row has exactly one of store and brand (the `by` field says which).
path = os.path.join(ROOT, "kpis.schema.json")
s = json.load(open(path))
s["properties"]["rows"]["items"]["oneOf"] = [{"required": ["store"]}, {"required": ["brand"]}]
json.dump(s, open(path, "w"), indent=2, sort_keys=True); open(path, "a").write("\n")

report("cohorts", "Retention cohorts by enrollment month", {},
       {"cohort": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, "size": COUNT,
        "retained": {"type": "array", "items": COUNT, "description": "members with a purchase in month offset 1, 2, ..."},
        "retention": {"type": "array", "items": SHARE, "description": "retained / size for month offsets 1, 2, ..."}})

report("warnings", "Early warnings: active to defecting, defecting to inactive",
       {"period": PERIOD, "stagesBefore": TIME, "stagesAt": TIME},
       {"member": {"type": "string"}, "store": {"type": "string"}, "brand": {"type": "string"},
        "from": {"enum": ["active", "defecting"]}, "to": {"enum": ["defecting", "inactive"]}, "changedAt": TIME,
        "lastPurchaseAt": TIME, "spend": {"type": "integer", "description": "purchases less returns, minor units"},
        "available": {"type": "integer"}, "expiringIn30Days": COUNT})
report("categories", "Spend and points by period, purchase store and purchase-line category",
       {"period": {"enum": ["day", "week", "month"]}},
       {"period": PERIOD, "store": {"type": "string"}, "category": {"type": "string", "description": "a line's category, or (none)"},
        "purchases": COUNT, "spend": MONEY, "points": {"type": "integer"}})
COUNTS = {"type": "array", "items": obj(["value", "members"], {"value": {"type": "string"}, "members": COUNT})}
s = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Segments",
     **obj(["report", "asOf", "dimensions", "segments"], {
         "report": {"const": "segments"}, "asOf": TIME,
         "dimensions": {"type": "array", "items": obj(["dimension", "counts"], {
             "dimension": {"enum": ["store", "brand", "tier", "gender", "ageBand", "birthdayMonth", "purchaseCountBand", "spendBand", "recency", "stage"]},
             "counts": COUNTS})},
         "segments": {"type": "array", "items": obj(["name", "members"], {
             "name": {"enum": ["birthdaysNextMonth", "dormantWithPointsExpiring", "newWithoutSecondPurchase"]}, "members": COUNT})}},
         "`loyalty report segments --format json` and GET /v1/reports/segments; definitions: schemas/reports.md.")}
json.dump(s, open(os.path.join(ROOT, "segments.schema.json"), "w"), indent=2, sort_keys=True)
open(os.path.join(ROOT, "segments.schema.json"), "a").write("\n")
print("wrote 5 report schemas")
