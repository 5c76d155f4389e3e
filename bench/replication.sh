#!/usr/bin/env bash
# bench/replication.sh BUILD_DIR [RESULTS_ENV WORK_DIR] — the replication phases of `make bench`
# (issue 13), in one run:
#   1. three Samsa brokers (combined broker+controller processes, KRaft quorum of three, loopback,
#      distinct ports): produce 1 KiB acks=all to a topic of 8 partitions with RF=3 and
#      min.insync.replicas=2 — MB/s, then p50/p99 latency at 50% of that peak;
#   2. follower catch-up on the same cluster: a follower of a 1-partition RF=3 topic is SIGSTOPped,
#      leaves the ISR (replica.lag.time.max.ms, lowered to 10 s here), 1 GiB (× BENCH_SCALE) is
#      written with acks=all (min.insync.replicas=2), then SIGCONT: time until Metadata shows it in
#      the ISR again;
#   3. one Samsa broker, same produce (8 partitions, acks=all) and the same latency rate;
#   4. NATS JetStream on a three-node nats-server cluster (loopback), stream with Replicas=3 and file
#      storage: async publish MB/s, and latency at the same rate (or 50% of its own peak if lower).
# Called by bench/run.sh with its results file and scratch dir (it adds repl_* keys); run alone
# (`bash bench/replication.sh build` or `BENCH_ONLY=replication make bench`) it measures loopback and
# disk itself and writes bench/results/<date>-<host>-replication.md. Every phase runs under
# `timeout`; every server started here is stopped by the EXIT trap.
set -uo pipefail

BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd) || { echo "replication bench: no build dir $1" >&2; exit 1; }
SAMSA="$BUILD_DIR/samsa"
[[ -x "$SAMSA" ]] || { echo "replication bench: $SAMSA not built (run make build)" >&2; exit 1; }
SCALE=${BENCH_SCALE:-1}
PY=/usr/bin/python3  # Debian's confluent-kafka lives there

STANDALONE=0
if [[ $# -ge 3 ]]; then
  RES=$2; WORK=$3
else
  STANDALONE=1
  bash "$ROOT/scripts/install-bench-deps.sh" || { echo "replication bench: dependency install failed" >&2; exit 1; }
  WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/samsa-bench-repl-XXXXXX")
  RES="$WORK/results.env"; : > "$RES"
fi
RW="$WORK/repl"; mkdir -p "$RW"
BIN="$WORK/bin"; mkdir -p "$BIN"

PIDS=()
if [[ $STANDALONE == 1 ]]; then CLEAN_DIR=$WORK; else CLEAN_DIR=$RW; fi
source "$ROOT/bench/lib.sh"
bench_traps

[[ -x "$BIN/rdkafka_perf" ]] || g++ -O2 -std=c++20 -o "$BIN/rdkafka_perf" bench/rdkafka_perf.cc $(pkg-config --cflags --libs rdkafka) || exit 1
gcc -O2 -o "$BIN/nats_js_pub_r" bench/nats_js_pub.c -lnats || exit 1
PERF="$BIN/rdkafka_perf"
# produce BROKERS TOPIC COUNT ACKS [RATE] -> rdkafka_perf's output line (1 KiB records)
produce() {
  timeout 100 "$PERF" produce --brokers "$1" --topic "$2" --count "$3" --size 1024 --acks "$4" \
    --rate "${5:-0}" --seconds 60 2>>"$RW/client.log"
}

if [[ $STANDALONE == 1 ]]; then
  put_machine
  put client "librdkafka $(pkg-config --modversion rdkafka) (bench/rdkafka_perf.cc)"
  log "machine: iperf3 loopback, fio buffered write (the limits the catch-up is compared with)"
  measure_loopback
  mkdir -p "$RW/fio"
  timeout 60 fio --output-format=json --directory="$RW/fio" --ioengine=psync --rw=write --name=buffered --bs=1M \
    --size=2G --runtime=8 --end_fsync=0 > "$RW/fio.json" 2>/dev/null
  rm -rf "$RW/fio"
  put disk_write_mbps "$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["jobs"][0]["write"]["bw_bytes"]/1e6))' "$RW/fio.json" 2>/dev/null || echo NA)"
fi
put repl_load_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- 1. three Samsa brokers
log "replication: starting three Samsa brokers (KRaft quorum of three, loopback)"
read -r -a CP <<<"$(free_ports 6)"
CLUSTER_ID="bEnChRePlIcAtIoN3nOdEs"  # 22 characters of base64url, as `samsa storage format` writes
VOTERS="1@127.0.0.1:${CP[1]},2@127.0.0.1:${CP[3]},3@127.0.0.1:${CP[5]}"
LAG_MS=10000  # replica.lag.time.max.ms: 30 s by default, lowered so phase 2 sees the shrink sooner
NPID=()
start_node() {  # start_node I (1..3)
  local i=$1 d="$RW/node-$1"
  local p=${CP[$(( 2 * (i - 1) ))]} c=${CP[$(( 2 * (i - 1) + 1 ))]}
  mkdir -p "$d/data"
  [[ -f "$d/data/meta.properties" ]] || printf '#formatted by bench/replication.sh\nnode.id=%s\nversion=1\ncluster.id=%s\n' "$i" "$CLUSTER_ID" > "$d/data/meta.properties"
  "$SAMSA" start --override process.roles=broker,controller --override node.id="$i" \
    --override listeners="PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c" \
    --override advertised.listeners="PLAINTEXT://127.0.0.1:$p" --override controller.listener.names=CONTROLLER \
    --override controller.quorum.voters="$VOTERS" --override log.dirs="$d/data" --override http.listeners= \
    --override replica.lag.time.max.ms=$LAG_MS >> "$d/broker.log" 2>&1 &
  NPID[$i]=$!; PIDS+=($!)
}
for i in 1 2 3; do start_node "$i"; done
CB="127.0.0.1:${CP[0]},127.0.0.1:${CP[2]},127.0.0.1:${CP[4]}"
node_bootstrap() { echo "127.0.0.1:${CP[$(( 2 * ($1 - 1) ))]}"; }
CLUSTER_OK=1
for i in 1 2 3; do
  kill -0 "${NPID[$i]}" 2>/dev/null && wait_port "${CP[$(( 2 * (i - 1) ))]}" 30 || CLUSTER_OK=0
done
if [[ $CLUSTER_OK == 1 ]] && L=$(timeout 120 $PY bench/cluster_admin.py create "$CB" t-rf3 8 3 2 90); then
  log "  topic t-rf3 (8 partitions, RF=3, min.insync.replicas=2) ready: $L"
else
  CLUSTER_OK=0; put repl_cluster_error "the three brokers did not form a cluster with an RF=3 topic"
  log "replication: cluster did not form; logs:"; for i in 1 2 3; do tail -5 "$RW/node-$i/broker.log" >&2; done
fi

RATE=0
if [[ $CLUSTER_OK == 1 ]]; then
  log "replication: produce 1 KiB acks=all, RF=3 (8 partitions, three brokers)"
  L=$(produce "$CB" t-rf3 "$(n 600000)" -1); echo "  $L" >&2; record repl_rf3 "$L"
  # A follower dropped from the ISR during the run would make acks=all cheaper: count the full ISRs.
  put repl_rf3_full_isr "$(timeout 30 $PY - "$CB" <<'PY'
import sys
from confluent_kafka.admin import AdminClient
t = AdminClient({"bootstrap.servers": sys.argv[1]}).list_topics(topic="t-rf3", timeout=10).topics["t-rf3"]
print(f"{sum(1 for p in t.partitions.values() if len(p.isrs) == 3)}/{len(t.partitions)}")
PY
)"
  RATE=$(python3 -c "print(int(float('$(field rps "$L")' or 0) / 2))")
  put repl_latency_rate "$RATE"
  if [[ "$RATE" -gt 0 ]]; then
    log "replication: latency at $RATE rec/s (50% of the RF=3 peak), acks=all, RF=3"
    timeout 120 $PY bench/cluster_admin.py create "$CB" t-rf3-lat 8 3 2 60 >/dev/null
    L=$(produce "$CB" t-rf3-lat "$(python3 -c "print(max(1000, int($RATE * 5 * $SCALE)))")" -1 "$RATE")
    echo "  $L" >&2; record repl_rf3_lat "$L"
  fi

  # ---------------------------------------------------------------- 2. follower catch-up
  log "replication: follower catch-up (1 partition, RF=3, acks=all, min.insync.replicas=2)"
  if timeout 120 $PY bench/cluster_admin.py create "$CB" t-catchup 1 3 2 60 >/dev/null; then
    ST=$(timeout 30 $PY bench/cluster_admin.py state "$CB" t-catchup)
    LEADER=$(field leader "$ST")
    CTRL=$(timeout 30 $PY bench/cluster_admin.py controller "$CB" 2>/dev/null || echo -1)
    # The follower to stop: not the leader, and not the active controller when there is a choice
    # (stopping the controller would add a controller failover to the figure).
    F=""
    for i in 1 2 3; do
      [[ "$i" == "$LEADER" ]] && continue
      if [[ -z "$F" || "$F" == "$CTRL" ]]; then F=$i; fi
    done
    LIVE=$(for i in 1 2 3; do [[ $i != "$F" ]] && node_bootstrap "$i"; done | paste -sd,)
    log "  leader $LEADER, controller $CTRL, stopping follower $F (SIGSTOP)"
    put repl_catchup_follower "$F"; put repl_catchup_leader "$LEADER"; put repl_catchup_controller "$CTRL"
    kill -STOP "${NPID[$F]}"
    L=$(timeout 120 $PY bench/cluster_admin.py wait-isr "$LIVE" t-catchup "$F" out 90)
    put repl_catchup_shrink_s "$(field secs "$L")"
    log "  follower $F out of the ISR after $(field secs "$L") s; writing $(n 1048576) × 1 KiB"
    L=$(timeout 200 "$PERF" produce --brokers "$LIVE" --topic t-catchup --count "$(n 1048576)" --size 1024 --acks -1 \
        --seconds 150 2>>"$RW/client.log")
    echo "  $L" >&2; record repl_catchup_write "$L"
    LEADER_BYTES=$(du -sb "$RW/node-$LEADER/data/t-catchup-0" 2>/dev/null | cut -f1)
    FOLLOWER_BEFORE=$(du -sb "$RW/node-$F/data/t-catchup-0" 2>/dev/null | cut -f1)
    put repl_catchup_bytes "$(( ${LEADER_BYTES:-0} - ${FOLLOWER_BEFORE:-0} ))"
    # cluster_admin.py sends the SIGCONT itself once its Metadata connection is up, and times from it.
    L=$(timeout 300 $PY bench/cluster_admin.py wait-isr "$LIVE" t-catchup "$F" in 240 "${NPID[$F]}")
    if [[ -n "$(field secs "$L")" ]]; then
      put repl_catchup_s "$(field secs "$L")"
      log "  follower $F back in the ISR after $(field secs "$L") s"
    else
      put repl_catchup_s NA; log "  follower $F not back in the ISR within the bound"
    fi
    kill -CONT "${NPID[$F]}" 2>/dev/null
    sleep 1
    put repl_catchup_follower_bytes "$(du -sb "$RW/node-$F/data/t-catchup-0" 2>/dev/null | cut -f1)"
    put repl_catchup_leader_bytes "$(du -sb "$RW/node-$LEADER/data/t-catchup-0" 2>/dev/null | cut -f1)"
  fi
fi
for i in 1 2 3; do [[ -n "${NPID[$i]:-}" ]] && stop_pid "${NPID[$i]}"; done
rm -rf "$RW"/node-*/data

# ---------------------------------------------------------------- 3. one Samsa broker, same produce
log "replication: one broker, produce 1 KiB acks=all (8 partitions)"
read -r SP <<<"$(free_ports 1)"
"$SAMSA" start --override http.listeners= --override listeners=PLAINTEXT://127.0.0.1:$SP \
  --override "log.dirs=$RW/single" >> "$RW/single.log" 2>&1 &
SPID=$!; PIDS+=($SPID)
if kill -0 "$SPID" 2>/dev/null && wait_port "$SP" 30 && timeout 60 "$PERF" create --brokers "127.0.0.1:$SP" --topic t-single --partitions 8 >/dev/null 2>>"$RW/client.log"; then
  L=$(produce "127.0.0.1:$SP" t-single "$(n 600000)" -1); echo "  $L" >&2; record repl_single "$L"
  if [[ "$RATE" -gt 0 ]]; then
    log "replication: one broker, latency at $RATE rec/s, acks=all"
    timeout 60 "$PERF" create --brokers "127.0.0.1:$SP" --topic t-single-lat --partitions 8 >/dev/null 2>>"$RW/client.log"
    L=$(produce "127.0.0.1:$SP" t-single-lat "$(python3 -c "print(max(1000, int($RATE * 5 * $SCALE)))")" -1 "$RATE")
    echo "  $L" >&2; record repl_single_lat "$L"
  fi
else
  log "replication: the single broker did not start"; tail -5 "$RW/single.log" >&2
fi
stop_pid "$SPID"
rm -rf "$RW/single"

# ---------------------------------------------------------------- 4. NATS JetStream, three replicas
log "replication: NATS JetStream, three-node cluster, stream Replicas=3, file storage"
read -r -a NP <<<"$(free_ports 6)"
NURLS=""; NATS_PIDS=()
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [[ $j != "$i" ]] && routes+="nats-route://127.0.0.1:${NP[$((3 + j))]},"; done
  cat > "$RW/nats-$i.conf" <<EOF
server_name: bench-$i
listen: 127.0.0.1:${NP[$i]}
jetstream { store_dir: "$RW/nats-$i" }
cluster { name: samsa-bench, listen: 127.0.0.1:${NP[$((3 + i))]}, routes: [${routes%,}] }
EOF
  nats-server -c "$RW/nats-$i.conf" > "$RW/nats-$i.log" 2>&1 &
  PIDS+=($!); NATS_PIDS+=($!)
  NURLS+="nats://127.0.0.1:${NP[$i]},"
done
NURLS=${NURLS%,}
for i in 0 1 2; do wait_port "${NP[$i]}" 20; done
L=$(timeout 120 "$BIN/nats_js_pub_r" "$NURLS" "$(n 400000)" 1024 4096 40 3); echo "  $L" >&2; record repl_nats_r3 "$L"
NRATE=$(python3 -c "r, h = float('$RATE'), float('$(field rps "$L")' or 0) / 2; print(int(min(r, h) if r > 0 else h))")
put repl_nats_latency_rate "$NRATE"
if [[ "$NRATE" -gt 0 ]]; then
  log "replication: NATS JetStream R3 latency at $NRATE msg/s"
  L=$(timeout 120 "$BIN/nats_js_pub_r" "$NURLS" "$(python3 -c "print(max(1000, int($NRATE * 5 * $SCALE)))")" 1024 4096 40 3 "$NRATE")
  echo "  $L" >&2; record repl_nats_r3_lat "$L"
fi
for p in "${NATS_PIDS[@]}"; do stop_pid "$p"; done
put repl_load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

if [[ $STANDALONE == 1 ]]; then
  mkdir -p "$ROOT/bench/results"
  OUT="$ROOT/bench/results/$(date -u +%Y-%m-%d)-$(hostname)-replication.md"
  python3 bench/report.py --replication "$RES" > "$OUT" || { log "report failed"; exit 1; }
  log "wrote $OUT"
  cat "$OUT"
fi
