#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — `make bench`: machine limits, Samsa end to end, peers (Redis Streams,
# NATS JetStream) and micro benchmarks in one run on this machine; writes
# bench/results/<date>-<host>.md (see bench/README.md). Every phase has a bounded duration and every
# server started here is stopped by the EXIT trap, even when a phase fails.
#
# Knobs (environment): BENCH_SCALE (default 1; 0.2 for a quick smoke run), BENCH_PROFILE=0 to skip
# the callgrind profile, BENCH_TMP (parent of the scratch dir; default /tmp, must be the data disk),
# BENCH_ONLY=replication to run only bench/replication.sh (three brokers, RF=3; issue 13),
# BENCH_ONLY=tls to run only bench/tls.sh (consume over TLS against plaintext; issue 15).
set -uo pipefail

BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd) || { echo "bench: no build dir $1" >&2; exit 1; }
SAMSA="$BUILD_DIR/samsa"
[[ -x "$SAMSA" ]] || { echo "bench: $SAMSA not built (run make build)" >&2; exit 1; }
SCALE=${BENCH_SCALE:-1}
PROFILE=${BENCH_PROFILE:-1}
[[ "${BENCH_ONLY:-}" == replication ]] && exec bash "$ROOT/bench/replication.sh" "$BUILD_DIR"
[[ "${BENCH_ONLY:-}" == tls ]] && exec bash "$ROOT/bench/tls.sh" "$SAMSA"

bash "$ROOT/scripts/install-bench-deps.sh" || { echo "bench: dependency install failed" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/samsa-bench-XXXXXX")
BIN="$WORK/bin"; mkdir -p "$BIN"
RES="$WORK/results.env"; : > "$RES"
PIDS=()
CLEAN_DIR=$WORK
source "$ROOT/bench/lib.sh"
bench_traps
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)

put_machine

# ---------------------------------------------------------------- build the bench tools
log "building bench tools"
CXX=${CXX:-g++}
$CXX -O2 -std=c++20 -o "$BIN/rdkafka_perf" bench/rdkafka_perf.cc $(pkg-config --cflags --libs rdkafka) || exit 1
$CXX -O2 -std=c++20 -pthread -o "$BIN/sendfile_bench" bench/sendfile_bench.cc || exit 1
gcc -O2 -o "$BIN/nats_js_pub" bench/nats_js_pub.c -lnats || exit 1
MICRO_OK=1
$CXX -O2 -std=gnu++20 -DASIO_NO_DEPRECATED -DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB \
  -I"$ROOT/src" -I"$BUILD_DIR/gen" -o "$BIN/micro_bench" bench/micro/*.cc \
  "$BUILD_DIR/libsamsa_storage.a" "$BUILD_DIR/libsamsa_protocol.a" "$BUILD_DIR/libsamsa_base.a" \
  $(pkg-config --libs benchmark libisal liblz4 libzstd snappy zlib fmt spdlog) -lpthread || MICRO_OK=0

# ---------------------------------------------------------------- (a) machine limits
log "machine: iperf3 loopback"
measure_loopback

log "machine: fio sequential write (buffered, fdatasync per MiB) and fdatasync latency"
FIODIR="$WORK/fio"; mkdir -p "$FIODIR"
fio_json() { timeout 60 fio --output-format=json --directory="$FIODIR" --ioengine=psync --rw=write "$@" 2>/dev/null; }
fio_json --name=buffered --bs=1M --size=2G --runtime=8 --time_based=0 --end_fsync=0 > "$WORK/fio1.json"
rm -f "$FIODIR"/*
fio_json --name=datasync --bs=1M --size=2G --runtime=8 --fdatasync=1 > "$WORK/fio2.json"
rm -f "$FIODIR"/*
fio_json --name=latency --bs=4k --size=64M --runtime=5 --fdatasync=1 > "$WORK/fio3.json"
rm -f "$FIODIR"/*
python3 - "$WORK" >> "$RES" <<'PY'
import json, sys
w = sys.argv[1]
def job(n):
    try: return json.load(open(f"{w}/fio{n}.json"))["jobs"][0]
    except Exception: return None
for n, key in ((1, "disk_write_mbps"), (2, "disk_write_fdatasync_mbps")):
    j = job(n)
    print(f"{key}=" + ("%.1f" % (j["write"]["bw_bytes"] / 1e6) if j else "NA"))
j = job(3)
if j:
    lat = j.get("sync", {}).get("lat_ns", {})
    pct = lat.get("percentile", {})
    p50 = next((v for k, v in pct.items() if k.startswith("50.")), lat.get("mean", 0))
    p99 = next((v for k, v in pct.items() if k.startswith("99.0")), lat.get("max", 0))
    print("fdatasync_p50_ms=%.3f" % (p50 / 1e6)); print("fdatasync_p99_ms=%.3f" % (p99 / 1e6))
else:
    print("fdatasync_p50_ms=NA"); print("fdatasync_p99_ms=NA")
PY

log "machine: sendfile of a cached file over loopback"
L=$(timeout 60 "$BIN/sendfile_bench" "$WORK" 256 5)
put sendfile_mbps "$(field sendfile_mbps "$L")"

# ---------------------------------------------------------------- (b) Samsa end to end
PERF="$BIN/rdkafka_perf"
USE_SAMSA_TOOLS=0
if "$SAMSA" producer-perf-test --help >/dev/null 2>&1 && "$SAMSA" consumer-perf-test --help >/dev/null 2>&1; then
  USE_SAMSA_TOOLS=1  # TODO(bench): switch the scenarios below to the project's tools once their flags settle
fi
put client "librdkafka $(pkg-config --modversion rdkafka) (bench/rdkafka_perf.cc)"

SP=$(free_port)
BROKER="127.0.0.1:$SP"
DATA="$WORK/samsa-data"
start_broker() {
  "$SAMSA" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$SP --override "log.dirs=$DATA" >> "$WORK/samsa.log" 2>&1 &
  SPID=$!; PIDS+=($SPID)
}
start_broker
wait_port "$SP" 20 || { log "samsa did not start; its log:"; tail -20 "$WORK/samsa.log" >&2; exit 1; }
# A broker that died mid-run would turn every later figure into a timeout: check before each phase,
# restart it on the same data and say so in the report (the figures after a crash are suspect).
CRASHES=0
alive() {
  kill -0 "$SPID" 2>/dev/null && return 0
  CRASHES=$((CRASHES + 1))
  log "samsa died (crash $CRASHES); last log lines:"; tail -5 "$WORK/samsa.log" >&2
  put samsa_crashes "$CRASHES"
  put samsa_crash_log "$(grep -v '^\[' "$WORK/samsa.log" | tail -1 | tr -d '|')"
  start_broker
  wait_port "$SP" 20 || { log "samsa does not restart"; }
}
put samsa_idle_rss_kb "$(status_kb "$SPID" VmRSS)"

# create TOPIC PARTITIONS [TIMEOUT_S]: sets CREATE_S (seconds taken) and returns the tool's status.
create() {
  local t0 rc; t0=$(date +%s.%N)
  timeout "${3:-60}" "$PERF" create --brokers "$BROKER" --topic "$1" --partitions "$2" >/dev/null 2>>"$WORK/client.log"
  rc=$?
  CREATE_S=$(python3 -c "import time; print('%.2f' % (time.time() - $t0))")
  [[ $rc == 0 ]] || log "create $1 ($2 partitions) failed after ${CREATE_S}s"
  return $rc
}
# produce TOPIC COUNT SIZE ACKS [RATE] -> the tool's output line; broker CPU seconds go to $WORK/cpu_s
# (COMPRESSION=codec in the environment: the producer compresses its batches)
produce() {
  local before after line
  before=$(cpu_ticks "$SPID")
  line=$(timeout 90 "$PERF" produce --brokers "$BROKER" --topic "$1" --count "$2" --size "$3" --acks "$4" \
         --rate "${5:-0}" --seconds 60 --compression "${COMPRESSION:-none}" 2>>"$WORK/client.log")
  after=$(cpu_ticks "$SPID")
  # Runs in a $(...) subshell: hand the broker CPU seconds back through a file.
  python3 -c "print(($after - $before) / $TICK)" > "$WORK/cpu_s"
  echo "$line"
}

log "samsa: produce 1 KiB acks=1 (8 partitions)"
create t1k 8
L=$(produce t1k "$(n 1000000)" 1024 1); echo "  $L" >&2; record samsa_1k_acks1 "$L"
put samsa_cpu_s_per_gb_in "$(python3 -c "r=float('$(field records "$L")' or 0); print('%.2f' % ($(cat "$WORK/cpu_s") / (r*1024/1e9)) if r else 'NA')")"

alive; log "samsa: consume from page cache"
before=$(cpu_ticks "$SPID")
L=$(timeout 90 "$PERF" consume --brokers "$BROKER" --topic t1k --count "$(field records "$L")" --seconds 60 2>>"$WORK/client.log")
after=$(cpu_ticks "$SPID"); echo "  $L" >&2; record samsa_consume "$L"
put samsa_cpu_s_per_gb_out "$(python3 -c "r=float('$(field records "$L")' or 0); print('%.2f' % ((($after-$before)/$TICK) / (r*1024/1e9)) if r else 'NA')")"

alive; log "samsa: consume the same records without sendfile (pread + write, SAMSA_BENCH_NO_SENDFILE)"
stop_pid "$SPID"
SAMSA_BENCH_NO_SENDFILE=1 start_broker
if wait_port "$SP" 30; then
  L=$(timeout 90 "$PERF" consume --brokers "$BROKER" --topic t1k --count "$(field records "$L")" --seconds 60 2>>"$WORK/client.log")
  echo "  $L" >&2; record samsa_consume_copy "$L"
fi
stop_pid "$SPID"
start_broker
wait_port "$SP" 30 || log "samsa did not restart after the copy run"

alive; log "samsa: produce 1 KiB acks=-1 (fdatasync, group commit)"
create t1k-durable 8
L=$(produce t1k-durable "$(n 600000)" 1024 -1); echo "  $L" >&2; record samsa_1k_acksall "$L"

alive; log "samsa: produce 100 B acks=1"
create t100 8
L=$(produce t100 "$(n 3000000)" 100 1); echo "  $L" >&2; record samsa_100b_acks1 "$L"

# Compressed batches: the broker decompresses and walks every record before appending (on its
# worker pool); these rows keep that cost visible next to the uncompressed 1 KiB figure.
for codec in lz4 zstd; do
  alive; log "samsa: produce 1 KiB acks=1, $codec batches (validated on the worker pool)"
  create "t1k-$codec" 8
  L=$(COMPRESSION=$codec produce "t1k-$codec" "$(n 1000000)" 1024 1); echo "  $L" >&2; record "samsa_1k_$codec" "$L"
  put "samsa_1k_${codec}_cpu_s" "$(cat "$WORK/cpu_s")"
done

alive; log "samsa: produce latency at 50% of peak (1 KiB, acks=1)"
PEAK=$(grep '^samsa_1k_acks1_rps=' "$RES" | cut -d= -f2)
RATE=$(python3 -c "print(int(float('${PEAK:-0}' or 0) / 2))")
if [[ "$RATE" -gt 0 ]]; then
  create t-latency 8
  L=$(produce t-latency "$(python3 -c "print(max(1000, int($RATE * 5 * $SCALE)))")" 1024 1 "$RATE"); echo "  $L" >&2
  record samsa_latency "$L"; put samsa_latency_rate "$RATE"
fi

alive; log "samsa: 1,000 partitions"
rss0=$(status_kb "$SPID" VmRSS)
create t1000 1000 200; put samsa_create_1000_s "$CREATE_S"
sleep 1
rss1=$(status_kb "$SPID" VmRSS)
put samsa_kib_per_partition "$(python3 -c "print('%.1f' % (($rss1 - $rss0) / 1000))")"
L=$(produce t1000 "$(n 1000000)" 1024 1); echo "  $L" >&2; record samsa_1k_p1000 "$L"
put samsa_peak_rss_kb "$(status_kb "$SPID" VmHWM)"

# 10,000 partitions: only when creating 1,000 was quick enough that 9,000 more fit the time budget.
if python3 -c "import sys; sys.exit(0 if float('$CREATE_S') <= 12 else 1)"; then
  log "samsa: start-up with 10,000 partitions after a clean shutdown"
  create t10k 9000 240   # + the 1,000 + 32 above: just over 10,000 partitions
  put samsa_partitions_total "$(( 9000 + 1000 + 8 * 4 ))"
  stop_pid "$SPID"
  t0=$(date +%s.%N)
  "$SAMSA" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$SP --override "log.dirs=$DATA" >> "$WORK/samsa.log" 2>&1 &
  SPID=$!; PIDS+=($SPID)
  if wait_port "$SP" 60 && timeout 60 "$PERF" produce --brokers "$BROKER" --topic t10k --count 1 --size 10 --acks 1 --seconds 30 >/dev/null 2>&1; then
    put samsa_startup_10k_s "$(python3 -c "import time; print('%.2f' % (time.time() - $t0))")"
  else
    put samsa_startup_10k_s NA
  fi
  put samsa_idle_rss_10k_kb "$(status_kb "$SPID" VmRSS)"
else
  log "samsa: 10,000-partition start-up skipped (creating 1,000 partitions took ${CREATE_S}s); timing the restart with 1,032"
  put samsa_startup_10k_skipped "creating 1,000 partitions took ${CREATE_S} s, so 10,000 would not fit the run's time budget"
  stop_pid "$SPID"
  t0=$(date +%s.%N)
  "$SAMSA" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$SP --override "log.dirs=$DATA" >> "$WORK/samsa.log" 2>&1 &
  SPID=$!; PIDS+=($SPID)
  if wait_port "$SP" 60 && timeout 60 "$PERF" produce --brokers "$BROKER" --topic t1000 --count 1 --size 10 --acks 1 --seconds 30 >/dev/null 2>&1; then
    put samsa_startup_1032_s "$(python3 -c "import time; print('%.2f' % (time.time() - $t0))")"
  fi
  put samsa_idle_rss_1032_kb "$(status_kb "$SPID" VmRSS)"
fi
stop_pid "$SPID"
log "samsa: fetch sessions, 1,000 partitions (bench/fetch_sessions.sh)"; timeout 150 bash "$ROOT/bench/fetch_sessions.sh" "$SAMSA" 1000 "$(n 300)" 2>>"$WORK/client.log" >&2
log "samsa: consume over TLS against plaintext, one broker (bench/tls.sh)"
timeout 300 bash "$ROOT/bench/tls.sh" "$SAMSA" "$RES" "$WORK" >&2 || log "tls phases failed (status $?)"

# ---------------------------------------------------------------- storage: recovery of an unflushed tail
# 1 GiB (× BENCH_SCALE) of acks=1 records in one partition, never fdatasync'ed (the recovery point
# stays at 0), then kill -9: the restart validates every batch of the tail (sizes, CRC32C) and
# rebuilds its indexes. Timed from the start to the first produce ack on that partition, with the
# tail in the page cache (a process crash, not a power cut).
log "samsa: recovery of an unflushed tail after kill -9"
RP=$(free_port); RDATA="$WORK/samsa-recovery"
rec_start() {
  "$SAMSA" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$RP --override "log.dirs=$RDATA" \
    --override log.flush.offset.checkpoint.interval.ms=3600000 >> "$WORK/samsa.log" 2>&1 &
  RPID=$!; PIDS+=($RPID)
}
rec_start
if wait_port "$RP" 20 && timeout 60 "$PERF" create --brokers "127.0.0.1:$RP" --topic trec --partitions 1 >/dev/null 2>>"$WORK/client.log"; then
  timeout 120 "$PERF" produce --brokers "127.0.0.1:$RP" --topic trec --count "$(n 1048576)" --size 1024 --acks 1 \
    --seconds 90 >/dev/null 2>>"$WORK/client.log"
  kill -KILL "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null
  put samsa_recovery_bytes "$(du -sb "$RDATA/trec-0" | cut -f1)"
  t0=$(date +%s.%N)
  rec_start
  if wait_port "$RP" 60 && timeout 120 "$PERF" produce --brokers "127.0.0.1:$RP" --topic trec --count 1 --size 10 --acks 1 --seconds 100 >/dev/null 2>&1; then
    put samsa_recovery_s "$(python3 -c "import time; print('%.2f' % (time.time() - $t0))")"
  fi
  grep -a "recovered\|truncat" "$WORK/samsa.log" | tail -2 >&2
fi
stop_pid "$RPID"

# ---------------------------------------------------------------- profile (callgrind)
if [[ "$PROFILE" == 1 ]] && command -v valgrind >/dev/null; then
  log "profile: callgrind on the broker during a short 1 KiB acks=1 produce run"
  rm -rf "$DATA"
  (cd "$WORK" && exec valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
     "$SAMSA" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$SP --override "log.dirs=$DATA" >> "$WORK/callgrind.log" 2>&1) &
  VPID=$!; PIDS+=($VPID)
  if wait_port "$SP" 60; then
    create tprof 8 120
    # Start-up and topic creation stay in the profile (zeroing the counters with callgrind_control
    # loses the attribution to functions); they are ~10% of the total at 100,000 records.
    timeout 120 "$PERF" produce --brokers "$BROKER" --topic tprof --count "$(n 200000)" --size 1024 --acks 1 --seconds 90 >/dev/null 2>&1
  fi
  stop_pid "$VPID"
  if [[ -s "$WORK/callgrind.out" ]]; then
    callgrind_annotate --inclusive=no "$WORK/callgrind.out" 2>/dev/null | sed -n '/^-\+$/,$p' | grep -E '^ *[0-9,]+ ' | head -25 > "$WORK/callgrind.top"
  fi
fi

# ---------------------------------------------------------------- (c) peers
log "redis streams: in memory"
RP=$(free_port); mkdir -p "$WORK/redis-mem" "$WORK/redis-aof"
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis-mem" --daemonize no >"$WORK/redis.log" 2>&1 &
RPID=$!; PIDS+=($RPID); wait_port "$RP" 10
L=$(timeout 90 python3 bench/redis_xadd.py "$RP" "$(n 600000)" 1024 1000 40); echo "  $L" >&2; record redis_mem "$L"
stop_pid "$RPID"
log "redis streams: appendonly everysec"
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec --dir "$WORK/redis-aof" --daemonize no >>"$WORK/redis.log" 2>&1 &
RPID=$!; PIDS+=($RPID); wait_port "$RP" 10
L=$(timeout 90 python3 bench/redis_xadd.py "$RP" "$(n 600000)" 1024 1000 40); echo "  $L" >&2; record redis_aof "$L"
stop_pid "$RPID"

log "nats jetstream: file storage"
NP=$(free_port)
nats-server -js -sd "$WORK/nats" -a 127.0.0.1 -p "$NP" >"$WORK/nats.log" 2>&1 &
NPID=$!; PIDS+=($NPID); wait_port "$NP" 10
L=$(timeout 90 "$BIN/nats_js_pub" "nats://127.0.0.1:$NP" "$(n 400000)" 1024 4096 40); echo "  $L" >&2; record nats_js "$L"
stop_pid "$NPID"

log "replication: three brokers with RF=3, JetStream R3, follower catch-up (bench/replication.sh)"
timeout 1200 bash bench/replication.sh "$BUILD_DIR" "$RES" "$WORK" || log "replication phases failed (status $?)"

# ---------------------------------------------------------------- (d) micro benchmarks
if [[ "$MICRO_OK" == 1 ]]; then
  log "micro benchmarks"
  SAMSA_BENCH_TMP="$WORK" timeout 120 "$BIN/micro_bench" --benchmark_min_time=0.3 \
    --benchmark_out="$WORK/micro.json" --benchmark_out_format=json >/dev/null 2>>"$WORK/micro.log"
fi

# ---------------------------------------------------------------- report
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/$(date -u +%Y-%m-%d)-$(hostname).md"
python3 bench/report.py "$RES" "$WORK/micro.json" "$WORK/callgrind.top" > "$OUT" || { log "report failed"; exit 1; }
log "wrote $OUT"
cat "$OUT"
