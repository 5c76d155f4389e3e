"""ACLs in a three-node quorum (issues 12 and 15): CreateAcls / DeleteAcls sent to a broker that
is not the active controller are forwarded to it and answered once that broker's own image shows
the change; every other broker then shows the same ACLs in DescribeAcls (`samsa acls`, with
kafka-acls.sh's flags). A non-leader's CONTROLLER listener answers CreateAcls sent straight to it
with NOT_CONTROLLER per creation.

The standard authorizer with allow.everyone.if.no.acl.found=true, so the anonymous test client
may manage ACLs (no ACL names the cluster). Every wait is bounded.
"""

import subprocess
import time

import pytest

from conftest import HOST, SAMSA_BIN
from rawkafka import Conn, Reader, frame, i8, i32, request_header, string
from test_controller_answers import settled_leader
from test_quorum_cluster import NOT_CONTROLLER, Cluster

BOUND_S = 30.0
AUTHORIZER = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "true",
}
ALICE_READ = "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)"


@pytest.fixture
def cluster3(tmp_path):
    c = Cluster(tmp_path, 3, extra=AUTHORIZER)
    c.start()
    yield c
    c.stop()


def acls(node, *args):
    r = subprocess.run([str(SAMSA_BIN), "acls", "--bootstrap-server", f"{HOST}:{node.port}", *args],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout


def listed(node):
    return acls(node, "--list", "--topic", "orders")


def wait_listed(cluster, node, present):
    deadline = time.monotonic() + BOUND_S
    out = None
    while time.monotonic() < deadline:
        out = listed(node)
        if (ALICE_READ in out) == present:
            return
        time.sleep(0.2)
    pytest.fail(f"node {node.id} lists {out!r}, expected the ACL {'present' if present else 'gone'}\n"
                f"{cluster.logs()}")


def create_acls_request(corr, principal):
    """CreateAcls v1: one LITERAL topic binding, DESCRIBE ALLOW."""
    creation = i8(2) + string("orders") + i8(3) + string(principal) + string("*") + i8(8) + i8(3)
    return frame(request_header(30, 1, corr) + i32(1) + creation)


def test_an_acl_created_through_one_broker_is_seen_on_the_others(cluster3):
    leader = settled_leader(cluster3)
    followers = [n for n in cluster3.nodes if n.id != leader]
    via, other = followers
    assert ALICE_READ not in listed(via)
    acls(via, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders")
    # Answered once `via`'s own image shows it: its DescribeAcls has it at once.
    assert ALICE_READ in listed(via)
    wait_listed(cluster3, other, True)
    wait_listed(cluster3, cluster3.node(leader), True)
    # Removed through the other follower: gone there at once, then everywhere.
    acls(other, "--remove", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders", "--force")
    assert ALICE_READ not in listed(other)
    wait_listed(cluster3, via, False)


def test_a_follower_controller_answers_create_acls_with_not_controller(cluster3):
    leader = settled_leader(cluster3)
    for node in (n for n in cluster3.nodes if n.id != leader):
        with Conn(node.controller_port, timeout=10.0) as c:
            r = Reader(c.request(create_acls_request(1, "User:bob")))
            r.i32(), r.i32()  # correlation id, throttle
            assert r.i32() == 1
            assert r.i16() == NOT_CONTROLLER
    assert "User:bob" not in listed(cluster3.node(leader))
