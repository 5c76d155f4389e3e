"""Fetch from followers (issue 14, KIP-392) on three real brokers in three racks
(broker.rack r1, r2, r3; replica.selector.class = Kafka's RackAwareReplicaSelector).

- The leader answers a consumer's Fetch v11 that names the rack of an in-sync follower with that
  follower in preferred_read_replica and no records; from a rack with no replica (or none given)
  it serves the records itself. A follower serves Fetch v11 up to its high watermark; Fetch v10
  (no client metadata) and a broker that holds no replica answer NOT_LEADER_OR_FOLLOWER.
- A librdkafka consumer with client.rack reads everything from its rack's follower: that
  broker's bytes-out metric for the topic grows and the leader's stays at zero. When that replica
  is moved away (Debian's librdkafka), or its broker is killed -9 (kafka-javascript's current
  librdkafka), the consumer goes back to the leader and reads on, nothing lost.

Every wait is a bounded poll; killed nodes are restarted by nobody (the fixture stops the rest).
"""

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from jsproc import JS_DIR, JsonLinesProcess
from rawkafka import Conn, Reader, frame, i8, i32, i64, request_header, string
from test_observability import SAMPLE, LABEL
from test_replication import Cluster as ReplicationCluster

BOUND_S = 40.0
SAMSA_BIN = os.environ.get("SAMSA_BIN", "build/samsa")
RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
NONE, OFFSET_OUT_OF_RANGE, NOT_LEADER_OR_FOLLOWER = 0, 1, 6


class Cluster(ReplicationCluster):
    """test_replication's three nodes, node n in rack rn, with the rack-aware selector."""

    def __init__(self, root):
        super().__init__(root, 3)
        for n in self.nodes:
            n.extra["broker.rack"] = f"r{n.id}"
            n.extra["replica.selector.class"] = RACK_AWARE


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    for n in c.nodes:
        n.start()
    try:
        c.controller()
        c.wait_brokers([1, 2, 3])
        yield c
    finally:
        for n in c.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGCONT)
        for n in c.nodes:
            n.stop()


def create_on(cluster, name, replicas):
    admin = AdminClient({"bootstrap.servers": cluster.nodes[0].bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replica_assignment=[replicas],
                                  config={"min.insync.replicas": "1"})],
                        operation_timeout=20)[name].result(timeout=30)
    return cluster.wait_partition(name, lambda l, r, i: l == replicas[0] and i == sorted(replicas),
                                  what="the first replica leading with a full ISR")


def produce_values(cluster, topic, values):
    p = Producer({"bootstrap.servers": ",".join(n.bootstrap for n in cluster.nodes if n.alive()),
                  "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    failed = []
    for v in values:
        p.produce(topic, value=str(v).encode(), partition=0,
                  on_delivery=lambda err, msg: failed.append(err) if err else None)
    assert p.flush(60) == 0
    assert not failed, failed


def fetch_v11(topic, offset, rack, version=11, replica_id=-1):
    """Fetch v10/v11 (not flexible), one partition, no session; rack_id only in v11."""
    body = (i32(replica_id) + i32(0) + i32(0) + i32(1 << 20) + i8(0) + i32(0) + i32(-1)
            + i32(1) + string(topic) + i32(1) + i32(0) + i32(-1) + i64(offset) + i64(-1) + i32(1 << 20)
            + i32(0))  # no forgotten topics
    if version >= 11:
        body += string(rack)
    return frame(request_header(1, version, 5) + body)


def parse_fetch_v11(frame_bytes, version=11):
    """-> dict of the one partition: error, hw, preferred (v11; else None), records bytes."""
    r = Reader(frame_bytes)
    r.i32()  # correlation id
    r.i32()  # throttle
    top_error = r.i16()
    r.i32()  # session id
    assert r.i32() == 1
    r.string()
    assert r.i32() == 1
    out = {"top_error": top_error}
    r.i32()  # partition index
    out["error"], out["hw"], _lso, _log_start = r.i16(), r.i64(), r.i64(), r.i64()
    aborted = r.i32()
    for _ in range(max(aborted, 0)):
        r.i64(), r.i64()
    out["preferred"] = r.i32() if version >= 11 else None
    n = r.i32()
    out["records"] = r.take(n) if n > 0 else b""
    return out


def raw_fetch(node, topic, offset, rack, version=11):
    c = Conn(node.port)
    try:
        return parse_fetch_v11(c.request(fetch_v11(topic, offset, rack, version)), version)
    finally:
        c.sock.close()


def bytes_out(node, topic):
    """kafka_server_brokertopicmetrics_bytesout_total{topic} on `node` (0 when absent)."""
    url = f"http://127.0.0.1:{node.http_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1) == "kafka_server_brokertopicmetrics_bytesout_total" and \
                ("topic", topic) in LABEL.findall(m.group(2) or ""):
            total += float(m.group(3))
    return total


def wait_follower_hw(node, topic, hw, bound=BOUND_S):
    """Polls Fetch v11 on follower `node` until it serves with its high watermark at `hw`."""
    deadline = time.monotonic() + bound
    seen = None
    while time.monotonic() < deadline:
        seen = raw_fetch(node, topic, 0, "")
        if seen["error"] == NONE and seen["hw"] == hw:
            return seen
        time.sleep(0.1)
    pytest.fail(f"follower {node.id}: high watermark {hw} not reached, last {seen}")


def test_leader_names_the_racks_follower_and_followers_serve_consumers(cluster):
    topic = "ffrack"
    leader_id = create_on(cluster, topic, [1, 2])[0]
    leader, follower, outsider = cluster.node(1), cluster.node(2), cluster.node(3)
    assert leader_id == 1
    produce_values(cluster, topic, range(50))
    served = wait_follower_hw(follower, topic, 50)
    assert served["preferred"] == -1 and served["records"], "a follower serves records itself"

    # The leader: a consumer in r2 goes to node 2; from r1 (the leader's own rack), from a
    # rack with no replica, or with no rack it is served the records.
    sent = raw_fetch(leader, topic, 10, "r2")
    assert (sent["error"], sent["preferred"], sent["records"], sent["hw"]) == (NONE, 2, b"", 50)
    for rack in ("r1", "r3", ""):
        here = raw_fetch(leader, topic, 10, rack)
        assert (here["error"], here["preferred"]) == (NONE, -1), rack
        assert here["records"], rack
    # Past the follower's log end it is not chosen; at its end it is.
    assert raw_fetch(leader, topic, 50, "r2")["preferred"] == 2
    # Without client metadata (v10) only the leader serves; a broker with no replica never does.
    assert raw_fetch(follower, topic, 0, "", version=10)["error"] == NOT_LEADER_OR_FOLLOWER
    assert raw_fetch(leader, topic, 0, "", version=10)["error"] == NONE
    assert raw_fetch(outsider, topic, 0, "r3")["error"] == NOT_LEADER_OR_FOLLOWER
    # Beyond the follower's log end: out of range there (librdkafka then goes to the leader).
    assert raw_fetch(follower, topic, 51, "r2")["error"] == OFFSET_OUT_OF_RANGE


def consume_until(consumer, want, bound=BOUND_S):
    got = []
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline and len(got) < want:
        for m in consumer.consume(num_messages=500, timeout=0.2):
            if m.error() is None:
                got.append(int(m.value()))
    return got


def reassign(cluster, tmp_path, topic, replicas):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic, "partition": 0, "replicas": replicas}]}))
    p = subprocess.run([SAMSA_BIN, "reassign-partitions", "--bootstrap-server", cluster.nodes[0].bootstrap,
                        "--execute", "--reassignment-json-file", str(plan)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    cluster.wait_partition(topic, lambda l, r, i: r == sorted(replicas) and i == sorted(replicas),
                           what=f"replicas {replicas}")


def test_rdkafka_consumer_reads_everything_from_its_racks_follower(cluster):
    """Debian's librdkafka (2.0.2): every record comes from node 3, the follower in its rack."""
    topic = "ffclient"
    create_on(cluster, topic, [1, 2, 3])
    leader, follower = cluster.node(1), cluster.node(3)
    produce_values(cluster, topic, range(300))
    wait_follower_hw(follower, topic, 300)  # a raw read of all 300 there: the baseline below
    assert bytes_out(leader, topic) == 0
    before = bytes_out(follower, topic)
    assert before > 0

    consumer = Consumer({"bootstrap.servers": leader.bootstrap, "group.id": "ff-g", "client.rack": "r3",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        # Records produced while it reads arrive too (the follower's high watermark moves on).
        got = consume_until(consumer, 100)
        produce_values(cluster, topic, range(300, 400))
        got += consume_until(consumer, 400 - len(got))
        assert got == list(range(400))
        assert bytes_out(follower, topic) >= 2 * before
        assert bytes_out(leader, topic) == 0
    finally:
        consumer.close()


@pytest.fixture
def node_modules():
    r = subprocess.run(["bash", str(JS_DIR / "setup.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=1800)
    assert r.returncode == 0, f"js/setup.sh failed:\n{r.stdout.decode(errors='replace')}"


class RackConsumer(JsonLinesProcess):
    """js/rack_consumer.js (kafka-javascript's current librdkafka) and the offsets it printed."""

    def __init__(self, broker, topic, rack):
        args = {"brokers": [broker.bootstrap], "topic": topic, "group": "ff-js", "rack": rack, "deadlineS": 150}
        super().__init__("rack_consumer.js", args, stderr=subprocess.DEVNULL)

    def wait_values(self, n, bound=BOUND_S):
        deadline = time.monotonic() + bound
        values = []
        while time.monotonic() < deadline:
            values = [int(e["v"]) for e in self.events_of("msg")]
            if len(values) >= n:
                return values
            time.sleep(0.1)
        return [int(e["v"]) for e in self.events_of("msg")]

    def stop(self):
        super().stop(timeout=20)


def test_current_librdkafka_goes_back_to_the_leader_when_its_follower_is_removed_or_dies(
        cluster, node_modules, tmp_path):
    """kafka-javascript's librdkafka reverts to the leader when its preferred replica answers
    NOT_LEADER_OR_FOLLOWER (moved away) or its connection fails (killed -9); the leader, whose
    replicas or ISR no longer hold that follower, serves it from then on. (Debian's librdkafka
    2.0.2 does neither: it keeps its preferred replica until a 5-minute lease ends.)"""
    leader, follower = cluster.node(1), cluster.node(3)
    consumers = {}
    try:
        for topic in ("ffmoved", "ffdies"):
            create_on(cluster, topic, [1, 2, 3])
            produce_values(cluster, topic, range(300))
            wait_follower_hw(follower, topic, 300)
            before = bytes_out(follower, topic)
            consumers[topic] = RackConsumer(leader, topic, "r3")
            assert consumers[topic].wait_values(300) == list(range(300)), topic
            assert bytes_out(follower, topic) >= 2 * before, topic
            assert bytes_out(leader, topic) == 0, topic

        reassign(cluster, tmp_path, "ffmoved", [1, 2])
        produce_values(cluster, "ffmoved", range(300, 400))
        got = consumers["ffmoved"].wait_values(400)
        assert got == list(range(400)), f"read after the move: {got[300:305]}..{got[-5:]}"
        assert bytes_out(leader, "ffmoved") > 0

        follower.stop(sig=signal.SIGKILL)
        produce_values(cluster, "ffdies", range(300, 400))
        got = consumers["ffdies"].wait_values(400)
        assert got == list(range(400)), f"read after the follower died: {got[300:305]}..{got[-5:]}"
        assert bytes_out(leader, "ffdies") > 0
    finally:
        for c in consumers.values():
            c.stop()


def test_an_unknown_replica_selector_is_refused_at_start(cluster):
    node = cluster.node(3)
    node.stop()
    node.extra["replica.selector.class"] = "com.example.NearestReplica"
    node.start()
    try:
        code = node.proc.wait(timeout=30)
    except Exception:
        pytest.fail("a broker with an unknown replica.selector.class kept running")
    assert code != 0
    text = node.log_path.read_text(errors="replace")
    assert "com.example.NearestReplica cannot be found" in text, text[-2000:]
