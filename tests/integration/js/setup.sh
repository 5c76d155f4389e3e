#!/usr/bin/env bash
# Installs the pinned kafkajs and playwright-core (package-lock.json) into tests/integration/js/node_modules once.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/kafkajs ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
