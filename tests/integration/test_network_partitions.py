"""True network partitions (issues 12 and 13): three combined broker+controller nodes, each in its
own network namespace behind a bridge (netns_cluster.py). A node is cut off from the other nodes
by blackhole routes while clients still reach it. Skipped, with the reason, only where the machine
forbids namespaces.

- The quorum: the active controller cut off → the other two elect a new leader (a higher epoch),
  which commits a topic created through the majority side; the cut-off node cannot commit anything
  (a CreateTopics sent to it does not succeed while it is cut off); healed, it follows the new
  leader and has the topic.
- Replication: under two idempotent acks=all producers and a consumer, the leader of a partition
  and then the active controller are cut off until the majority side leads every partition, then
  healed: nothing acknowledged missing, moved or duplicated (soak_replication_faults' checks).
"""

import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from netns_cluster import NetnsCluster, netns_available
from soak_replication_faults import PARTITIONS, active_controller, leader_of, run_fault_rounds, wait_healed
from test_replication import BOUND_S, CONFIGS


@pytest.fixture
def netns_cluster(tmp_path):
    why = netns_available()
    if why:
        pytest.skip(f"network namespaces unavailable here: {why}")
    c = NetnsCluster(tmp_path, CONFIGS)
    try:
        for n in c.nodes:
            n.start()
        c.controller()
        c.wait_brokers([1, 2, 3])
        yield c
    finally:
        c.close()


def quorum_view(nodes):
    """(leader id, epoch) as the first of `nodes` that answers DescribeQuorum (only the quorum's
    leader does) tells it, or None."""
    for n in nodes:
        d = n.describe_quorum()
        if d and d[0] == 0:
            return d[1], d[2]
    return None


def create_topic(node, name, timeout=10):
    """True when CreateTopics through `node` succeeded within `timeout` seconds."""
    admin = AdminClient({"bootstrap.servers": node.bootstrap, "socket.timeout.ms": timeout * 1000})
    try:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)],
                            operation_timeout=timeout)[name].result(timeout=timeout + 5)
        return True
    except Exception:
        return False


def test_a_controller_cut_off_from_the_quorum_is_replaced_and_catches_up(netns_cluster):
    c = netns_cluster
    old = c.controller()
    old_epoch = quorum_view([c.node(old)])[1]
    majority = [n for n in c.nodes if n.id != old]
    c.isolate(old)
    try:
        deadline = time.monotonic() + BOUND_S
        view = None
        while time.monotonic() < deadline:
            view = quorum_view(majority)
            if view and view[0] != old and view[1] > old_epoch:
                break
            time.sleep(0.2)
        assert view and view[0] != old and view[1] > old_epoch, f"no new leader on the majority side: {view}\n{c.logs()}"
        # The majority commits; the cut-off node cannot.
        deadline = time.monotonic() + BOUND_S
        while not create_topic(majority[0], "majority-side") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "majority-side" in c.metadata(majority[1]).topics, c.logs()
        assert not create_topic(c.node(old), "minority-side", timeout=5), "a cut-off node committed a change"
    finally:
        c.heal(old)
    deadline = time.monotonic() + BOUND_S
    seen = None
    while time.monotonic() < deadline:
        seen = quorum_view(c.nodes)  # only a leader answers: a stale claim by the old one shows too
        try:
            topics = c.metadata(c.node(old)).topics
        except Exception:
            topics = {}
        if seen and seen[0] != old and "majority-side" in topics:
            break
        time.sleep(0.3)
    assert seen and seen[0] != old, f"no leader other than the healed node: {seen}\n{c.logs()}"
    assert "majority-side" in c.metadata(c.node(old)).topics


def isolate_leader_then_controller(cluster, topic):
    """Cuts the leader of partition 0 off from the other nodes until every partition is led on
    the majority side, lets the producers write there, heals; then the same for the active
    controller."""
    for pick in (lambda: leader_of(cluster, topic), lambda: active_controller(cluster)):
        k = pick()
        majority = [n for n in cluster.nodes if n.id != k]
        cluster.isolate(k)
        try:
            for p in range(PARTITIONS):
                cluster.wait_partition(topic, lambda l, r, i: l > 0 and l != k, via=majority[0],
                                       what=f"partition {p} led by the majority while {k} is cut off", partition=p)
            time.sleep(2.0)  # the producers write on the majority side
        finally:
            cluster.heal(k)
        wait_healed(cluster, topic)


def test_a_partitioned_leader_and_controller_lose_nothing_acknowledged(netns_cluster):
    run_fault_rounds(netns_cluster, 1, fault_round=isolate_leader_then_controller)
