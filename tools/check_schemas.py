#!/usr/bin/env python3
"""Validates every golden event fixture against its JSON Schema, and the sample commands and
rules under schemas/ against theirs. Exit 1 on any failure."""
import glob, json, os, sys
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

root = os.path.join(os.path.dirname(__file__), "..", "schemas")
registry = Registry()
for path in glob.glob(os.path.join(root, "**", "*.schema.json"), recursive=True):
    uri = "file://" + os.path.abspath(path)
    registry = registry.with_resource(uri, Resource.from_contents(json.load(open(path))))

def validate(schema_path, document, label):
    uri = "file://" + os.path.abspath(schema_path)
    validator = Draft202012Validator({"$ref": uri}, registry=registry)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    for e in errors:
        print(f"{label}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
    return not errors

ok, count = True, 0
for fixture in sorted(glob.glob(os.path.join(root, "events", "fixtures", "*.json"))):
    event_type = os.path.basename(fixture)[:-len(".json")]
    ok &= validate(os.path.join(root, "events", event_type + ".schema.json"), json.load(open(fixture)), fixture)
    count += 1
for sample in sorted(glob.glob(os.path.join(root, "commands", "examples", "*.jsonl"))):
    for n, line in enumerate(open(sample), 1):
        if line.strip():
            command = json.loads(line)
            ok &= validate(os.path.join(root, "commands", command["command"] + ".schema.json"), command, f"{sample}:{n}")
            count += 1
for rules in sorted(glob.glob(os.path.join(root, "examples", "*.rules.json"))):
    ok &= validate(os.path.join(root, "program-rules.schema.json"), json.load(open(rules)), rules)
    count += 1
print(f"schemas: {count} documents checked, {'all valid' if ok else 'INVALID ones above'}")
sys.exit(0 if ok else 1)
