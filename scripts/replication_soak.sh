#!/usr/bin/env bash
# The replication fault suite (tests/integration/soak_replication_faults.py; not in `make test` yet,
# see its docstring): each round kill -9s a partition leader, kill -9s the active controller and
# freezes a leader past replica.lag.time.max.ms, with two idempotent acks=all producers and a
# consumer running throughout. Usage: scripts/replication_soak.sh [rounds] (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-10}"
[ -x build/samsa ] || make build
SAMSA_TEST_TIMEOUT="$((120 + 90 * rounds))" SAMSA_FAULT_ROUNDS="$rounds" SAMSA_BIN="$PWD/build/samsa" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/soak_replication_faults.py
