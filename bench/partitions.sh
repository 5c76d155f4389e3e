#!/bin/bash
# bench/partitions.sh SAMSA_BIN [PARTITIONS] — the focused measurement of partition costs
# (bench/README.md): creates one topic of PARTITIONS partitions (default 1,000) on a fresh
# broker and prints the CreateTopics wall clock, the VmRSS growth per partition, the clean
# shutdown time and the restart time (to the port, and to the first produce ack).
# Needs rdkafka_perf built as bench/run.sh builds it (RDKAFKA_PERF=path, default
# $TMPDIR/rdkafka_perf, compiled here if missing). KEEP=1 keeps the data dir.
set -u
BIN=$1; N=${2:-1000}
TMP=${TMPDIR:-/tmp}
PERF=${RDKAFKA_PERF:-$TMP/rdkafka_perf}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[[ -x $PERF ]] || g++ -O2 -std=c++20 -o "$PERF" "$ROOT/bench/rdkafka_perf.cc" $(pkg-config --cflags --libs rdkafka) || exit 1
D=$(mktemp -d "$TMP/samsa-partitions.XXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rss() { awk '$1=="VmRSS:"{print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
since() { python3 -c "print('%.2f' % ($(now) - $1))"; }
waitp() { for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
start() { "$BIN" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$PORT --override "log.dirs=$D/data" >> "$D/samsa.log" 2>&1 & P=$!; }
start; waitp || { echo "broker did not start"; exit 1; }; sleep 0.5
r0=$(rss $P); t0=$(now)
"$PERF" create --brokers 127.0.0.1:$PORT --topic tp --partitions "$N" >/dev/null
echo "create_s=$(since "$t0")"; sleep 1; r1=$(rss $P)
echo "kib_per_partition=$(python3 -c "print('%.1f' % (($r1 - $r0) / $N))") rss_before_kb=$r0 rss_after_kb=$r1"
t0=$(now); kill -TERM $P; wait $P; echo "shutdown_s=$(since "$t0")"
t0=$(now); start
waitp; echo "restart_to_port_s=$(since "$t0")"
timeout 60 "$PERF" produce --brokers 127.0.0.1:$PORT --topic tp --count 1 --size 10 --acks 1 --seconds 30 >/dev/null 2>&1
echo "restart_to_first_ack_s=$(since "$t0")"; sleep 1; echo "rss_after_restart_kb=$(rss $P)"
kill -TERM $P; wait $P
[[ -n ${KEEP:-} ]] && echo "data: $D" || rm -rf "$D"
