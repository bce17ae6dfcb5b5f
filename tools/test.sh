#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs LMDB (and Python's jsonschema for the schema
# check) if missing, builds, runs every Swift test, then validates the golden fixtures against
# the JSON Schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if ! python3 -c "import jsonschema, referencing" 2>/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null; }
  python3 -m pip install --quiet "jsonschema>=4.18" 2>/dev/null || python3 -m pip install --quiet --break-system-packages "jsonschema>=4.18"
fi
swift build --build-tests
# One test at a time: the suites' time limits measure a test's own run. Run in parallel on two
# cores beside other work, tests that block a thread on a child process (the CLI tests) starve the
# others past their limits; serially the whole run takes about as long.
swift test --skip-build --no-parallel
python3 tools/check_schemas.py
# The HTTP API against schemas/openapi.yaml: the document validates and is what its generators
# write, and schemathesis finds no 5xx and nothing undocumented on a live `loyalty serve`.
bash tools/schemathesis.sh
# The on-disk format document is checked by an independent reader written from it.
python3 -c "import lmdb" 2>/dev/null || python3 -m pip install --quiet lmdb 2>/dev/null || python3 -m pip install --quiet --break-system-packages lmdb
# ...and its checkpoint signatures (Ed25519) by Python's cryptography package.
python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet cryptography 2>/dev/null || python3 -m pip install --quiet --break-system-packages cryptography
bash tools/check-format.sh
# The parsers and stored-event decoders under libFuzzer (Fuzz/): the committed corpora, then
# LOYALTY_FUZZ_SECONDS (default 20) of fuzzing per target from a fixed seed (LOYALTY_FUZZ_SEED,
# default 1); a crash fails the suite, naming the input.
LOYALTY_FUZZ_SEED=${LOYALTY_FUZZ_SEED:-1} tools/fuzz.sh "${LOYALTY_FUZZ_SECONDS:-20}"
