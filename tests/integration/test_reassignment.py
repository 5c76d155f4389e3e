"""Partition reassignment across four real brokers (issue 14, KIP-455): `samsa
reassign-partitions` moves a partition from brokers {1,2,3} to {2,3,4} while an idempotent
acks=all producer (confluent-kafka) writes and a consumer reads: every acknowledged record is
read exactly once and in order, Metadata ends with replicas and ISR {2,3,4}, --verify reports it
completed and the removed broker deletes its copy. A reassignment whose new broker is SIGSTOPped
cannot finish: --list shows it in progress, --cancel brings the original replicas back. Bad
input gets Kafka's errors, from the tool and from the API itself (raw AlterPartitionReassignments
v0 sent to a broker that is not the active controller, which forwards it).

Stopped nodes are SIGSTOPped and always SIGCONTed before the test ends; every wait is a bounded
poll.
"""

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from rawkafka import Conn, Reader, frame, i16, i32, compact_string, parse_api_versions, api_versions_request, \
    request_header, uvarint
from test_replication import Cluster as ReplicationCluster

BOUND_S = 40.0
SAMSA_BIN = os.environ.get("SAMSA_BIN", "build/samsa")


class Cluster(ReplicationCluster):
    """test_replication's cluster (short replica.lag.time.max.ms; partition() gives
    (leader, sorted replicas, sorted isr)) with four nodes."""

    def __init__(self, root):
        super().__init__(root, 4)
        for n in self.nodes:  # a replication throttle measured over 2 x 1 s (Kafka's default 11 x 1 s)
            n.extra["replication.quota.window.num"] = "2"


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    for n in c.nodes:
        n.start()
    try:
        c.controller()
        c.wait_brokers([1, 2, 3, 4])
        yield c
    finally:
        for n in c.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGCONT)
        for n in c.nodes:
            n.stop()


def tool(cluster, via, *args, check=True):
    p = subprocess.run([SAMSA_BIN, "reassign-partitions", "--bootstrap-server", via.bootstrap, *args],
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        pytest.fail(f"reassign-partitions {args} failed ({p.returncode}): {p.stdout}{p.stderr}\n{cluster.logs()}")
    return p


def plan_file(tmp_path, name, moves):
    path = tmp_path / name
    path.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": t, "partition": p, "replicas": r} for (t, p), r in moves.items()]}))
    return str(path)


def create_on(cluster, via, name, replicas):
    admin = AdminClient({"bootstrap.servers": via.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replica_assignment=[replicas], config={"min.insync.replicas": "2"})],
                        operation_timeout=20)[name].result(timeout=30)
    cluster.wait_partition(name, lambda l, r, i: l > 0 and i == sorted(replicas), via=via, what="a full ISR")


def not_controller(cluster):
    c = cluster.controller()
    return next(n for n in cluster.nodes if n.id != c)


class Load:
    """An idempotent acks=all producer writing 0, 1, 2, ... to partition 0 and a consumer
    reading it, both on threads until stop(); acked values and read values are recorded."""

    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.acked, self.failed, self.read = [], [], []
        self.stopping = threading.Event()
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 5, "message.timeout.ms": 60000})
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        self.consumer.assign([TopicPartition(topic, 0, 0)])
        self.threads = [threading.Thread(target=self._produce), threading.Thread(target=self._consume)]
        self.reading = threading.Event()

    def start(self):
        for t in self.threads:
            t.start()

    def _report(self, err, msg):
        (self.failed if err else self.acked).append(int(msg.value()))

    def _produce(self):
        i = 0
        while not self.stopping.is_set():
            self.producer.produce(self.topic, value=str(i).encode(), partition=0, on_delivery=self._report)
            i += 1
            self.producer.poll(0.002)
        self.producer.flush(90)

    def _consume(self):
        while not self.reading.is_set():
            for m in self.consumer.consume(num_messages=500, timeout=0.2):
                if m.error() is None:
                    self.read.append(int(m.value()))

    def stop(self, bound=BOUND_S):
        self.stopping.set()
        self.threads[0].join(120)
        # The consumer goes on until it has read past the last acked value (bounded).
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline and self.acked and (not self.read or self.read[-1] < max(self.acked)):
            time.sleep(0.2)
        self.reading.set()
        self.threads[1].join(30)
        self.consumer.close()


def test_move_under_load_keeps_every_acked_record_once_and_in_order(cluster, tmp_path):
    via = not_controller(cluster)
    create_on(cluster, via, "moving", [1, 2, 3])
    load = Load(cluster.bootstrap, "moving")
    load.start()
    try:
        deadline = time.monotonic() + BOUND_S
        while len(load.acked) < 2000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(load.acked) >= 2000, f"only {len(load.acked)} acked before the move\n{cluster.logs()}"
        plan = plan_file(tmp_path, "plan.json", {("moving", 0): [2, 3, 4]})
        out = tool(cluster, via, "--execute", "--reassignment-json-file", plan).stdout
        assert "Current partition replica assignment" in out
        assert '{"topic":"moving","partition":0,"replicas":[1,2,3],"log_dirs":["any","any","any"]}' in out
        assert "Successfully started partition reassignment for moving-0" in out
        cluster.wait_partition("moving", lambda l, r, i: r == [2, 3, 4] and i == [2, 3, 4] and l in (2, 3, 4),
                               via=via, what="the move done")
        acked_at_move = len(load.acked)
        deadline = time.monotonic() + BOUND_S
        while len(load.acked) < acked_at_move + 1000 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        load.stop()
    assert not load.failed, f"{len(load.failed)} records failed, first {load.failed[:5]}"
    assert len(load.acked) > acked_at_move, "nothing acked after the move"
    # Idempotent, one partition: acked values are 0..n-1 and the log holds each once, in order.
    assert sorted(load.acked) == list(range(len(load.acked)))
    assert load.read == sorted(set(load.read)), "read out of order or twice"
    assert set(load.acked) <= set(load.read), f"acked but never read: {sorted(set(load.acked) - set(load.read))[:5]}"

    verify = tool(cluster, via, "--verify", "--reassignment-json-file", plan).stdout
    assert "Status of partition reassignment:\nReassignment of partition moving-0 is completed." in verify
    assert tool(cluster, via, "--list").stdout.strip() == "No partition reassignments found."
    # Broker 1 left the replica set: its copy is gone (renamed for deletion, then deleted).
    deadline = time.monotonic() + BOUND_S
    gone = cluster.node(1).dir / "data" / "moving-0"
    while gone.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not gone.exists(), "broker 1 kept its replica of moving-0"
    assert (cluster.node(4).dir / "data" / "moving-0").is_dir()


def described(via, kind, name, keys):
    """{key: value} of `keys` as DescribeConfigs shows them (None when unset or empty)."""
    res = ConfigResource(kind, name)
    admin = AdminClient({"bootstrap.servers": via.bootstrap})
    entries = admin.describe_configs([res])[res].result(timeout=30)
    return {k: (entries[k].value or None) if k in entries else None for k in keys}


RATE_KEYS = ["leader.replication.throttled.rate", "follower.replication.throttled.rate"]
REPLICA_KEYS = ["leader.replication.throttled.replicas", "follower.replication.throttled.replicas"]


def test_throttle_caps_the_copy_rate_and_verify_clears_it(cluster, tmp_path):
    """--throttle sets Kafka's replication throttles; the new replica copies the partition no faster
    than the bound (with slack for the first window and one fetch), and --verify clears them."""
    via = not_controller(cluster)
    create_on(cluster, via, "throttled", [1, 2, 3])
    value = b"x" * 10240
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 5,
                  "compression.type": "none"})
    for _ in range(600):  # 6 MiB of values
        p.produce("throttled", value=value, partition=0)
        p.poll(0)
    assert p.flush(60) == 0
    size = 600 * len(value)
    rate = 1 << 20
    plan = plan_file(tmp_path, "plan.json", {("throttled", 0): [2, 3, 4]})
    started = time.monotonic()
    out = tool(cluster, via, "--execute", "--reassignment-json-file", plan, "--throttle", str(rate)).stdout
    assert "Warning: You must run --verify periodically" in out
    assert f"The inter-broker throttle limit was set to {rate} B/s" in out
    assert described(via, "topic", "throttled", REPLICA_KEYS) == {
        "leader.replication.throttled.replicas": "0:1,0:2,0:3", "follower.replication.throttled.replicas": "0:4"}
    for n in (1, 2, 3, 4):
        assert described(cluster.node(n), "broker", str(n), RATE_KEYS) == {k: str(rate) for k in RATE_KEYS}, n
    # Not finished yet: --verify keeps the throttles while it runs.
    early = tool(cluster, via, "--verify", "--reassignment-json-file", plan).stdout
    if "is still in progress" in early:
        assert "Clearing" not in early
    cluster.wait_partition("throttled", lambda l, r, i: r == [2, 3, 4] and i == [2, 3, 4], via=via,
                           what="the throttled move done", bound=90)
    elapsed = time.monotonic() - started
    copied_rate = size / elapsed
    print(f"throttled move: {size} bytes in {elapsed:.2f} s = {copied_rate:.0f} B/s (bound {rate})")
    assert copied_rate <= 2 * rate, f"copied {size} bytes in {elapsed:.1f} s: {copied_rate:.0f} B/s > 2 x {rate}"

    verify = tool(cluster, via, "--verify", "--reassignment-json-file", plan).stdout
    assert "Reassignment of partition throttled-0 is completed." in verify
    assert "Clearing broker-level throttles on brokers 1,2,3,4" in verify
    assert "Clearing topic-level throttles on topic throttled" in verify
    assert described(via, "topic", "throttled", REPLICA_KEYS) == {k: None for k in REPLICA_KEYS}
    for n in (1, 2, 3, 4):
        rates = described(cluster.node(n), "broker", str(n), RATE_KEYS)
        assert rates == {k: "9223372036854775807" for k in RATE_KEYS}, (n, rates)


def test_list_while_in_progress_then_cancel_restores_the_original_replicas(cluster, tmp_path):
    c = cluster.controller()
    newcomer = max(n for n in (1, 2, 3, 4) if n != c)
    original = sorted(n for n in (1, 2, 3, 4) if n != newcomer)
    target = original[1:] + [newcomer]
    via = cluster.node(original[1])
    create_on(cluster, via, "slow", original)
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(500):
        p.produce("slow", value=str(i).encode(), partition=0)
    assert p.flush(60) == 0
    plan = plan_file(tmp_path, "plan.json", {("slow", 0): target})
    # The newcomer cannot catch up while stopped; the reassignment starts before its
    # session expires, so the tool still sees it among the brokers.
    cluster.node(newcomer).proc.send_signal(signal.SIGSTOP)
    try:
        tool(cluster, via, "--execute", "--reassignment-json-file", plan)
        listed = tool(cluster, via, "--list").stdout
        removing = original[0]
        assert listed == ("Current partition reassignments:\n"
                          f"slow-0: replicas: {','.join(map(str, target + [removing]))}. adding: {newcomer}. "
                          f"removing: {removing}.\n"), listed
        verify = tool(cluster, via, "--verify", "--reassignment-json-file", plan).stdout
        assert "Reassignment of partition slow-0 is still in progress." in verify
        leader, replicas, isr = cluster.partition("slow", via)
        assert newcomer not in isr and sorted(replicas) == [1, 2, 3, 4]
        # Records still go to the original ISR meanwhile.
        for i in range(500, 600):
            p.produce("slow", value=str(i).encode(), partition=0)
        assert p.flush(60) == 0

        cancelled = tool(cluster, via, "--cancel", "--reassignment-json-file", plan).stdout
        assert cancelled == ("Successfully cancelled partition reassignment for: slow-0\n"
                             "None of the specified partition moves are active.\n"), cancelled
        cluster.wait_partition("slow", lambda l, r, i: r == original and i == original, via=via,
                               what="the original replicas")
        assert tool(cluster, via, "--list").stdout.strip() == "No partition reassignments found."
        again = tool(cluster, via, "--cancel", "--reassignment-json-file", plan).stdout
        assert again.startswith("None of the specified partition reassignments are active.")
        verify = tool(cluster, via, "--verify", "--reassignment-json-file", plan).stdout
        # Back to the original set (in the order the reassignment left: Kafka's revert).
        assert "There is no active reassignment of partition slow-0, but replica set is " in verify
        assert f" rather than {','.join(map(str, target))}." in verify
    finally:
        cluster.node(newcomer).proc.send_signal(signal.SIGCONT)
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "g-slow", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("slow", 0, 0)])
    got = []
    deadline = time.monotonic() + BOUND_S
    while len(got) < 600 and time.monotonic() < deadline:
        got += [int(m.value()) for m in c.consume(num_messages=600, timeout=0.5) if m.error() is None]
    c.close()
    assert got == list(range(600))


def test_a_copy_moved_away_while_its_broker_was_down_is_deleted_when_it_returns(cluster, tmp_path):
    """Broker 3 is stopped; its partition moves to {1,2,4} meanwhile. When 3 starts again, the
    metadata places no replica of it there: the stray copy is deleted (Kafka's stray replicas)."""
    via = cluster.node(1)
    create_on(cluster, via, "stray", [1, 2, 3])
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(100):
        p.produce("stray", value=str(i).encode(), partition=0)
    assert p.flush(60) == 0
    copy = cluster.node(3).dir / "data" / "stray-0"
    assert copy.is_dir()
    cluster.node(3).stop()
    plan = plan_file(tmp_path, "plan.json", {("stray", 0): [1, 2, 4]})
    tool(cluster, via, "--execute", "--reassignment-json-file", plan)
    cluster.wait_partition("stray", lambda l, r, i: r == [1, 2, 4] and i == [1, 2, 4], via=via, what="moved")
    assert copy.is_dir(), "the stopped broker's copy is still on its disk"
    cluster.node(3).start()
    deadline = time.monotonic() + BOUND_S
    while copy.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not copy.exists(), "broker 3 kept its stray copy of stray-0"
    log = cluster.node(3).log_path.read_text(errors="replace")
    assert "stray-0 in " in log and "is a stray copy" in log
    # Its metadata log (in the same log dir) is untouched: it is back in the cluster.
    cluster.wait_brokers([1, 2, 3, 4])
    assert (cluster.node(3).dir / "data" / "__cluster_metadata-0").is_dir()


# Raw AlterPartitionReassignments v0/v1 / ListPartitionReassignments v0 (flexible).
def alter_request(corr, items, version=0, allow_rf_change=True):
    """items: [(topic, partition, replicas or None)], one topic per item."""
    body = uvarint(1 + len(items))  # topics; timeout_ms (and v1's allow flag) go first
    body = i32(30000) + (bytes([1 if allow_rf_change else 0]) if version >= 1 else b"") + body
    for topic, partition, replicas in items:
        parts = i32(partition) + (uvarint(0) if replicas is None else
                                  uvarint(len(replicas) + 1) + b"".join(i32(r) for r in replicas)) + b"\x00"
        body += compact_string(topic) + uvarint(2) + parts + b"\x00"
    body += b"\x00"
    return frame(request_header(45, version, corr, flexible=True) + body)


def parse_alter(frame_bytes, version=0):
    r = Reader(frame_bytes)
    r.i32()  # correlation id
    r.skip_tags()
    r.i32()  # throttle
    if version >= 1:
        r.take(1)  # allow_replication_factor_change, echoed
    top = r.i16()
    n = r.uvarint()
    if n:
        r.take(n - 1)
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.take(r.uvarint() - 1).decode()
        for _ in range(r.uvarint() - 1):
            partition = r.i32()
            code = r.i16()
            m = r.uvarint()
            msg = r.take(m - 1).decode() if m else None
            r.skip_tags()
            out[(name, partition)] = (code, msg)
        r.skip_tags()
    return top, out


def test_bad_input_answers_kafkas_errors(cluster, tmp_path):
    via = not_controller(cluster)
    create_on(cluster, via, "t", [1, 2, 3])
    conn = Conn(via.port)
    _, versions = parse_api_versions(conn.request(api_versions_request(3, 1))[4:], 3)
    assert versions.get(45) == (0, 1) and versions.get(46) == (0, 0), versions
    # Forwarded by a broker that is not the active controller.
    top, res = parse_alter(conn.request(alter_request(2, [
        ("nope", 0, [1, 2, 3]), ("t", 7, [1, 2, 3]), ("t", 0, None)])))
    assert top == 0
    assert res[("nope", 0)][0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert res[("t", 7)][0] == 3
    assert res[("t", 0)] == (85, "No partition reassignment is in progress.")  # NO_REASSIGNMENT_IN_PROGRESS
    for bad in ([2, 2, 3], [2, 3, 9], []):
        top, res = parse_alter(conn.request(alter_request(3, [("t", 0, bad)])))
        assert res[("t", 0)][0] == 39, (bad, res)  # INVALID_REPLICA_ASSIGNMENT
    assert cluster.partition("t", via)[1] == [1, 2, 3]
    # v1 (KIP-860): a replica count change refused when not allowed, allowed by default.
    top, res = parse_alter(conn.request(alter_request(4, [("t", 0, [1, 2])], 1, False)), 1)
    assert res[("t", 0)] == (38, "The replication factor is changed from 3 to 2 but allowReplicationFactorChange "
                                 "is false"), res  # INVALID_REPLICATION_FACTOR
    shrink = tool(cluster, via, "--execute", "--disallow-replication-factor-change", "--reassignment-json-file",
                  plan_file(tmp_path, "shrink.json", {("t", 0): [1, 2]}), check=False)
    assert shrink.returncode == 1 and "allowReplicationFactorChange is false" in shrink.stderr, shrink.stderr
    assert cluster.partition("t", via)[1] == [1, 2, 3]
    for corr, order in ((5, [2, 3, 1]), (6, [1, 2, 3])):  # the same count, another order: allowed (and back)
        top, res = parse_alter(conn.request(alter_request(corr, [("t", 0, order)], 1, False)), 1)
        assert res[("t", 0)] == (0, None), res
        deadline = time.monotonic() + BOUND_S
        while list(AdminClient({"bootstrap.servers": via.bootstrap}).list_topics("t", timeout=5)
                   .topics["t"].partitions[0].replicas) != order and time.monotonic() < deadline:
            time.sleep(0.2)

    # The tool refuses the same before sending anything, as Kafka's does.
    dup = tool(cluster, via, "--execute", "--reassignment-json-file",
               plan_file(tmp_path, "dup.json", {("t", 0): [2, 2, 3]}), check=False)
    assert dup.returncode == 1
    assert "Partition replica lists may not contain duplicate entries: t-0 contains 2,2,3" in dup.stderr
    unknown = tool(cluster, via, "--execute", "--reassignment-json-file",
                   plan_file(tmp_path, "unknown.json", {("t", 0): [2, 3, 9]}), check=False)
    assert unknown.returncode == 1 and "Unknown broker id 9" in unknown.stderr
    missing = tool(cluster, via, "--execute", "--reassignment-json-file",
                   plan_file(tmp_path, "missing.json", {("nope", 0): [2, 3, 4]}), check=False)
    assert missing.returncode == 1 and "Unable to find partition: nope-0" in missing.stderr
    both = tool(cluster, via, "--list", "--verify", check=False)
    assert both.returncode == 1 and "exactly one action" in both.stderr

    # --generate proposes the topic over the brokers given, keeping its replication factor.
    topics = tmp_path / "topics.json"
    topics.write_text('{"version":1,"topics":[{"topic":"t"}]}')
    gen = tool(cluster, via, "--generate", "--topics-to-move-json-file", str(topics), "--broker-list", "2,3,4").stdout
    assert gen == ("Current partition replica assignment\n"
                   '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],'
                   '"log_dirs":["any","any","any"]}]}\n\n'
                   "Proposed partition reassignment configuration\n"
                   '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3,4],'
                   '"log_dirs":["any","any","any"]}]}\n'), gen
    assert "--reassignment-json-file" in tool(cluster, via, "--help").stdout
