#!/usr/bin/env bash
# tests/build/merge_markers_check.sh — fails when a file of the repository still holds the
# markers of an unresolved merge (a line that starts with 7 '<', 7 '>' or is exactly 7 '=').
# Checks sources, schemas, docs and scripts; build output and fetched dependencies are skipped.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
pattern='^(<{7}( |$)|>{7}( |$)|={7}$)'
hits=$(grep -rInE "$pattern" --exclude-dir=build --exclude-dir=node_modules --exclude-dir=.git \
  --exclude-dir=data . || true)
if [[ -n "$hits" ]]; then
  echo "merge markers left in:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "merge markers: none"
