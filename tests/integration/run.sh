#!/usr/bin/env bash
# Runs the integration suite from the repository root: real clients against $SAMSA_BIN
# (default build/samsa). Extra arguments go to pytest (e.g. -k kcat, -m groups).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/integration/js/setup.sh
exec /usr/bin/python3 -m pytest -q tests/integration "$@"
