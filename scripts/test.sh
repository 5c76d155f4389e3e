#!/usr/bin/env bash
# Runs every test: GoogleTest units, then the integration suite (real clients
# against a real broker). Prints one closing summary line.
set -uo pipefail
BUILD_DIR=${1:-build}
cd "$(dirname "$0")/.."
status=0
# Each phase prints how long the one before it took, so a CI log shows where its time went.
phase() { echo "== $1 (previous phase: ${SECONDS}s)"; SECONDS=0; }
phase "unit tests"
# The full gtest output goes to a file: after a crash its tail names the test that was running.
if ! "$BUILD_DIR/unit_tests" > "$BUILD_DIR/unit_tests.log" 2>&1; then
  status=1
  echo "unit tests FAILED; the end of $BUILD_DIR/unit_tests.log:"
  grep -E "^\[  FAILED  \]" "$BUILD_DIR/unit_tests.log" | head -20
  tail -40 "$BUILD_DIR/unit_tests.log"
fi
grep -E "^\[==========\]|^\[  PASSED  \]" "$BUILD_DIR/unit_tests.log" | tail -2
phase "fuzzing (bounded)"
if ! bash tests/fuzz/run.sh "$BUILD_DIR"; then status=1; fi
phase "integration tests"
if ! SAMSA_BIN="$(pwd)/$BUILD_DIR/samsa" bash tests/integration/run.sh; then status=1; fi
echo "== integration tests took ${SECONDS}s"
exit $status
