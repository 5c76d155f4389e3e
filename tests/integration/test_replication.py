"""Partition replication on three real brokers (issue 13): followers fetch from their leader,
the leader's ISR shrinks when a follower stops fetching for replica.lag.time.max.ms and grows
back once it has caught up (AlterPartition through the controller, seen in Metadata), acks=all
waits for the ISR and is refused with NOT_ENOUGH_REPLICAS below min.insync.replicas while
acks=1 is still taken, and records acknowledged with acks=all survive a kill -9 of their leader.

Stopped nodes are SIGSTOPped (silent, not dead) and always SIGCONTed before the test ends;
every wait is a bounded poll.
"""

import signal
import time

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from helpers import consume_all
from test_cluster_brokers import BROKER_CONFIGS
from test_cluster_brokers import Cluster as BrokersCluster

BOUND_S = 40.0
LAG_MS = 3000  # replica.lag.time.max.ms, lowered so an ISR shrink is seen quickly

CONFIGS = {
    **BROKER_CONFIGS,
    "replica.lag.time.max.ms": str(LAG_MS),
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
}


class Cluster(BrokersCluster):
    """test_cluster_brokers' three nodes with a short replica.lag.time.max.ms."""

    def __init__(self, root, n=3):
        super().__init__(root, n, CONFIGS)

    def partition(self, topic, via, partition=0):
        """(leader, replicas, isr) of one partition as `via`'s Metadata shows it, or None."""
        try:
            md = AdminClient({"bootstrap.servers": via.bootstrap}).list_topics(topic=topic, timeout=5)
        except Exception:  # the node may be restarting
            return None
        t = md.topics.get(topic)
        if t is None or t.error is not None or partition not in t.partitions:
            return None
        p = t.partitions[partition]
        return p.leader, sorted(p.replicas), sorted(p.isrs)

    def wait_partition(self, topic, want, via=None, bound=BOUND_S, what="", partition=0):
        """Polls until `want(leader, replicas, isr)` of `partition` holds on `via` (any live node);
        returns the state."""
        deadline = time.monotonic() + bound
        seen = None
        while time.monotonic() < deadline:
            for n in [via] if via else [n for n in self.nodes if n.alive()]:
                seen = self.partition(topic, n, partition)
                if seen is not None and want(*seen):
                    return seen
            time.sleep(0.2)
        pytest.fail(f"{topic}: {what} not reached, last seen {seen}\n{self.logs()}")


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    for n in c.nodes:
        n.start()
    try:
        yield c
    finally:
        for n in c.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGCONT)
        for n in c.nodes:
            n.stop()


def create_replicated(cluster, name, partitions=1, min_isr=2, bound=BOUND_S):
    deadline = time.monotonic() + bound
    last = None
    while time.monotonic() < deadline:
        try:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            fut = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=3,
                                                config={"min.insync.replicas": str(min_isr)})],
                                      operation_timeout=20)[name]
            fut.result(timeout=30)
            break
        except Exception as e:  # the cluster may still be forming (fewer than three brokers)
            last = e
            time.sleep(0.5)
    else:
        pytest.fail(f"creating {name} failed: {last}\n{cluster.logs()}")
    for p in range(partitions):
        cluster.wait_partition(name, lambda l, r, i: l > 0 and len(i) == 3, what=f"partition {p} with ISR of 3")


def produce(bootstrap, topic, values, acks="all", timeout_ms=15000):
    """Produces `values` (idempotence off, no retries: each answer is the broker's own) and
    returns {value: (error code or None, offset)}."""
    results = {}
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": False, "retries": 0,
                  "message.timeout.ms": timeout_ms, "request.timeout.ms": timeout_ms, "linger.ms": 5})

    def report(err, msg):
        results[msg.value().decode()] = (err.code() if err else None, msg.offset())

    for v in values:
        p.produce(topic, value=v.encode(), partition=0, on_delivery=report)
        p.poll(0)
    p.flush(timeout_ms / 1000 + 10)
    assert len(results) == len(values), f"{len(values) - len(results)} delivery reports missing"
    return results


def set_min_isr(via, topic, value):
    admin = AdminClient({"bootstrap.servers": via.bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"min.insync.replicas": str(value)})
    admin.alter_configs([res])[res].result(timeout=30)


def test_isr_shrinks_grows_and_min_insync_guards_acks_all(cluster):
    topic = "replicated-isr"
    create_replicated(cluster, topic, min_isr=2)
    leader, replicas, _ = cluster.wait_partition(topic, lambda l, r, i: len(i) == 3, what="ISR of 3")
    first = produce(cluster.bootstrap, topic, [f"a{i}" for i in range(20)])
    assert all(err is None for err, _ in first.values()), first

    # One follower silent past replica.lag.time.max.ms leaves the ISR (two of three voters
    # keep the metadata quorum); two in sync still satisfy min.insync.replicas=2.
    silent = [r for r in replicas if r != leader][0]
    cluster.node(silent).proc.send_signal(signal.SIGSTOP)
    try:
        in_sync = sorted(r for r in replicas if r != silent)
        cluster.wait_partition(topic, lambda l, r, i: i == in_sync, via=cluster.node(leader),
                               what=f"ISR without {silent}")
        second = produce(cluster.node(leader).bootstrap, topic, [f"b{i}" for i in range(10)])
        assert all(err is None for err, _ in second.values()), second

        # min.insync.replicas=3 with an ISR of two: acks=all refused before the append,
        # acks=1 still taken.
        set_min_isr(cluster.node(leader), topic, 3)
        refused = produce(cluster.node(leader).bootstrap, topic, ["c0", "c1"], timeout_ms=5000)
        assert {err for err, _ in refused.values()} == {KafkaError.NOT_ENOUGH_REPLICAS}, refused
        taken = produce(cluster.node(leader).bootstrap, topic, ["d0", "d1"], acks="1")
        assert all(err is None for err, _ in taken.values()), taken
    finally:
        cluster.node(silent).proc.send_signal(signal.SIGCONT)

    # Back: the follower catches up and rejoins; acks=all with three in sync is taken again.
    cluster.wait_partition(topic, lambda l, r, i: len(i) == 3, via=cluster.node(leader), what="ISR of 3 again")
    third = produce(cluster.bootstrap, topic, [f"e{i}" for i in range(10)])
    assert all(err is None for err, _ in third.values()), third

    acked = {v: off for part in (first, second, taken, third) for v, (err, off) in part.items()}
    got = consume_all(cluster.bootstrap, topic, [0], timeout=60)
    seen = {r.value.decode(): r.offset for r in got[0]}
    assert "c0" not in seen and "c1" not in seen, "a refused acks=all record was stored"
    for v, off in acked.items():
        assert seen.get(v) == off, f"{v} acknowledged at {off}, read at {seen.get(v)}"


def test_acks_all_records_survive_a_kill_of_their_leader(cluster):
    topic = "replicated-failover"
    create_replicated(cluster, topic, min_isr=2)
    leader, _, _ = cluster.wait_partition(topic, lambda l, r, i: len(i) == 3, what="ISR of 3")
    acked = produce(cluster.bootstrap, topic, [f"v{i}" for i in range(200)])
    assert all(err is None for err, _ in acked.values()), acked

    cluster.node(leader).stop(signal.SIGKILL)
    new_leader, _, isr = cluster.wait_partition(topic, lambda l, r, i: l > 0 and l != leader,
                                                what="a new leader after the kill")
    assert new_leader != leader and new_leader in isr

    more = produce(cluster.bootstrap, topic, [f"w{i}" for i in range(50)])
    assert all(err is None for err, _ in more.values()), more
    got = consume_all(cluster.bootstrap, topic, [0], timeout=60)
    seen = {r.value.decode(): r.offset for r in got[0]}
    for v, (_, off) in list(acked.items()) + list(more.items()):
        assert seen.get(v) == off, f"{v} acknowledged at {off}, read at {seen.get(v)}"
    assert len(got[0]) == len(seen), "a record was read twice"

    # The old leader comes back as a follower and catches up.
    cluster.node(leader).start()
    cluster.wait_partition(topic, lambda l, r, i: len(i) == 3 and leader in i, what="the old leader back in the ISR")


def log_dirs(via, *args, describe=True):
    import subprocess
    from conftest import SAMSA_BIN
    action = ["--describe"] if describe else []
    return subprocess.run([str(SAMSA_BIN), "log-dirs", "--bootstrap-server", via.bootstrap, *action, *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_log_dirs_tool_shows_every_replica_with_its_size_and_lag(cluster):
    """`samsa log-dirs --describe` (kafka-log-dirs.sh) asks every broker for DescribeLogDirs: each
    of the three lists its log dir with every replica it holds, the produced partition with its
    size, and an offset lag of 0 once the followers have caught up; --topic-list and --broker-list
    narrow it; an unknown broker is refused as Kafka refuses it."""
    import json
    create_replicated(cluster, "ld-a", partitions=2)
    create_replicated(cluster, "ld-b")
    values = [f"v{i}" for i in range(50)]
    assert all(err is None for err, _ in produce(cluster.bootstrap, "ld-a", values).values())
    via = cluster.node(1)
    deadline = time.monotonic() + BOUND_S
    doc = None
    while time.monotonic() < deadline:
        r = log_dirs(via, "--topic-list", "ld-a,ld-b")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "Querying brokers for log directories information"
        assert lines[1] == "Received log directory information from brokers 1,2,3"
        doc = json.loads(lines[2])
        parts = {b["broker"]: {p["partition"]: p for d in b["logDirs"] for p in d["partitions"]}
                 for b in doc["brokers"]}
        if all(parts[b]["ld-a-0"]["size"] > 0 and parts[b]["ld-a-0"]["offsetLag"] == 0 for b in (1, 2, 3)):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"replicas not caught up in log-dirs: {doc}\n{cluster.logs()}")
    assert doc["version"] == 1 and [b["broker"] for b in doc["brokers"]] == [1, 2, 3]
    for b in doc["brokers"]:
        assert len(b["logDirs"]) == 1 and b["logDirs"][0]["error"] is None
        assert str(cluster.node(b["broker"]).dir) in b["logDirs"][0]["logDir"]
        assert sorted(p["partition"] for p in b["logDirs"][0]["partitions"]) == ["ld-a-0", "ld-a-1", "ld-b-0"]
        assert all(p["isFuture"] is False for p in b["logDirs"][0]["partitions"])
    # Every replica of ld-a-0 holds the same bytes.
    assert len({parts[b]["ld-a-0"]["size"] for b in (1, 2, 3)}) == 1

    r = log_dirs(via, "--topic-list", "ld-b", "--broker-list", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == "Received log directory information from brokers 2"
    doc = json.loads(r.stdout.splitlines()[2])
    assert [b["broker"] for b in doc["brokers"]] == [2]
    assert [p["partition"] for p in doc["brokers"][0]["logDirs"][0]["partitions"]] == ["ld-b-0"]

    r = log_dirs(via, "--broker-list", "2,9")
    assert r.returncode != 0
    assert "The given brokers do not exist from --broker-list: 9. Current existent brokers: 1,2,3" in r.stderr
    r = log_dirs(via, describe=False)
    assert r.returncode != 0 and "--describe" in r.stderr
