"""Inter-broker and controller traffic over SASL_SSL (issue 15): a three-node cluster whose every
listener is SASL_SSL — INTERNAL (clients and inter-broker: replica fetchers, transaction markers)
with SCRAM-SHA-512, CONTROLLER (Raft RPCs, registration, heartbeats, forwarded requests) with
PLAIN and mutual TLS (ssl.client.auth=required). Certificates are made with `openssl` in the
module's set-up (test_security.py's helpers): a CA and one broker certificate for 127.0.0.1, which
each broker also presents as its client certificate; host names are verified (Kafka's default
ssl.endpoint.identification.algorithm=https).

- With the right credentials everywhere a topic of RF 3 and min.insync.replicas=3 takes acks=all
  records (only possible when both followers fetch over SASL_SSL) and shows an ISR of 3, and a
  SASL_SSL consumer reads everything.
- A node whose inter-broker password is wrong registers (its controller login is right) but never
  fetches: it leaves and stays out of the ISR, its log says that the login failed and why, and the
  other two keep serving acks=all produce and consume.

Every wait is a bounded poll.
"""

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST
from helpers import unique_topic
from test_quorum_cluster import Node as QuorumNode
from test_quorum_cluster import free_ports
from test_security import make_ca, make_cert

BOUND_S = 40.0
LAG_MS = 4000  # replica.lag.time.max.ms, lowered so a follower that never fetches leaves the ISR soon
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster-certs")
    make_ca(d, "ca", "/CN=Samsa Cluster Test CA")
    make_cert(d, "broker", "/CN=localhost", "ca", san="DNS:localhost,IP:127.0.0.1")
    return d


def security_configs(certs, inter_broker_password="broker-secret"):
    return {
        "listener.security.protocol.map": "INTERNAL:SASL_SSL,CONTROLLER:SASL_SSL",
        "inter.broker.listener.name": "INTERNAL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs / "broker.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs / "ca.pem"),
        "listener.name.controller.ssl.client.auth": "required",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.internal.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        # username/password: how this broker logs in to the others; user_*: whom it accepts.
        "listener.name.internal.scram-sha-512.sasl.jaas.config":
            f'{SCRAM} username="broker" password="{inter_broker_password}" '
            'user_broker="broker-secret" user_alice="alice-secret";',
        "listener.name.controller.plain.sasl.jaas.config":
            f'{PLAIN} username="controller" password="controller-secret" user_controller="controller-secret";',
        "broker.heartbeat.interval.ms": "500",
        "broker.session.timeout.ms": "6000",
        "replica.lag.time.max.ms": str(LAG_MS),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
    }


class Node(QuorumNode):
    """A quorum node whose listeners are INTERNAL (SASL_SSL) and CONTROLLER (SASL_SSL)."""

    def command(self):
        cmd = super().command()
        listeners = f"INTERNAL://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}"
        for i, arg in enumerate(cmd):
            if arg.startswith("listeners="):
                cmd[i] = f"listeners={listeners}"
            elif arg.startswith("advertised.listeners="):
                cmd[i] = f"advertised.listeners=INTERNAL://{HOST}:{self.port}"
        return cmd

    @property
    def bootstrap(self):
        return f"{HOST}:{self.port}"


def client_conf(certs, bootstrap, **extra):
    c = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
         "sasl.username": "alice", "sasl.password": "alice-secret", "ssl.ca.location": str(certs / "ca.pem"),
         "broker.address.family": "v4", "socket.timeout.ms": 10000}
    c.update(extra)
    return c


class Cluster:
    def __init__(self, root, certs, configs_of):
        self.certs = certs
        ports = free_ports(9)
        voters = ",".join(f"{i + 1}@{HOST}:{ports[3 * i + 1]}" for i in range(3))
        self.nodes = [Node(i + 1, root, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], voters, configs_of(i + 1))
                      for i in range(3)]

    def start(self):
        for n in self.nodes:
            n.start()

    def stop(self):
        for n in self.nodes:
            n.stop()

    def node(self, node_id):
        return self.nodes[node_id - 1]

    def conf(self, nodes=None, **extra):
        return client_conf(self.certs, ",".join(n.bootstrap for n in (nodes or self.nodes)), **extra)

    def logs(self):
        return "\n".join(f"--- node {n.id} ---\n{n.log_tail(4000)}" for n in self.nodes)

    def wait_brokers(self, expected):
        """Metadata over SASL_SSL from every node lists the brokers `expected` (each registered
        with the controller over the SASL_SSL + mTLS CONTROLLER listener)."""
        deadline = time.monotonic() + BOUND_S
        seen = None
        while time.monotonic() < deadline:
            seen = {}
            for n in self.nodes:
                try:
                    seen[n.id] = sorted(AdminClient(self.conf([n])).list_topics(timeout=5).brokers)
                except Exception as e:  # noqa: BLE001 - not up yet
                    seen[n.id] = repr(e)
            if all(v == sorted(expected) for v in seen.values()):
                return
            time.sleep(0.3)
        pytest.fail(f"brokers seen {seen}, expected {expected}\n{self.logs()}")

    def isr(self, topic, nodes=None):
        md = AdminClient(self.conf(nodes)).list_topics(topic=topic, timeout=10).topics[topic]
        return {p: sorted(md.partitions[p].isrs) for p in md.partitions}


def create_topic(cluster, topic, partitions=None, assignment=None, config=None, nodes=None):
    admin = AdminClient(cluster.conf(nodes))
    if assignment is not None:
        new = NewTopic(topic, len(assignment), replica_assignment=assignment, config=config or {})
    else:
        new = NewTopic(topic, num_partitions=partitions, replication_factor=3, config=config or {})
    admin.create_topics([new], operation_timeout=20)[topic].result(timeout=30)


def produce(cluster, topic, n, nodes=None):
    p = Producer(cluster.conf(nodes, **{"acks": "all", "message.timeout.ms": 20000}))
    errors = []
    for i in range(n):
        p.produce(topic, key=str(i).encode(), value=f"v{i}".encode(),
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(30) == 0, "records still waiting after 30 s"
    assert errors == [], f"delivery errors: {errors[:3]}\n{cluster.logs()}"


def consume_all(cluster, topic, partitions, n, nodes=None):
    c = Consumer(cluster.conf(nodes, **{"group.id": "g-" + topic, "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got = set()
    deadline = time.monotonic() + BOUND_S
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.add(m.value().decode())
    c.close()
    assert got == {f"v{i}" for i in range(n)}, f"read {len(got)} of {n}"


def wait_isr(cluster, topic, want, nodes=None, bound=BOUND_S):
    deadline = time.monotonic() + bound
    isr = None
    while time.monotonic() < deadline:
        try:
            isr = cluster.isr(topic, nodes)
            if isr and all(v == want for v in isr.values()):
                return isr
        except Exception as e:  # noqa: BLE001 - a node not answering yet
            isr = repr(e)
        time.sleep(0.3)
    pytest.fail(f"ISR of {topic}: {isr}, expected {want} everywhere\n{cluster.logs()}")


@pytest.fixture
def good_cluster(tmp_path, certs):
    c = Cluster(tmp_path, certs, lambda node_id: security_configs(certs))
    c.start()
    try:
        c.wait_brokers([1, 2, 3])
        yield c
    finally:
        c.stop()


def test_rf3_replicates_over_sasl_ssl(good_cluster):
    c = good_cluster
    topic = unique_topic("secure-rf3")
    # min.insync.replicas=3: an acks=all record is only acknowledged once both followers fetched
    # it over the SASL_SSL inter-broker listener.
    create_topic(c, topic, partitions=3, config={"min.insync.replicas": "3"})
    produce(c, topic, 60)
    isr = wait_isr(c, topic, [1, 2, 3])
    assert len(isr) == 3
    consume_all(c, topic, 3, 60)
    # The followers keep fetching: after more than the lag time the ISR is still whole.
    time.sleep(LAG_MS / 1000 + 1)
    produce(c, topic, 10)
    assert all(v == [1, 2, 3] for v in c.isr(topic).values()), c.logs()
    for n in c.nodes:
        assert n.alive(), f"node {n.id} exited\n{c.logs()}"
        log = n.log_path.read_text(errors="replace")
        # (a login timed out on a loaded machine would be retried; a refused one is a bug)
        assert "Authentication failed" not in log and "not trusted" not in log, c.logs()


@pytest.fixture
def one_wrong_password(tmp_path, certs):
    c = Cluster(tmp_path, certs,
                lambda node_id: security_configs(certs, "not-the-password" if node_id == 3 else "broker-secret"))
    c.start()
    try:
        c.wait_brokers([1, 2, 3])  # node 3's controller login is right: it registers
        yield c
    finally:
        c.stop()


def test_wrong_inter_broker_password_keeps_the_node_out_of_the_isr(one_wrong_password):
    c = one_wrong_password
    good = [c.node(1), c.node(2)]
    topic = unique_topic("secure-bad")
    # Led by node 1 or 2, node 3 a follower of each partition.
    create_topic(c, topic, assignment=[[1, 2, 3], [2, 1, 3]], nodes=good)
    # Node 3 starts in the ISR and never fetches. acks=all records sent at once wait for it until
    # the leaders drop it after replica.lag.time.max.ms (LAG_MS), then they are acknowledged: the
    # producer's 20 s message timeout is far above LAG_MS, far below the 30 s default. (When the
    # broker read the setting as the default, these records timed out.)
    produce(c, topic, 40, nodes=good)
    wait_isr(c, topic, [1, 2], nodes=good)
    consume_all(c, topic, 2, 40, nodes=good)
    # It stays out: more than the lag time later, and after more records, still no node 3.
    time.sleep(LAG_MS / 1000 + 1)
    produce(c, topic, 10, nodes=good)
    assert all(v == [1, 2] for v in c.isr(topic, good).values()), c.logs()
    log = c.node(3).log_path.read_text(errors="replace")
    assert "SASL_SSL/SCRAM-SHA-512 as broker (listener INTERNAL) failed" in log, c.logs()
    assert "Authentication failed" in log, c.logs()
    for n in c.nodes:
        assert n.alive(), f"node {n.id} exited\n{c.logs()}"
    for n in good:  # the others log in to each other (and refuse node 3, saying so)
        log = n.log_path.read_text(errors="replace")
        assert "(listener INTERNAL) failed" not in log, c.logs()
    assert any("SASL SCRAM-SHA-512 authentication failed" in n.log_path.read_text(errors="replace")
               for n in good), c.logs()
