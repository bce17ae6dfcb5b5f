#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs LMDB if missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build --build-tests
swift test --skip-build
