#!/usr/bin/env bash
# Installs every build, runtime and test dependency of Samsa with apt-get (Debian 12).
# Idempotent: packages already present are skipped, so repeated `make` targets are cheap.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config ccache clang
  libasio-dev libisal-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  librdkafka-dev
  kcat python3 python3-pytest python3-pytest-xdist python3-confluent-kafka python3-kafka python3-lz4 python3-snappy python3-cryptography
  nodejs npm
  chromium  # the web console's browser test (tests/integration/test_console.py, with playwright-core)
  golang-go golang-github-shopify-sarama-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from outside apt on some images: accept any working node + npm on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
