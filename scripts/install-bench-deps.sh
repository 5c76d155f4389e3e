#!/usr/bin/env bash
# Installs what `make bench` needs on top of scripts/install-deps.sh (Debian 12): the machine-limit
# tools (iperf3, fio), the peers (redis-server, nats-server + libnats-dev for our C publisher) and
# valgrind for profiles. Idempotent: packages already present are skipped.
set -euo pipefail

PKGS=(iperf3 fio redis-server redis-tools nats-server libnats-dev valgrind libbenchmark-dev librdkafka-dev pkg-config g++ python3)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-bench-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # iperf3 asks a debconf question about a system daemon; answer "no" so the install is silent.
  echo "iperf3 iperf3/start_daemon boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
# The Debian packages start their own system daemons; the harness runs private instances on other
# ports, so stop the system ones (if a service manager exists) to keep the 2 cores for the bench.
for svc in redis-server nats-server iperf3; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" 2>/dev/null || true
  fi
done
