"""AlterPartition (56) on a real controller (issue 13): a one-voter `samsa` node with a CONTROLLER
listener lists AlterPartition 0-3 there and not on its broker listener. A second broker registers
over the CONTROLLER listener (BrokerRegistration, BrokerHeartbeat), leads a partition created
with an explicit assignment, and shrinks its ISR with AlterPartition: the answer carries the new
ISR and partition epoch (leader epoch unchanged) and Metadata shows it; the same request again is
stale (INVALID_UPDATE_VERSION), another broker epoch is STALE_BROKER_EPOCH. The rules themselves
are unit-tested in tests/unit/cluster_alter_partition_test.cc.

Every wait is a bounded poll.
"""

import struct
import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST
from rawkafka import Conn, Reader, compact_string, frame, i8, i16, i32, i64, parse_api_versions, request_header
from test_quorum_cluster import Cluster

NONE, STALE_BROKER_EPOCH, INVALID_UPDATE_VERSION = 0, 77, 95
BOUND_S = 30.0


def call(conn, api_key, version, corr, body):
    """A flexible request (header v2); the response body after its header v1."""
    resp = conn.request(frame(request_header(api_key, version, corr, flexible=True) + body))
    assert resp[:4] == i32(corr) and resp[4:5] == b"\x00", resp[:8].hex()
    return resp[5:]


def register(conn, broker_id, port):
    """BrokerRegistration v0 -> (error, broker epoch)."""
    body = (i32(broker_id) + compact_string("q1Sh-9_ISia_zwGINzRvyQ") + uuid.uuid4().bytes
            + bytes([2]) + compact_string("PLAINTEXT") + compact_string(HOST) + struct.pack(">H", port)
            + i16(0) + b"\x00"
            + bytes([2]) + compact_string("metadata.version") + i16(1) + i16(30) + b"\x00"
            + bytes([0])  # rack: null
            + b"\x00")
    r = Reader(call(conn, 62, 0, 1, body))
    r.i32()
    return r.i16(), r.i64()


def heartbeat(conn, broker_id, epoch):
    """BrokerHeartbeat v0 claiming to have replayed everything -> (error, is_fenced)."""
    body = i32(broker_id) + i64(epoch) + i64(1 << 40) + i8(0) + i8(0) + b"\x00"
    r = Reader(call(conn, 63, 0, 2, body))
    r.i32()
    error = r.i16()
    r.take(1)  # is_caught_up
    return error, r.take(1) == b"\x01"


def alter_partition(conn, broker_id, epoch, topic, leader_epoch, isr, partition_epoch):
    """AlterPartition v1 (topics by name) for partition 0 -> (top error, partition error, leader,
    leader epoch, isr, partition epoch)."""
    body = (i32(broker_id) + i64(epoch) + bytes([2]) + compact_string(topic)
            + bytes([2]) + i32(0) + i32(leader_epoch)
            + bytes([len(isr) + 1]) + b"".join(i32(b) for b in isr)
            + i8(0) + i32(partition_epoch) + b"\x00"
            + b"\x00" + b"\x00")
    r = Reader(call(conn, 56, 1, 3, body))
    r.i32()  # throttle
    top = r.i16()
    topics = r.uvarint() - 1
    if topics == 0:
        return top, None, None, None, None, None
    name = r.take(r.uvarint() - 1).decode()
    assert name == topic
    assert r.uvarint() - 1 == 1
    assert r.i32() == 0
    error, leader, lepoch = r.i16(), r.i32(), r.i32()
    got_isr = [r.i32() for _ in range(r.uvarint() - 1)]
    r.take(1)  # leader recovery state
    pepoch = r.i32()
    return top, error, leader, lepoch, got_isr, pepoch


@pytest.fixture
def node(tmp_path):
    c = Cluster(tmp_path, 1)
    c.start()
    c.leader()
    # Broker 1 unfenced first: while it is fenced, Metadata names the test's own broker 2 (which
    # does not listen) as the controller, and the admin client's CreateTopics goes nowhere.
    c.wait_brokers([1])
    yield c.node(1)
    c.stop()


def test_alter_partition_shrinks_the_isr(node):
    with Conn(node.controller_port, timeout=10.0) as c:
        resp = c.request(frame(request_header(18, 3, 9, flexible=True)
                               + compact_string("samsa-it") + compact_string("0.1") + b"\x00"))
        error, apis = parse_api_versions(resp[4:], 3)
        assert error == 0 and apis[56] == (0, 3)
    with Conn(node.port) as c:
        resp = c.request(frame(request_header(18, 3, 9, flexible=True)
                               + compact_string("samsa-it") + compact_string("0.1") + b"\x00"))
        assert 56 not in parse_api_versions(resp[4:], 3)[1]

    with Conn(node.controller_port, timeout=10.0) as c:
        error, epoch = register(c, 2, 19999)
        assert error == NONE
        deadline = time.monotonic() + BOUND_S
        while heartbeat(c, 2, epoch) != (NONE, False):
            assert time.monotonic() < deadline, "broker 2 never unfenced"
            time.sleep(0.1)

        admin = AdminClient({"bootstrap.servers": f"{HOST}:{node.port}"})
        futures = admin.create_topics([NewTopic("ap", num_partitions=1, replica_assignment=[[2, 1]])], operation_timeout=10)
        futures["ap"].result(timeout=BOUND_S)

        assert heartbeat(c, 2, epoch) == (NONE, False)  # keeps its session alive
        top, err, leader, lepoch, isr, pepoch = alter_partition(c, 2, epoch, "ap", 0, [2], 0)
        assert (top, err, leader, lepoch, isr, pepoch) == (NONE, NONE, 2, 0, [2], 1)
        # The same change again is stale; another broker epoch is refused whole.
        assert alter_partition(c, 2, epoch, "ap", 0, [2], 0)[:2] == (NONE, INVALID_UPDATE_VERSION)
        assert alter_partition(c, 2, epoch + 1, "ap", 0, [2, 1], 1)[0] == STALE_BROKER_EPOCH

    deadline = time.monotonic() + BOUND_S
    while True:
        md = admin.list_topics("ap", timeout=10)
        part = md.topics["ap"].partitions[0]
        if part.isrs == [2]:
            break
        assert time.monotonic() < deadline, f"Metadata never showed ISR [2]: {part.isrs}"
        time.sleep(0.1)
    assert part.leader == 2 and part.replicas == [2, 1]
