#!/usr/bin/env bash
# Installs what the build needs on a fresh Debian machine: LMDB's headers and library.
set -euo pipefail
if pkg-config --exists lmdb 2>/dev/null && [ -f /usr/include/lmdb.h ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing liblmdb-dev (LMDB) ..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq liblmdb-dev pkg-config >/dev/null
