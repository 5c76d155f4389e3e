"""Followers copy their leaders (issue 13, the follower side): three combined broker+controller
`samsa` processes (test_cluster_brokers' cluster), a topic with replication factor 3, records
produced with acks=1 to each partition's leader (confluent-kafka). Every replica's segment files
end up byte for byte the leader's (the follower appends the leader's batches with their offsets and
epochs), which `samsa dump-log-segments` on a follower's files confirms record by record; after the
leader is killed with SIGKILL a survivor leads and serves everything; and an old leader holding
records that never reached a follower (both followers frozen with SIGSTOP while it took them with
acks=1, then the leader killed) truncates them when it comes back as a follower (DivergingEpoch),
as Kafka documents acks=1 losing them.

The leader-side ISR / high-watermark wiring is another part of the issue: nothing here depends on
ISR changes. Every wait is a bounded poll; frozen processes are always SIGCONTed.
"""

import re
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import SAMSA_BIN
from test_cluster_brokers import BOUND_S, SESSION_TIMEOUT_MS
from test_cluster_brokers import cluster  # noqa: F401 (the three-node fixture)

REPLICATION_BOUND_S = 30.0
FAILOVER_BOUND_S = SESSION_TIMEOUT_MS / 1000 + BOUND_S


def leaders_of(cluster, via, topic, partitions):
    """{partition: leader} once `via` names a leader for every partition, else None."""
    try:
        md = cluster.metadata(via, topic).topics.get(topic)
    except Exception:  # noqa: BLE001 (the node may be restarting)
        return None
    if md is None or md.error is not None or len(md.partitions) != partitions:
        return None
    leaders = {p: md.partitions[p].leader for p in md.partitions}
    return leaders if all(lead > 0 for lead in leaders.values()) else None


def create_rf3_topic(cluster, name, partitions=3):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=3)],
                        operation_timeout=20)[name].result(timeout=30)
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        seen = [leaders_of(cluster, n, name, partitions) for n in cluster.nodes]
        if seen[0] is not None and all(s == seen[0] for s in seen):
            return seen[0]
        time.sleep(0.2)
    pytest.fail(f"topic {name} has no agreed leaders: {seen}\n{cluster.logs()}")


def produce(bootstrap, topic, values_by_partition, acks="1"):
    """Produces and returns {partition: [offsets]} in order; every delivery must succeed."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "message.timeout.ms": 30000})
    got, errors = {}, []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            got.setdefault(msg.partition(), []).append(msg.offset())

    for part, values in values_by_partition.items():
        for v in values:
            p.produce(topic, value=v.encode(), partition=part, on_delivery=on_delivery)
    assert p.flush(60) == 0 and not errors, errors
    return {part: sorted(offs) for part, offs in got.items()}


def log_files(node, topic, part):
    return sorted((node.dir / "data" / f"{topic}-{part}").glob("*.log"))


def log_bytes(node, topic, part):
    try:
        return b"".join(f.read_bytes() for f in log_files(node, topic, part))
    except OSError:
        return None


def wait_same_logs(cluster, topic, parts, nodes, bound=REPLICATION_BOUND_S):
    """Until every node in `nodes` holds, per partition, byte for byte the same non-empty log."""
    deadline = time.monotonic() + bound
    differ = None
    while time.monotonic() < deadline:
        differ = []
        for part in parts:
            copies = {n.id: log_bytes(n, topic, part) for n in nodes}
            first = copies[nodes[0].id]
            if not first or any(c != first for c in copies.values()):
                differ.append((part, {i: len(c) if c is not None else None for i, c in copies.items()}))
        if not differ:
            return
        time.sleep(0.2)
    pytest.fail(f"replicas of {topic} differ (partition, bytes per node): {differ}\n{cluster.logs()}")


def dumped_records(node, topic, part):
    """[(offset, payload)] of a replica's segment files, read by `samsa dump-log-segments`."""
    files = ",".join(str(f) for f in log_files(node, topic, part))
    r = subprocess.run([str(SAMSA_BIN), "dump-log-segments", "--files", files, "--print-data-log"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return [(int(m.group(1)), m.group(2))
            for m in re.finditer(r"^\| offset: (\d+) .* payload: (.*)$", r.stdout.decode(), re.M)]


def consume_all(bootstrap, topic, expected):
    """{partition: [(offset, value)]} read from the start until `expected` records per partition."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.monotonic_ns()}",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, part, 0) for part in expected])
    got = {part: [] for part in expected}
    deadline = time.monotonic() + BOUND_S
    try:
        while time.monotonic() < deadline and any(len(got[p]) < n for p, n in expected.items()):
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got[m.partition()].append((m.offset(), m.value().decode()))
    finally:
        c.close()
    return got


def wait_new_leaders(cluster, topic, partitions, victim, via):
    deadline = time.monotonic() + FAILOVER_BOUND_S
    leaders = None
    while time.monotonic() < deadline:
        leaders = leaders_of(cluster, via, topic, partitions)
        if leaders and victim.id not in leaders.values():
            return leaders
        time.sleep(0.2)
    pytest.fail(f"leadership of {topic} did not leave node {victim.id}: {leaders}\n{cluster.logs()}")


def test_followers_hold_the_leaders_records_at_the_same_offsets_and_take_over(cluster):
    leaders = create_rf3_topic(cluster, "replicated", partitions=3)
    values = {part: [f"p{part}-{i}" for i in range(40)] for part in range(3)}
    offsets = produce(cluster.bootstrap, "replicated", values)
    assert offsets == {part: list(range(40)) for part in range(3)}, offsets

    wait_same_logs(cluster, "replicated", range(3), cluster.nodes)
    for part, leader in leaders.items():
        for follower in (n for n in cluster.nodes if n.id != leader):
            assert dumped_records(follower, "replicated", part) == list(enumerate(values[part])), \
                f"partition {part} on follower {follower.id}"

    # The leader of partition 0 dies: a follower leads it and serves every record.
    victim = cluster.nodes[leaders[0] - 1]
    victim.stop(signal.SIGKILL)
    survivors = [n for n in cluster.nodes if n is not victim]
    new_leaders = wait_new_leaders(cluster, "replicated", 3, victim, survivors[0])
    bootstrap = ",".join(n.bootstrap for n in survivors)
    got = consume_all(bootstrap, "replicated", {part: 40 for part in range(3)})
    assert got == {part: list(enumerate(values[part])) for part in range(3)}, f"{new_leaders}\n{cluster.logs()}"

    # More records to the new leaders; the old leader comes back as a follower and catches up.
    more = {part: [f"p{part}-more-{i}" for i in range(10)] for part in range(3)}
    assert produce(bootstrap, "replicated", more) == {part: list(range(40, 50)) for part in range(3)}
    victim.start()
    wait_same_logs(cluster, "replicated", range(3), cluster.nodes, bound=REPLICATION_BOUND_S + BOUND_S)
    assert dumped_records(victim, "replicated", 0) == list(enumerate(values[0] + more[0]))


def test_an_old_leader_truncates_the_records_no_follower_had(cluster):
    controller = cluster.controller()
    leaders = create_rf3_topic(cluster, "diverge", partitions=3)
    # A partition led by a node that does not lead the quorum: killing it leaves the quorum whole.
    part = next(p for p, lead in sorted(leaders.items()) if lead != controller)
    old = cluster.nodes[leaders[part] - 1]
    followers = [n for n in cluster.nodes if n is not old]
    assert produce(cluster.bootstrap, "diverge", {part: [f"kept-{i}" for i in range(20)]})[part] == list(range(20))
    wait_same_logs(cluster, "diverge", [part], cluster.nodes)

    # Both followers frozen longer than a fetch's long poll, so none has a fetch waiting at the
    # leader that could carry the next records; the leader takes them (acks=1) and dies.
    for f in followers:
        f.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(1.5)
        lost = produce(old.bootstrap, "diverge", {part: [f"lost-{i}" for i in range(5)]})[part]
        assert lost == list(range(20, 25))
        old.stop(signal.SIGKILL)
    finally:
        for f in followers:
            f.proc.send_signal(signal.SIGCONT)
    new_leaders = wait_new_leaders(cluster, "diverge", 3, old, followers[0])
    bootstrap = ",".join(n.bootstrap for n in followers)
    after = produce(bootstrap, "diverge", {part: [f"after-{i}" for i in range(5)]})[part]
    assert after == list(range(20, 25)), f"{new_leaders}\n{cluster.logs()}"

    # The old leader returns as a follower: its log diverged at offset 20 and is cut there.
    old.start()
    wait_same_logs(cluster, "diverge", [part], cluster.nodes, bound=REPLICATION_BOUND_S + BOUND_S)
    expected = [f"kept-{i}" for i in range(20)] + [f"after-{i}" for i in range(5)]
    assert dumped_records(old, "diverge", part) == list(enumerate(expected))
    assert "diverged from broker" in old.log_tail(200000), old.log_tail()
