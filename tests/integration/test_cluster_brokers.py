"""The brokers of a three-node cluster as clients see them (issue 12): three combined
broker+controller `samsa` processes (a PLAINTEXT and a CONTROLLER listener each, the same
controller.quorum.voters). librdkafka (confluent-kafka) and kafkajs see three brokers and the
active controller; a topic created through any broker has its leaders spread over the three and
every partition takes and serves records wherever it is led (confluent-kafka, kcat, kafkajs);
a broker killed with SIGKILL is fenced once its session expires: gone from Metadata, its RF=1
partitions offline.

Every wait is a bounded poll.
"""

import shutil
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST
from test_kafkajs import node_modules, run_node  # noqa: F401 (the fixture installs kafkajs)
from test_quorum_cluster import Node as QuorumNode
from test_quorum_cluster import free_ports

BOUND_S = 30.0
SESSION_TIMEOUT_MS = 4000  # broker.session.timeout.ms, lowered so a fencing is seen quickly


BROKER_CONFIGS = {
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "6",
}


class Node(QuorumNode):
    """A quorum node (test_quorum_cluster.Node) with quick heartbeats and sessions."""

    def __init__(self, node_id, root, port, controller_port, http_port, voters, configs=None):
        super().__init__(node_id, root, port, controller_port, http_port, voters, configs or BROKER_CONFIGS)

    @property
    def bootstrap(self):
        return f"{HOST}:{self.port}"

    def stop(self, sig=signal.SIGTERM, timeout=30):
        return super().stop(sig, timeout)

    def quorum_leader(self):
        d = self.describe_quorum()
        return d[1] if d is not None and d[0] == 0 else None


class Cluster:
    def __init__(self, root, n=3, configs=None):
        self.root = root
        ports = free_ports(3 * n)
        voters = ",".join(f"{i + 1}@{HOST}:{ports[3 * i + 1]}" for i in range(n))
        self.nodes = [Node(i + 1, root, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], voters, configs)
                      for i in range(n)]

    def node(self, node_id):
        return self.nodes[node_id - 1]

    @property
    def bootstrap(self):
        return ",".join(n.bootstrap for n in self.nodes if n.alive())

    def logs(self):
        return "\n".join(f"--- node {n.id} ---\n{n.log_tail()}" for n in self.nodes)

    def find_controller(self, bound=BOUND_S):
        """The node leading the quorum (DescribeQuorum on the CONTROLLER listeners), or None."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            for n in self.nodes:
                if n.alive() and n.quorum_leader() == n.id:
                    return n.id
            time.sleep(0.1)
        return None

    def controller(self):
        leader = self.find_controller()
        if leader is None:
            pytest.fail(f"no active controller within {BOUND_S} s\n{self.logs()}")
        return leader

    def metadata(self, node, topic=None):
        admin = AdminClient({"bootstrap.servers": node.bootstrap})
        return admin.list_topics(topic=topic, timeout=10)

    def wait_brokers(self, expected, via=None, bound=BOUND_S):
        """Polls Metadata on `via` (every live node) until it lists exactly the brokers `expected`."""
        deadline = time.monotonic() + bound
        seen = None
        while time.monotonic() < deadline:
            seen = {}
            for n in via or [n for n in self.nodes if n.alive()]:
                try:
                    seen[n.id] = sorted(self.metadata(n).brokers)
                except Exception as e:  # the node may not answer yet
                    seen[n.id] = repr(e)
            if all(v == sorted(expected) for v in seen.values()):
                return
            time.sleep(0.2)
        pytest.fail(f"brokers seen {seen}, expected {sorted(expected)}\n{self.logs()}")


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    for n in c.nodes:
        n.start()
    try:
        c.controller()  # fails the test when no node leads the quorum in time
        c.wait_brokers([1, 2, 3])
        yield c
    finally:
        for n in c.nodes:
            n.stop()


def create_spread_topic(cluster, via, name, partitions=6):
    admin = AdminClient({"bootstrap.servers": via.bootstrap})
    fut = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                              operation_timeout=20)[name]
    fut.result(timeout=30)
    # The broker answered once its own image showed the topic; every other one follows.
    deadline = time.monotonic() + BOUND_S
    leaders = {}
    while time.monotonic() < deadline:
        md = cluster.metadata(via, name).topics.get(name)
        if md is not None and md.error is None and len(md.partitions) == partitions:
            leaders = {p: md.partitions[p].leader for p in md.partitions}
            if all(l > 0 for l in leaders.values()):
                return leaders
        time.sleep(0.2)
    pytest.fail(f"topic {name} not complete on node {via.id}: {leaders}\n{cluster.logs()}")


def test_clients_see_three_brokers_and_the_active_controller(cluster):
    controller = cluster.controller()
    for n in cluster.nodes:
        md = cluster.metadata(n)
        assert sorted(md.brokers) == [1, 2, 3]
        for b in md.brokers.values():
            assert (b.host, b.port) == (HOST, cluster.nodes[b.id - 1].port)
        assert md.controller_id == controller, f"node {n.id} names {md.controller_id}, the quorum leads {controller}"
    # kafkajs: describeCluster through one broker, and a topic used end to end.
    leaders = create_spread_topic(cluster, cluster.nodes[0], "js-cluster", partitions=3)
    res = run_node("cluster_view.js", {"brokers": [n.bootstrap for n in cluster.nodes], "topic": "js-cluster",
                                       "partitions": 3})
    assert sorted(b["nodeId"] for b in res["cluster"]["brokers"]) == [1, 2, 3]
    assert res["cluster"]["controller"] == controller
    (tmd,) = res["metadata"]["topics"]
    assert {p["partitionId"]: p["leader"] for p in tmd["partitions"]} == leaders
    assert sorted(int(p) for p in res["got"]) == [0, 1, 2]


def test_a_topic_created_through_any_broker_is_spread_and_served_everywhere(cluster):
    controller = cluster.controller()
    via = next(n for n in cluster.nodes if n.id != controller)  # forwarded to the controller
    leaders = create_spread_topic(cluster, via, "spread", partitions=6)
    assert set(leaders.values()) == {1, 2, 3}, leaders
    counts = [list(leaders.values()).count(b) for b in (1, 2, 3)]
    assert counts == [2, 2, 2], leaders

    # confluent-kafka: one record per partition, acks=all, each to its own leader.
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    delivered = {}
    for part in range(6):
        p.produce("spread", value=f"ck-{part}".encode(), partition=part,
                  on_delivery=lambda err, msg: delivered.__setitem__(msg.partition(), (err, msg.offset())))
    assert p.flush(30) == 0
    assert sorted(delivered) == list(range(6)) and all(err is None for err, _ in delivered.values()), delivered

    # kcat: one more record per partition.
    kcat = shutil.which("kcat")
    assert kcat, "kcat is needed"
    for part in range(6):
        r = subprocess.run([kcat, "-P", "-b", cluster.bootstrap, "-t", "spread", "-p", str(part)],
                           input=f"kcat-{part}\n".encode(), capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()

    # Both records of every partition read back with confluent-kafka and with kcat.
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "spread-check", "enable.auto.commit": False})
    c.assign([TopicPartition("spread", part, 0) for part in range(6)])
    got = {}
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline and sum(len(v) for v in got.values()) < 12:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.setdefault(m.partition(), []).append(m.value().decode())
    c.close()
    assert got == {part: [f"ck-{part}", f"kcat-{part}"] for part in range(6)}, got
    for part in range(6):
        r = subprocess.run([kcat, "-C", "-b", cluster.bootstrap, "-t", "spread", "-p", str(part), "-o", "beginning",
                            "-e", "-f", "%s\\n"], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout.decode().split() == [f"ck-{part}", f"kcat-{part}"]


def test_a_killed_broker_is_fenced_and_its_partitions_go_offline(cluster):
    controller = cluster.controller()
    leaders = create_spread_topic(cluster, cluster.nodes[0], "fenced", partitions=6)
    victim = next(n for n in cluster.nodes if n.id != controller)
    led = sorted(p for p, l in leaders.items() if l == victim.id)
    assert led, leaders
    victim.stop(signal.SIGKILL)
    survivors = [n for n in cluster.nodes if n is not victim]
    # Fenced after broker.session.timeout.ms without heartbeats: no survivor lists it.
    cluster.wait_brokers([n.id for n in survivors], via=survivors, bound=SESSION_TIMEOUT_MS / 1000 + BOUND_S)
    # Its RF=1 partitions have no other replica to move to: offline (leader -1, replica offline).
    deadline = time.monotonic() + BOUND_S
    state = None
    while time.monotonic() < deadline:
        md = cluster.metadata(survivors[0], "fenced").topics["fenced"]
        state = {p: (md.partitions[p].leader, md.partitions[p].offline_replicas if hasattr(md.partitions[p], "offline_replicas") else None)
                 for p in led}
        if all(leader == -1 for leader, _ in state.values()):
            break
        time.sleep(0.2)
    assert all(leader == -1 for leader, _ in state.values()), f"{state}\n{cluster.logs()}"
    # The other partitions keep their leaders and take records.
    p = Producer({"bootstrap.servers": ",".join(n.bootstrap for n in survivors), "acks": "all",
                  "message.timeout.ms": 20000})
    errors = {}
    for part in (q for q in range(6) if q not in led):
        p.produce("fenced", value=b"after", partition=part,
                  on_delivery=lambda err, msg: errors.__setitem__(msg.partition(), err))
    assert p.flush(30) == 0
    assert all(err is None for err in errors.values()), errors
