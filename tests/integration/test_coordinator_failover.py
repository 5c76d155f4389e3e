"""Coordinators follow partition leadership (issue 13), with three real `samsa` processes forming a
KRaft quorum (test_quorum_cluster's nodes) and __consumer_offsets / __transaction_state replicated
three times (offsets.topic.replication.factor, transaction.state.log.replication.factor = 3, as
Kafka's defaults): only the broker leading a group's __consumer_offsets partition answers for the
group, the others say NOT_COORDINATOR; when that broker is killed (kill -9) and fenced, leadership
moves, FindCoordinator names the new leader and it serves the group from its own log. The same
for a transactional id and its __transaction_state partition (InitProducerId).

Also the operator's views: `samsa topics --describe` with Kafka's report filters
(--under-replicated-partitions, --under-min-isr-partitions, --at-min-isr-partitions,
--unavailable-partitions) before and after a broker is lost.

Every wait is a bounded poll.
"""

import signal
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import rawkafka as rk
from conftest import SAMSA_BIN
from test_group_metadata import Raw as GroupRaw
from test_cluster_brokers import Cluster as BrokersCluster

BOUND_S = 30.0
SESSION_TIMEOUT_MS = 4000  # broker.session.timeout.ms: a killed broker is fenced quickly
OFFSETS_PARTITIONS = 3

NONE = 0
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16

BROKER_CONFIGS = {
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    "offsets.topic.num.partitions": str(OFFSETS_PARTITIONS),
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.num.partitions": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "group.initial.rebalance.delay.ms": "0",
}


class Cluster(BrokersCluster):
    """test_cluster_brokers' three nodes with the internal topics replicated three times."""

    def __init__(self, root, n=3):
        super().__init__(root, n, BROKER_CONFIGS)

    def live(self):
        return [n for n in self.nodes if n.alive()]


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    for n in c.nodes:
        n.start()
    try:
        c.wait_brokers([1, 2, 3])
        yield c
    finally:
        for n in c.nodes:
            n.stop()


# ---- raw group requests (non-flexible versions) ---------------------------------------------------

class Raw(GroupRaw):
    """test_group_metadata's raw client, plus FindCoordinator v1 and OffsetFetch v3 answers that
    keep their errors."""

    def __init__(self, node):
        super().__init__(node.port)

    def find_coordinator(self, key, key_type=0):
        """FindCoordinator v1 (key type 0: a group, 1: a transactional id) -> (error, node id)."""
        r = self.call(10, 1, rk.string(key) + rk.i8(key_type))
        r.i32()  # throttle
        err = r.i16()
        r.string()  # error message (nullable)
        node_id = r.i32()
        return err, node_id

    def init_producer_id(self, transactional_id):
        """InitProducerId v1 -> (error, (producer id, epoch))."""
        r = self.call(22, 1, rk.string(transactional_id) + rk.i32(60000))
        r.i32()  # throttle
        err = r.i16()
        return err, (r.i64(), r.i16())

    def add_offsets_to_txn(self, transactional_id, pid, epoch, group):
        """AddOffsetsToTxn v1 -> error."""
        r = self.call(25, 1, rk.string(transactional_id) + rk.i64(pid) + rk.i16(epoch) + rk.string(group))
        r.i32()  # throttle
        return r.i16()

    def commit(self, group, topic, offsets):
        """OffsetCommit v2, a simple (non-member) commit: {partition: offset} -> {partition: error}."""
        return self.commit_v2(group, topic, offsets, -1)

    def fetch(self, group, topic, partitions):
        """OffsetFetch v3 -> (group error, {partition: (offset, error)})."""
        body = rk.string(group) + rk.i32(1) + rk.string(topic) + rk.i32(len(partitions))
        for p in partitions:
            body += rk.i32(p)
        r = self.call(9, 3, body)
        r.i32()  # throttle
        out = {}
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                p, o = r.i32(), r.i64()
                r.string()
                out[p] = (o, r.i16())
        return r.i16(), out


def call_on(node, fn):
    raw = Raw(node)
    try:
        return fn(raw)
    finally:
        raw.close()


def find_coordinator(cluster, group, among, exclude=(), bound=BOUND_S, key_type=0):
    """The node id every live node in `among` names as the coordinator of `group` (a transactional
    id with key_type 1), not one of `exclude`."""
    deadline = time.monotonic() + bound
    seen = None
    while time.monotonic() < deadline:
        seen = {}
        for n in among:
            try:
                seen[n.id] = call_on(n, lambda raw: raw.find_coordinator(group, key_type))
            except OSError as e:
                seen[n.id] = repr(e)
        answers = set(seen.values())
        if len(answers) == 1:
            answer = answers.pop()
            if isinstance(answer, tuple) and answer[0] == NONE and answer[1] not in exclude:
                return answer[1]
        time.sleep(0.2)
    pytest.fail(f"FindCoordinator({group}) answers {seen}\n{cluster.logs()}")


def until_served(cluster, node, fn, bound=BOUND_S):
    """Retries `fn(raw)` on `node` while it answers COORDINATOR_LOAD_IN_PROGRESS or NOT_COORDINATOR
    (its image may still be behind); returns the first other answer's (error, value)."""
    deadline = time.monotonic() + bound
    last = None
    while time.monotonic() < deadline:
        last = call_on(node, fn)
        if last[0] not in (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR):
            return last
        time.sleep(0.2)
    pytest.fail(f"node {node.id} still answers {last}\n{cluster.logs()}")


def create_topic(cluster, name, partitions=1, rf=3, configs=None, assignment=None):
    admin = AdminClient({"bootstrap.servers": ",".join(n.bootstrap for n in cluster.live())})
    if assignment is not None:
        topic = NewTopic(name, len(assignment), replica_assignment=assignment, config=configs or {})
    else:
        topic = NewTopic(name, num_partitions=partitions, replication_factor=rf, config=configs or {})
    admin.create_topics([topic], operation_timeout=20)[name].result(timeout=30)


def commit_on(group, topic, offset):
    def go(raw):
        errs = raw.commit(group, topic, {0: offset})
        return errs[0], errs
    return go


def fetch_on(group, topic):
    def go(raw):
        err, parts = raw.fetch(group, topic, [0])
        return err, parts
    return go


def kill_and_wait_fenced(cluster, victim):
    victim.stop(signal.SIGKILL)
    cluster.wait_brokers([n.id for n in cluster.nodes if n is not victim],
                         bound=SESSION_TIMEOUT_MS / 1000 + BOUND_S)


# ---- the coordinator moves with the leadership of its partition -------------------------------------

def test_only_the_leader_of_the_groups_partition_coordinates_and_leadership_moves_it(cluster):
    create_topic(cluster, "orders", rf=3)
    group = "failover-group"
    coordinator = find_coordinator(cluster, group, cluster.nodes)
    leader = cluster.node(coordinator)
    assert until_served(cluster, leader, commit_on(group, "orders", 42))[0] == NONE
    err, parts = call_on(leader, fetch_on(group, "orders"))
    assert (err, parts) == (NONE, {0: (42, NONE)})

    # The other brokers hold replicas of the partition but do not coordinate the group.
    for other in (n for n in cluster.nodes if n is not leader):
        assert call_on(other, lambda raw: raw.commit(group, "orders", {0: 7})) == {0: NOT_COORDINATOR}
        assert call_on(other, fetch_on(group, "orders"))[0] == NOT_COORDINATOR

    # The coordinator dies; once it is fenced its leaderships move to the other replicas.
    kill_and_wait_fenced(cluster, leader)
    survivors = cluster.live()
    moved = find_coordinator(cluster, group, survivors, exclude=(leader.id,))
    new_leader = cluster.node(moved)
    # The new leader loaded the group from its own log and serves it: commits and fetches work.
    err, parts = until_served(cluster, new_leader, fetch_on(group, "orders"))
    assert err == NONE and parts[0][1] == NONE, parts
    assert until_served(cluster, new_leader, commit_on(group, "orders", 43))[0] == NONE
    assert call_on(new_leader, fetch_on(group, "orders")) == (NONE, {0: (43, NONE)})
    for other in (n for n in survivors if n is not new_leader):
        assert call_on(other, fetch_on(group, "orders"))[0] == NOT_COORDINATOR

    # The old coordinator comes back as a follower of the partition (its leadership stays moved
    # unless a preferred election happens): whoever FindCoordinator names answers for the group.
    leader.start()
    cluster.wait_brokers([1, 2, 3], bound=BOUND_S)
    now = find_coordinator(cluster, group, cluster.nodes)
    assert until_served(cluster, cluster.node(now), commit_on(group, "orders", 44))[0] == NONE
    for other in (n for n in cluster.nodes if n.id != now):
        assert call_on(other, fetch_on(group, "orders"))[0] == NOT_COORDINATOR


def test_the_transaction_coordinator_follows_its_partitions_leadership(cluster):
    txn_id = "failover-txn"
    # __consumer_offsets is created while three brokers live (its replication factor is 3).
    find_coordinator(cluster, "txn-group-0", cluster.nodes)
    coordinator = find_coordinator(cluster, txn_id, cluster.nodes, key_type=1)
    leader = cluster.node(coordinator)
    err, (pid, _) = until_served(cluster, leader, lambda raw: raw.init_producer_id(txn_id))
    assert err == NONE and pid >= 0
    for other in (n for n in cluster.nodes if n is not leader):
        assert call_on(other, lambda raw: raw.init_producer_id(txn_id))[0] == NOT_COORDINATOR

    kill_and_wait_fenced(cluster, leader)
    moved = cluster.node(find_coordinator(cluster, txn_id, cluster.live(), exclude=(leader.id,), key_type=1))
    # The new leader loaded the id's partition from its own log and serves InitProducerId.
    err, (pid, epoch) = until_served(cluster, moved, lambda raw: raw.init_producer_id(txn_id))
    assert err == NONE and pid >= 0
    for other in (n for n in cluster.live() if n is not moved):
        assert call_on(other, lambda raw: raw.init_producer_id(txn_id))[0] == NOT_COORDINATOR
    # A consumer group coordinated by another broker joins the transaction: the transaction
    # coordinator only records the group's __consumer_offsets partition.
    group = next(g for g in (f"txn-group-{i}" for i in range(64))
                 if find_coordinator(cluster, g, cluster.live()) != moved.id)
    assert call_on(moved, lambda raw: raw.add_offsets_to_txn(txn_id, pid, epoch, group)) == NONE


# The offset commit is replicated to the other replicas of __consumer_offsets before it is
# answered (acks=all over the ISR), so the new coordinator's log holds it.
def test_committed_offsets_survive_the_loss_of_their_coordinator(cluster):
    create_topic(cluster, "ledger", rf=3)
    group = "durable-group"
    coordinator = find_coordinator(cluster, group, cluster.nodes)
    leader = cluster.node(coordinator)
    assert until_served(cluster, leader, commit_on(group, "ledger", 1234))[0] == NONE
    kill_and_wait_fenced(cluster, leader)
    moved = find_coordinator(cluster, group, cluster.live(), exclude=(leader.id,))
    err, parts = until_served(cluster, cluster.node(moved), fetch_on(group, "ledger"))
    assert (err, parts) == (NONE, {0: (1234, NONE)}), f"{parts}\n{cluster.logs()}"


def test_exactly_once_through_the_loss_of_the_transaction_coordinator(cluster):
    """A consume-transform-produce loop (txn_transform.py: read_committed input, transactional
    output, offsets sent to the transaction, every third transaction aborted on purpose) keeps
    exactly-once while the broker coordinating its transactional id is killed -9 in mid-run:
    the next leader of the id's __transaction_state partition completes or aborts what was in
    flight, the loop carries on, and the committed output holds every input record once, in input
    order per partition."""
    import sys
    from collections import Counter
    from pathlib import Path
    from confluent_kafka import Producer
    from helpers import read_to_end
    n, partitions = 12_000, 3
    in_topic, out_topic = "eos-failover-in", "eos-failover-out"
    create_topic(cluster, in_topic, partitions=partitions, rf=3)
    create_topic(cluster, out_topic, partitions=partitions, rf=3)
    bootstrap = ",".join(node.bootstrap for node in cluster.nodes)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "broker.address.family": "v4"})
    for i in range(n):
        p.produce(in_topic, value=f"{i:06d}".encode(), partition=i % partitions)
        if i % 5000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    txn_id = "eos-failover-txn"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / "txn_transform.py"), bootstrap,
                             in_topic, out_topic, str(partitions), "eos-failover-group", txn_id, "-1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and not line.startswith("COMMITTED 2"):
            line = proc.stdout.readline()
            assert line, f"the transformer ended early: {proc.stderr.read()[-3000:]}"
        assert line.startswith("COMMITTED 2")
        victim = cluster.node(find_coordinator(cluster, txn_id, cluster.nodes, key_type=1))
        kill_and_wait_fenced(cluster, victim)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, f"transformer failed:\n{out[-2000:]}\n{err[-5000:]}\n{cluster.logs()}"
    assert "DONE" in out
    live = ",".join(node.bootstrap for node in cluster.live())
    committed = read_to_end(live, out_topic, partitions, "read_committed")
    counts = Counter(v for vs in committed.values() for v in vs)
    expected = {f"out:{i:06d}".encode() for i in range(n)}
    assert set(counts) == expected, f"missing {len(expected - set(counts))}, extra {len(set(counts) - expected)}"
    assert not [v for v, c in counts.items() if c > 1], "records committed more than once"
    for part, values in committed.items():
        assert values == [f"out:{i:06d}".encode() for i in range(part, n, partitions)]


# ---- topics --describe and its report filters ---------------------------------------------------------

def topics_describe(cluster, *flags):
    bootstrap = ",".join(n.bootstrap for n in cluster.live())
    out = subprocess.run([str(SAMSA_BIN), "topics", "--bootstrap-server", bootstrap, "--describe", *flags],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def partition_lines(text, topic):
    return [l for l in text.splitlines() if l.startswith(f"\tTopic: {topic}\t")]


def wait_describe(cluster, flags, want, bound=BOUND_S):
    """Polls `topics --describe flags` until `want(stdout)`; returns the stdout."""
    deadline = time.monotonic() + bound
    text = ""
    while time.monotonic() < deadline:
        text = topics_describe(cluster, *flags)
        if want(text):
            return text
        time.sleep(0.3)
    pytest.fail(f"topics --describe {' '.join(flags)} never matched:\n{text}\n{cluster.logs()}")


def test_topics_describe_shows_leader_replicas_isr_and_kafkas_report_filters(cluster):
    victim = cluster.node(3)
    create_topic(cluster, "trio", rf=3, configs={"min.insync.replicas": "2"})
    create_topic(cluster, "strict", rf=3, configs={"min.insync.replicas": "3"})
    create_topic(cluster, "solo", assignment=[[victim.id]])

    text = topics_describe(cluster, "--topic", "trio")
    header = [l for l in text.splitlines() if l.startswith("Topic: trio\t")]
    assert len(header) == 1 and "\tPartitionCount: 1\tReplicationFactor: 3\t" in header[0], text
    [line] = partition_lines(text, "trio")
    fields = dict(f.split(": ", 1) for f in line.strip("\t").split("\t"))
    assert fields["Partition"] == "0" and fields["Leader"] in {"1", "2", "3"}
    assert sorted(fields["Replicas"].split(",")) == ["1", "2", "3"]
    assert sorted(fields["Isr"].split(",")) == ["1", "2", "3"]

    # Everything healthy: `strict` (ISR 3 == min.insync.replicas 3) and `solo` (ISR 1 == the
    # default 1) are at their minimum.
    assert topics_describe(cluster, "--under-replicated-partitions", "--exclude-internal") == ""
    assert topics_describe(cluster, "--unavailable-partitions", "--exclude-internal") == ""
    assert topics_describe(cluster, "--under-min-isr-partitions", "--exclude-internal") == ""
    at_min = topics_describe(cluster, "--at-min-isr-partitions", "--exclude-internal")
    assert sorted(l.split("\t")[1] for l in at_min.splitlines()) == ["Topic: solo", "Topic: strict"], at_min
    assert not any(l.startswith("Topic:") for l in at_min.splitlines())  # no topic header lines

    # A filter goes with --describe only, one at a time, as kafka-topics.sh.
    both = subprocess.run([str(SAMSA_BIN), "topics", "--bootstrap-server", victim.bootstrap, "--describe",
                           "--under-replicated-partitions", "--unavailable-partitions"],
                          capture_output=True, text=True, timeout=30)
    assert both.returncode != 0 and "can't be used with option" in both.stderr

    # Broker 3 is lost: fencing takes it out of every ISR and leadership.
    kill_and_wait_fenced(cluster, victim)
    unavailable = wait_describe(cluster, ["--unavailable-partitions", "--exclude-internal"],
                                lambda t: partition_lines(t, "solo"))
    assert partition_lines(unavailable, "solo") == [f"\tTopic: solo\tPartition: 0\tLeader: none\tReplicas: {victim.id}"
                                                   f"\tIsr: {victim.id}"], unavailable
    assert not partition_lines(unavailable, "trio")  # led by a live broker

    under = wait_describe(cluster, ["--under-replicated-partitions", "--exclude-internal"],
                          lambda t: partition_lines(t, "trio") and partition_lines(t, "strict"))
    [trio] = partition_lines(under, "trio")
    assert trio.endswith("\tIsr: 1,2") or trio.endswith("\tIsr: 2,1"), trio
    # ISR 2: `trio` (min 2) is at its minimum, `strict` (min 3) below it; the leaderless `solo`
    # is below it too (Kafka: no leader), and still at it (its ISR keeps the last member).
    at_min = topics_describe(cluster, "--at-min-isr-partitions", "--exclude-internal")
    assert sorted(l.split("\t")[1] for l in at_min.splitlines()) == ["Topic: solo", "Topic: trio"], at_min
    below = topics_describe(cluster, "--under-min-isr-partitions", "--exclude-internal")
    assert sorted(l.split("\t")[1] for l in below.splitlines()) == ["Topic: solo", "Topic: strict"], below
