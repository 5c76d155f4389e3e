#!/usr/bin/env bash
# Installs the pinned packages (package-lock.json) into tests/integration/js/node_modules once:
# kafkajs, @platformatic/kafka, playwright-core, and @confluentinc/kafka-javascript (KIP-848 consumer groups), whose
# bundled librdkafka is built from source by node-gyp (several minutes on 2 cores). With
# CKJS_LINKING=dynamic it links the system's OpenSSL/zlib/zstd (libssl-dev, zlib1g-dev, libzstd-dev)
# instead of downloading their sources, which a machine without internet access cannot.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/kafkajs ] || [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@platformatic/kafka ] ||
   [ ! -f node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node ]; then
  CKJS_LINKING=dynamic nice npm ci --no-audit --no-fund --loglevel=error
fi
