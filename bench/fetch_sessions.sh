#!/bin/bash
# bench/fetch_sessions.sh SAMSA_BIN [PARTITIONS] [FETCHES] — what fetch sessions (KIP-227) save
# (bench/README.md): a fresh broker, one topic of PARTITIONS partitions (default 1,000) with one
# record each, and a caught-up consumer of all of them doing FETCHES fetches (default 300,
# max_wait_ms 0) twice: sessionless (every Fetch names and answers every partition) and through
# one fetch session (incremental fetches name nothing and get nothing back). Prints, per mode, the
# broker's CPU (utime+stime of its process) and the consumer's CPU (a Python raw-protocol client,
# tests/integration/fetchsess.py) per fetch, and the request and response bytes per fetch.
# Bounded: the broker start, the topic creation and each mode have timeouts; the broker is
# stopped and its data removed on exit.
set -u
BIN=$1; N=${2:-1000}; FETCHES=${3:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d "${TMPDIR:-/tmp}/samsa-fetchsess.XXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
P=
cleanup() {
  if [[ -n $P ]] && kill -0 "$P" 2>/dev/null; then
    kill -TERM "$P"
    for _ in $(seq 1 100); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$P" 2>/dev/null
    wait "$P" 2>/dev/null
  fi
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$BIN" start --override http.listeners= --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
  --override "log.dirs=$D/data" >> "$D/samsa.log" 2>&1 &
P=$!
for _ in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
timeout 110 /usr/bin/python3 - "$PORT" "$P" "$N" "$FETCHES" "$ROOT/tests/integration" <<'PY'
import os, sys, time
port, pid, n, fetches, lib = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, lib)
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from fetchsess import SessionConsumer, metadata_topic_id
from rawkafka import Conn

boot = f"127.0.0.1:{port}"
admin = AdminClient({"bootstrap.servers": boot})
admin.create_topics([NewTopic("fs", num_partitions=n, replication_factor=1)],
                    operation_timeout=60)["fs"].result(timeout=70)
prod = Producer({"bootstrap.servers": boot, "linger.ms": 5})
for p in range(n):
    prod.produce("fs", value=b"x" * 100, partition=p)
assert prod.flush(60) == 0
tick = os.sysconf("SC_CLK_TCK")

def broker_cpu():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

class Counting(Conn):
    sent = received = 0
    def request(self, data):
        Counting.sent += len(data)
        out = super().request(data)
        Counting.received += len(out) + 4
        return out

with Counting(port, timeout=30) as c:
    tid = metadata_topic_id(c, "fs", timeout=30)
    assert tid, "topic id not found"
    for mode in ("sessionless", "sessions"):
        consumer = SessionConsumer(c, 17, {(tid, p): 0 for p in range(n)}, sessions=(mode == "sessions"))
        got = 0
        while got < n:  # catch up first: every partition's one record
            got += sum(len(v) for v in consumer.fetch().values())
        consumer.fetch()  # the session learns the new offsets
        Counting.sent = Counting.received = 0
        b0, c0, t0 = broker_cpu(), time.process_time(), time.monotonic()
        for _ in range(fetches):
            consumer.fetch()
        b1, c1, t1 = broker_cpu(), time.process_time(), time.monotonic()
        consumer.close()
        print(f"fetch_sessions mode={mode} partitions={n} fetches={fetches} "
              f"broker_cpu_ms_per_fetch={1000 * (b1 - b0) / fetches:.3f} "
              f"consumer_cpu_ms_per_fetch={1000 * (c1 - c0) / fetches:.3f} "
              f"request_bytes_per_fetch={Counting.sent // fetches} response_bytes_per_fetch={Counting.received // fetches} "
              f"wall_s={t1 - t0:.2f}", flush=True)
PY
