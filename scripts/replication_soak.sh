#!/usr/bin/env bash
# The replication fault suite (tests/integration/soak_replication_faults.py; `make test` runs one
# round of it): each round kill -9s a partition leader, kill -9s the active controller and
# freezes a leader past replica.lag.time.max.ms, with two idempotent acks=all producers and a
# consumer running throughout. Usage: scripts/replication_soak.sh [rounds] (default 10).
# ACKS=1 scripts/replication_soak.sh N runs it with acks=1 producers and reports the losses.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-10}"
[ -x build/samsa ] || make build
SAMSA_TEST_TIMEOUT="$((120 + 90 * rounds))" SAMSA_FAULT_ROUNDS="$rounds" SAMSA_FAULT_ACKS="${ACKS:-all}" SAMSA_BIN="$PWD/build/samsa" \
  /usr/bin/python3 -m pytest -q -rw -p no:cacheprovider tests/integration/soak_replication_faults.py
