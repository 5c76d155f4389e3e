"""Client quotas in a three-node quorum: AlterClientQuotas sent to a broker that is not the active
controller is forwarded to it and answered once that broker's own image shows the change; every
other broker then describes the same quotas. A non-leader's CONTROLLER listener answers
AlterClientQuotas sent straight to it with NOT_CONTROLLER per entry. Every wait is bounded."""

import subprocess
import time

import pytest

from conftest import HOST, SAMSA_BIN
from rawkafka import Conn, Reader
from test_controller_answers import settled_leader
from test_quorum_cluster import NOT_CONTROLLER, Cluster
from test_quotas import alter_request

BOUND_S = 30.0
ALICE = "Quota configs for user-principal 'alice' are producer_byte_rate=4096.0"


@pytest.fixture
def cluster3(tmp_path):
    c = Cluster(tmp_path, 3)
    c.start()
    yield c
    c.stop()


def configs(node, *args):
    r = subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", f"{HOST}:{node.port}", *args],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout


def described(node):
    return configs(node, "--describe", "--entity-type", "users", "--entity-name", "alice").strip()


def wait_described(cluster, node, expected):
    deadline = time.monotonic() + BOUND_S
    out = None
    while time.monotonic() < deadline:
        out = described(node)
        if out == expected:
            return
        time.sleep(0.2)
    pytest.fail(f"node {node.id} describes {out!r}, expected {expected!r}\n{cluster.logs()}")


def test_a_quota_altered_through_one_broker_is_seen_on_the_others(cluster3):
    leader = settled_leader(cluster3)
    via, other = [n for n in cluster3.nodes if n.id != leader]
    configs(via, "--alter", "--entity-type", "users", "--entity-name", "alice", "--add-config",
            "producer_byte_rate=4096")
    assert described(via) == ALICE  # answered once via's own image has it
    wait_described(cluster3, other, ALICE)
    wait_described(cluster3, cluster3.node(leader), ALICE)
    configs(other, "--alter", "--entity-type", "users", "--entity-name", "alice", "--delete-config",
            "producer_byte_rate")
    assert described(other) == ""
    wait_described(cluster3, via, "")


def test_a_follower_controller_answers_alter_client_quotas_with_not_controller(cluster3):
    leader = settled_leader(cluster3)
    for node in (n for n in cluster3.nodes if n.id != leader):
        with Conn(node.controller_port, timeout=10.0) as c:
            r = Reader(c.request(alter_request(1, [([("user", "bob")], [("producer_byte_rate", 1.0, False)])])))
            r.i32(), r.i32()  # correlation id, throttle
            assert r.i32() == 1
            assert r.i16() == NOT_CONTROLLER
    assert described(cluster3.node(leader)) == ""
