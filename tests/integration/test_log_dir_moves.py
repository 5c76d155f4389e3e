"""Moving a replica between the log dirs of its broker (AlterReplicaLogDirs, KIP-113), as an
operator does it: `samsa reassign-partitions` with absolute paths in "log_dirs", then --verify.

* under a running acks=all producer the partition moves to the other dir: every acknowledged
  record is there once, in order, at the offsets it was acknowledged at; the old directory is
  renamed away and removed; `samsa log-dirs --describe` shows the new dir; a kill -9 after the
  move changes nothing;
* the broker's answers to bad requests: an unknown dir (LOG_DIR_NOT_FOUND), a partition it
  does not host (REPLICA_NOT_AVAILABLE, which the tool retries), the dir it is in (NONE, no move).
"""

import json
import os
import signal
import subprocess
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import ConfigResource
from conftest import SAMSA_BIN
from helpers import admin_client, base_conf, consume_all, create_topic, produce, Msg, assert_delivered, unique_topic, \
    watermarks
from rawkafka import Conn, Reader, frame, i32, request_header, string
from test_storage import wait_until

LOG_DIR_NOT_FOUND, REPLICA_NOT_AVAILABLE = 57, 9


def where(dirs, topic, partition):
    return [d for d in dirs if os.path.isdir(os.path.join(d, f"{topic}-{partition}"))]


def reassign(broker, *args):
    p = subprocess.run([SAMSA_BIN, "reassign-partitions", "--bootstrap-server", broker.bootstrap, *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"reassign-partitions {args}: {p.stdout}{p.stderr}\n{broker.log_tail()}"
    return p.stdout


def alter_replica_log_dirs(broker, moves):
    """AlterReplicaLogDirs v1 of {dir: [(topic, partition)]} -> {(topic, partition): error}."""
    body = i32(len(moves))
    for path, parts in moves.items():
        body += string(path) + i32(len(parts))
        for topic, p in parts:
            body += string(topic) + i32(1) + i32(p)
    with Conn(broker.port) as c:
        resp = c.request(frame(request_header(34, 1, 7) + body))
    r = Reader(resp)
    assert r.i32() == 7
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p, err = r.i32(), r.i16()
            out[(topic, p)] = err
    assert r.remaining() == 0
    return out


def test_a_replica_moves_to_the_other_log_dir_under_load(make_broker, tmp_path):
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    b = make_broker(overrides={"log.dirs": f"{dir_a},{dir_b}", "log.retention.check.interval.ms": "300"})
    topic = unique_topic("move")
    create_topic(b.bootstrap, topic, 1, config={"segment.bytes": "262144", "file.delete.delay.ms": "500"})
    dirs = [str(dir_a), str(dir_b)]
    [src] = where(dirs, topic, 0)
    dst = dirs[1 - dirs.index(src)]
    # ~6 MiB up front (many segments to copy), then a producer keeps writing through the move.
    first = [Msg(key=f"k{i}".encode(), value=f"pre-{i}-".encode() + b"x" * 1500, partition=0) for i in range(4000)]
    assert_delivered(produce(b.bootstrap, topic, first, conf={"acks": "all"}), first)
    acked, failed, stop = [], [], threading.Event()

    def keep_producing():
        p = Producer({**base_conf(b.bootstrap), "acks": "all", "enable.idempotence": True, "linger.ms": 2})

        def report(err, m):
            if err:
                failed.append(err)
            else:
                acked.append((m.value(), m.offset()))

        i = 0
        while not stop.is_set() and i < 200000:
            p.produce(topic, value=f"live-{i}".encode(), partition=0, on_delivery=report)
            p.poll(0.001 if i % 20 else 0.01)
            i += 1
        p.flush(30)

    t = threading.Thread(target=keep_producing, daemon=True)
    t.start()
    try:
        wait_until(lambda: len(acked) > 200, timeout=30, step=0.05)
        plan = tmp_path / "move.json"
        plan.write_text(json.dumps({"version": 1, "partitions": [
            {"topic": topic, "partition": 0, "replicas": [1], "log_dirs": [dst]}]}))
        out = reassign(b, "--execute", "--reassignment-json-file", str(plan))
        assert f"Successfully started log directory move for: {topic}-0-1" in out, out
        done = wait_until(lambda: f"Reassignment of replica {topic}-0-1 completed successfully." in reassign(
            b, "--verify", "--reassignment-json-file", str(plan)), timeout=60, step=0.3)
        assert done, reassign(b, "--verify", "--reassignment-json-file", str(plan)) + b.log_tail()
        n = len(acked)
        wait_until(lambda: len(acked) > n + 200, timeout=30, step=0.05)  # still writing after the swap
    finally:
        stop.set()
        t.join(60)
    assert not failed, failed[:5]
    assert f"{topic}-0: moved to {dst}" in b.log_tail(200000)
    assert where(dirs, topic, 0) == [dst]
    # The old directory was renamed "-delete" and goes after file.delete.delay.ms.
    assert wait_until(lambda: not [n for n in os.listdir(src) if n.startswith(f"{topic}-0")], timeout=20), \
        os.listdir(src)
    assert not [n for n in os.listdir(dst) if n.endswith("-future")]

    def check_everything():
        recs = consume_all(b.bootstrap, topic, [0], timeout=60)[0]
        values = [r.value for r in recs]
        assert [r.offset for r in recs] == list(range(len(recs)))
        assert values[:len(first)] == [m.value for m in first]
        live = values[len(first):]
        assert live == [f"live-{i}".encode() for i in range(len(live))], "once each, in order"
        by_offset = {off: v for v, off in acked}
        assert all(values[off] == v for off, v in by_offset.items()), "each at its acknowledged offset"
        return len(recs)

    total = check_everything()
    assert total == len(first) + len(acked)
    p = subprocess.run([SAMSA_BIN, "log-dirs", "--bootstrap-server", b.bootstrap, "--describe",
                        "--topic-list", topic], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    homes = {d["logDir"]: [x["partition"] for x in d["partitions"]] for d in doc["brokers"][0]["logDirs"]}
    assert homes[dst] == [f"{topic}-0"] and homes[src] == [], homes
    # A crash after the move: the partition comes back from its new dir, whole.
    b.restart(signal.SIGKILL)
    assert watermarks(b.bootstrap, topic, [0])[0] == (0, total)
    assert where(dirs, topic, 0) == [dst]
    assert check_everything() == total


def test_bad_log_dir_requests_get_kafkas_errors(make_broker, tmp_path):
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    b = make_broker(overrides={"log.dirs": f"{dir_a},{dir_b}"})
    topic = unique_topic("move-bad")
    create_topic(b.bootstrap, topic, 1)
    msgs = [Msg(value=f"v{i}".encode(), partition=0) for i in range(10)]
    assert_delivered(produce(b.bootstrap, topic, msgs), msgs)
    dirs = [str(dir_a), str(dir_b)]
    [src] = where(dirs, topic, 0)
    got = alter_replica_log_dirs(b, {str(tmp_path / "nowhere"): [(topic, 0)], src: [("no-such-topic", 0)]})
    assert got == {(topic, 0): LOG_DIR_NOT_FOUND, ("no-such-topic", 0): REPLICA_NOT_AVAILABLE}
    assert alter_replica_log_dirs(b, {src: [(topic, 0)]}) == {(topic, 0): 0}  # already there
    time.sleep(0.5)
    assert where(dirs, topic, 0) == [src]
    assert not [n for d in dirs for n in os.listdir(d) if n.endswith("-future")]
    # The tool says which replica failed.
    plan = tmp_path / "bad.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic, "partition": 0, "replicas": [1], "log_dirs": [str(tmp_path / "nowhere")]}]}))
    p = subprocess.run([SAMSA_BIN, "reassign-partitions", "--bootstrap-server", b.bootstrap, "--execute",
                        "--reassignment-json-file", str(plan)], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and f"{topic}-0-1: LOG_DIR_NOT_FOUND" in p.stdout + p.stderr, p.stdout + p.stderr
    assert [r.value for r in consume_all(b.bootstrap, topic, [0])[0]] == [m.value for m in msgs]


def test_a_throttled_move_shows_its_copy_can_be_cancelled_and_is_bounded(make_broker, tmp_path):
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    b = make_broker(overrides={"log.dirs": f"{dir_a},{dir_b}", "replication.quota.window.num": "2",
                               "replication.quota.window.size.seconds": "1"})
    topic = unique_topic("move-slow")
    create_topic(b.bootstrap, topic, 1)
    dirs = [str(dir_a), str(dir_b)]
    [src] = where(dirs, topic, 0)
    dst = dirs[1 - dirs.index(src)]
    msgs = [Msg(value=f"{i:06d}".encode() + b"z" * 2000, partition=0) for i in range(3000)]  # ~6 MiB
    assert_delivered(produce(b.bootstrap, topic, msgs), msgs)
    plan = tmp_path / "move.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic, "partition": 0, "replicas": [1], "log_dirs": [dst]}]}))
    rate = 1 << 20
    out = reassign(b, "--execute", "--reassignment-json-file", str(plan), "--replica-alter-log-dirs-throttle",
                   str(rate))
    assert f"The replica-alter-dir throttle limit was set to {rate} B/s" in out, out

    def describe():
        p = subprocess.run([SAMSA_BIN, "log-dirs", "--bootstrap-server", b.bootstrap, "--describe",
                            "--topic-list", topic], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout.strip().splitlines()[-1])
        return {d["logDir"]: d["partitions"] for d in doc["brokers"][0]["logDirs"]}

    # While it copies: the future replica in the destination, the current one where it was.
    seen = describe()
    [future] = seen[dst]
    assert future["partition"] == f"{topic}-0" and future["isFuture"] is True, seen
    assert future["offsetLag"] > 0 and future["size"] < 6_000_000, seen
    assert [p["isFuture"] for p in seen[src]] == [False], seen
    assert f"Reassignment of replica {topic}-0-1 is still in progress." in reassign(
        b, "--verify", "--reassignment-json-file", str(plan))
    # Cancelled half way: the copy goes, the replica stays where it was.
    out = reassign(b, "--cancel", "--reassignment-json-file", str(plan))
    assert f"Successfully cancelled log directory move for: {topic}-0-1" in out, out
    assert wait_until(lambda: not [n for n in os.listdir(dst) if n.startswith(f"{topic}-0")], timeout=10), \
        os.listdir(dst)
    assert describe()[dst] == [] and where(dirs, topic, 0) == [src]
    assert f"Partition {topic}-0 on broker 1 is not being moved from log dir {src} to {dst}." in reassign(
        b, "--verify", "--reassignment-json-file", str(plan))
    # Again, to the end: the throttle bounds the copy rate (a slow machine only makes it slower).
    started = time.monotonic()
    reassign(b, "--execute", "--reassignment-json-file", str(plan), "--replica-alter-log-dirs-throttle", str(rate))
    assert wait_until(lambda: where(dirs, topic, 0) == [dst], timeout=60, step=0.1), b.log_tail()
    took = time.monotonic() - started
    size = sum(p["size"] for p in describe()[dst])
    assert size > 6_000_000 and size / took <= 2 * rate + 2 * rate / took, (size, took)
    out = reassign(b, "--verify", "--reassignment-json-file", str(plan))
    assert f"Reassignment of replica {topic}-0-1 completed successfully." in out, out
    admin = admin_client(b.bootstrap)
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    entry = admin.describe_configs([res])[res].result(timeout=15)["replica.alter.log.dirs.io.max.bytes.per.second"]
    assert entry.value == str(2**63 - 1), "--verify cleared the throttle"
    assert [r.value for r in consume_all(b.bootstrap, topic, [0])[0]] == [m.value for m in msgs]
