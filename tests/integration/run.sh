#!/usr/bin/env bash
# Runs the integration suite from the repository root: real clients against $SAMSA_BIN
# (default build/samsa). Extra arguments go to pytest (e.g. -k kcat, -m groups).
#
# Test modules run on SAMSA_TEST_WORKERS pytest-xdist workers (default 2; 1 runs them in this
# process). A module stays on one worker (--dist loadfile): its broker fixture is per module. Most
# of a test's time is spent waiting (elections, session timeouts, retries), so two workers roughly
# halve the suite's time on two cores. The 40 slowest tests are listed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/integration/js/setup.sh
WORKERS=${SAMSA_TEST_WORKERS:-2}
PARALLEL=()
if (( WORKERS > 1 )); then PARALLEL=(-n "$WORKERS" --dist loadfile); fi
exec /usr/bin/python3 -m pytest -q "${PARALLEL[@]}" --durations=40 tests/integration "$@"
