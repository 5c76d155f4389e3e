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
if ! "$BUILD_DIR/unit_tests" --gtest_brief=1; then status=1; fi
phase "fuzzing (bounded)"
if ! bash tests/fuzz/run.sh "$BUILD_DIR"; then status=1; fi
phase "integration tests"
if ! SAMSA_BIN="$(pwd)/$BUILD_DIR/samsa" bash tests/integration/run.sh; then status=1; fi
echo "== integration tests took ${SECONDS}s"
exit $status
